#ifndef LOOKOUT_CTESTSUPPORT_H
#define LOOKOUT_CTESTSUPPORT_H
#include <sys/types.h>

/// setresuid(2) for the calling thread only (the raw system call; glibc's wrapper changes
/// every thread of the process). Dropping the effective uid from 0 clears the thread's
/// effective capabilities; keeping the saved uid 0 lets it return. 0 or -errno.
int lookout_test_thread_setresuid(uid_t ruid, uid_t euid, uid_t suid);
#endif
