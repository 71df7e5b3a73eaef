#ifndef LOOKOUT_CTESTSUPPORT_H
#define LOOKOUT_CTESTSUPPORT_H
// C the tests need and lookout does not: setresuid per thread, gettid, gunzip, bcrypt hashes.
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/// setresuid(2) for the calling thread only (the raw system call; glibc's wrapper changes
/// every thread of the process). Dropping the effective uid from 0 clears the thread's
/// effective capabilities; keeping the saved uid 0 lets it return. 0 or -errno.
int lookout_test_thread_setresuid(uid_t ruid, uid_t euid, uid_t suid);

/// The calling thread's id.
pid_t lookout_test_gettid(void);

/// Decompresses one gzip or zlib stream into a malloc'd buffer (*out, *outlen; free it).
/// Returns 0, or -1 when the data is corrupt or truncated.
int lookout_test_gunzip(const uint8_t *in, size_t n, uint8_t **out, size_t *outlen);

/// Makes a bcrypt hash of `password` with the given cost (4..31); writes it to `out` (>= 128 bytes).
/// Returns 0 on success.
int lookout_test_bcrypt_hash(const char *password, int cost, char *out, size_t cap);
#endif
