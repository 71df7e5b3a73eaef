#define _GNU_SOURCE
#include "CLookout.h"

#include <crypt.h>
#include <dlfcn.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <sys/syscall.h>
#include <linux/futex.h>
#include <limits.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

uint32_t lookout_crc32(const uint8_t *in, size_t n) { return lookout_crc32_update(0, in, n); }

uint32_t lookout_crc32_update(uint32_t crc, const uint8_t *in, size_t n) {
    uLong c = crc;
    // zlib takes the length as uInt: feed large buffers in pieces.
    while (n > 0) {
        uInt piece = n > (1u << 30) ? (1u << 30) : (uInt)n;
        c = crc32(c, in, piece);
        in += piece;
        n -= piece;
    }
    return (uint32_t)c;
}

size_t lookout_gzip_bound(size_t n) {
    // deflateBound for zlib wrapping plus the larger gzip header/trailer.
    return (size_t)compressBound((uLong)n) + 32;
}

long lookout_gzip_compress(const uint8_t *in, size_t n, uint8_t *out, size_t cap, int level) {
    z_stream s;
    memset(&s, 0, sizeof s);
    if (deflateInit2(&s, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return -1;
    s.next_in = (Bytef *)in;
    s.avail_in = (uInt)n;
    s.next_out = out;
    s.avail_out = (uInt)cap;
    int rc = deflate(&s, Z_FINISH);
    long len = (long)s.total_out;
    deflateEnd(&s);
    return rc == Z_STREAM_END ? len : -1;
}

int lookout_crypt_check(const char *password, const char *hash) {
    struct crypt_data *data = calloc(1, sizeof *data);
    if (!data) return -1;
    const char *r = crypt_r(password, hash, data);
    int result;
    if (!r || r[0] == '*') result = -1;
    else {
        // Constant-time comparison of the full hash strings.
        size_t a = strlen(r), b = strlen(hash);
        unsigned char diff = (unsigned char)(a != b);
        size_t n = a < b ? a : b;
        for (size_t i = 0; i < n; i++) diff |= (unsigned char)(r[i] ^ hash[i]);
        result = diff == 0;
    }
    free(data);
    return result;
}

// libcrypto is loaded on first use: only signed webhooks and basic auth need it, and an agent
// without them never maps it.
static struct {
    __typeof__(HMAC) *hmac;
    __typeof__(EVP_sha256) *evp_sha256;
    __typeof__(SHA256) *sha256;
} crypto;
static pthread_once_t crypto_loaded = PTHREAD_ONCE_INIT;

static void *crypto_symbol(void *library, const char *name) {
    void *f = dlsym(library, name);
    if (!f) {
        fprintf(stderr, "lookout: libcrypto.so.3 has no %s: %s\n", name, dlerror());
        abort();
    }
    return f;
}

static void load_crypto(void) {
    void *library = dlopen("libcrypto.so.3", RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        fprintf(stderr, "lookout: cannot load OpenSSL's libcrypto (libcrypto.so.3, Debian package libssl3): %s\n", dlerror());
        abort();
    }
    *(void **)&crypto.hmac = crypto_symbol(library, "HMAC");
    *(void **)&crypto.evp_sha256 = crypto_symbol(library, "EVP_sha256");
    *(void **)&crypto.sha256 = crypto_symbol(library, "SHA256");
}

int lookout_hmac_sha256(const uint8_t *key, size_t keylen, const uint8_t *data, size_t n, uint8_t out[32]) {
    pthread_once(&crypto_loaded, load_crypto);
    unsigned int len = 0;
    return crypto.hmac(crypto.evp_sha256(), key, (int)keylen, data, n, out, &len) && len == 32 ? 0 : -1;
}

int lookout_sha256(const uint8_t *data, size_t n, uint8_t out[32]) {
    pthread_once(&crypto_loaded, load_crypto);
    return crypto.sha256(data, n, out) ? 0 : -1;
}

long lookout_page_size(void) { return sysconf(_SC_PAGESIZE); }
long lookout_clock_ticks(void) { return sysconf(_SC_CLK_TCK); }

int lookout_is_procfs(const char *path) {
    struct statfs fs;
    if (statfs(path, &fs) != 0) return 0;
    return fs.f_type == 0x9fa0;  // PROC_SUPER_MAGIC
}

int lookout_tick_wait(uint32_t *state, int64_t deadline_ns) {
    struct timespec ts = {.tv_sec = (time_t)(deadline_ns / 1000000000), .tv_nsec = (long)(deadline_ns % 1000000000)};
    for (;;) {
        uint32_t v = __atomic_load_n(state, __ATOMIC_ACQUIRE);
        if (v & LOOKOUT_TICK_STOP) return LOOKOUT_TICK_STOP;
        if (v & LOOKOUT_TICK_WAKE) {
            __atomic_fetch_and(state, ~(uint32_t)LOOKOUT_TICK_WAKE, __ATOMIC_ACQ_REL);
            return LOOKOUT_TICK_WAKE;
        }
        // FUTEX_WAIT_BITSET takes an absolute deadline, on CLOCK_MONOTONIC without FUTEX_CLOCK_REALTIME.
        long r = syscall(SYS_futex, state, FUTEX_WAIT_BITSET_PRIVATE, v, &ts, NULL, FUTEX_BITSET_MATCH_ANY);
        if (r == -1 && errno == ETIMEDOUT) {
            return (__atomic_load_n(state, __ATOMIC_ACQUIRE) & LOOKOUT_TICK_STOP) ? LOOKOUT_TICK_STOP : 0;
        }
        // Woken, the word changed before the wait (EAGAIN), or a signal (EINTR): look again.
    }
}

void lookout_tick_signal(uint32_t *state, uint32_t bits) {
    __atomic_fetch_or(state, bits, __ATOMIC_ACQ_REL);
    syscall(SYS_futex, state, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}
