// ROMFS in the virt machine's second flash bank (vfs.rom_ioctl).
#ifndef MICROPY_INCLUDED_VIRT_ROMFS_FLASH_H
#define MICROPY_INCLUDED_VIRT_ROMFS_FLASH_H

// Find the bank in the device tree (once, at power-on).
void romfs_flash_init(void);

#endif // MICROPY_INCLUDED_VIRT_ROMFS_FLASH_H
