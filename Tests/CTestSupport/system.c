#define _GNU_SOURCE
#include "CTestSupport.h"

#include <crypt.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <zlib.h>

int lookout_test_thread_setresuid(uid_t ruid, uid_t euid, uid_t suid) {
    return syscall(SYS_setresuid, ruid, euid, suid) < 0 ? -errno : 0;
}

pid_t lookout_test_gettid(void) { return (pid_t)syscall(SYS_gettid); }

int lookout_test_gunzip(const uint8_t *in, size_t n, uint8_t **out, size_t *outlen) {
    z_stream s;
    memset(&s, 0, sizeof s);
    // 15 + 32: accept both zlib and gzip headers.
    if (inflateInit2(&s, 15 + 32) != Z_OK) return -1;
    size_t cap = n * 4 + 64, len = 0;
    uint8_t *buf = malloc(cap);
    int rc = Z_OK;
    s.next_in = (Bytef *)in;
    s.avail_in = (uInt)n;
    while (buf && rc == Z_OK) {
        if (len == cap) {
            uint8_t *bigger = realloc(buf, cap * 2);
            if (!bigger) break;
            buf = bigger;
            cap *= 2;
        }
        s.next_out = buf + len;
        s.avail_out = (uInt)(cap - len);
        rc = inflate(&s, Z_NO_FLUSH);
        len = cap - s.avail_out;
        // No progress with room left: the input is truncated.
        if (rc == Z_BUF_ERROR && s.avail_out > 0) break;
        if (rc == Z_BUF_ERROR) rc = Z_OK;
    }
    inflateEnd(&s);
    if (rc != Z_STREAM_END) {
        free(buf);
        return -1;
    }
    *out = buf;
    *outlen = len;
    return 0;
}

int lookout_test_bcrypt_hash(const char *password, int cost, char *out, size_t cap) {
    char setting[CRYPT_GENSALT_OUTPUT_SIZE];
    if (!crypt_gensalt_rn("$2b$", (unsigned long)cost, NULL, 0, setting, sizeof setting)) return -1;
    struct crypt_data *data = calloc(1, sizeof *data);
    if (!data) return -1;
    const char *r = crypt_r(password, setting, data);
    int rc = -1;
    if (r && r[0] != '*' && strlen(r) < cap) { strcpy(out, r); rc = 0; }
    free(data);
    return rc;
}
