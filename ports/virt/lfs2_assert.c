// littlefs's open-flag asserts as errors (lfs2_assert.h says why).
#include <string.h>

#include "py/mperrno.h"
#include "py/runtime.h"

#include "lfs2_assert.h"

void virt_lfs2_assert_failed(const char *test) {
    if (strstr(test, "file->flags & LFS2_O_") != NULL) {
        mp_raise_OSError(MP_EBADF);
    }
}
