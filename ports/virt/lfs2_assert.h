// Force-included into littlefs (lib/littlefs/*.c, see the Makefile).
//
// MicroPython builds littlefs with LFS2_NO_ASSERT, and littlefs's checks of
// how a file was opened are asserts: with them gone, write() on a file
// opened "r" changed the file, and read() of a file opened "w" or "a" read
// it (MicroPython's io/file1.py and file_readline.py show it). Those asserts
// stand at the top of lfs2_file_rawread/rawwrite/rawtruncate, before
// anything is changed: here they raise OSError(EBADF). Every other assert
// stays as MicroPython builds them, off (some fail on filesystems littlefs
// reads fine, e.g. upstream's vfs_lfs_superblock.py with 64-byte blocks).
#ifndef MICROPY_INCLUDED_VIRT_LFS2_ASSERT_H
#define MICROPY_INCLUDED_VIRT_LFS2_ASSERT_H

#undef LFS2_NO_ASSERT
// Raises OSError(EBADF) if the failed check is of a file's open flags.
void virt_lfs2_assert_failed(const char *test);
#define LFS2_ASSERT(test) ((test) ? (void)0 : virt_lfs2_assert_failed(#test))

#endif // MICROPY_INCLUDED_VIRT_LFS2_ASSERT_H
