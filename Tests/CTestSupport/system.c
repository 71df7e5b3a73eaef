#include "CTestSupport.h"

#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

int lookout_test_thread_setresuid(uid_t ruid, uid_t euid, uid_t suid) {
    return syscall(SYS_setresuid, ruid, euid, suid) < 0 ? -errno : 0;
}
