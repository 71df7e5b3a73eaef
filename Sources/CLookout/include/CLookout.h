#ifndef LOOKOUT_CLOOKOUT_H
#define LOOKOUT_CLOOKOUT_H
// Small typed wrappers over C APIs Swift cannot call directly (macros, variadics)
// or that are simplest to use from one place: zlib, crypt(3), HMAC-SHA256, sysconf, statfs, futex.
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

// MARK: gzip (zlib)

/// Upper bound of the gzip output for `n` input bytes.
size_t lookout_gzip_bound(size_t n);
/// Compresses `in` as one gzip member into `out` (capacity `cap`, at least lookout_gzip_bound(n)).
/// Returns the output length, or -1 on error.
long lookout_gzip_compress(const uint8_t *in, size_t n, uint8_t *out, size_t cap, int level);

/// CRC-32 (IEEE 802.3, zlib's crc32) of `n` bytes.
uint32_t lookout_crc32(const uint8_t *in, size_t n);
/// `crc` (a CRC-32 of earlier bytes, 0 for none) continued over `n` more bytes.
uint32_t lookout_crc32_update(uint32_t crc, const uint8_t *in, size_t n);

// MARK: crypt(3)

/// Checks `password` against a crypt(3) hash (bcrypt `$2y$`/`$2b$`/`$2a$` among others).
/// Returns 1 when it matches, 0 when not, -1 when the hash is malformed.
int lookout_crypt_check(const char *password, const char *hash);

// MARK: HMAC / SHA-256 (OpenSSL libcrypto)

/// HMAC-SHA256 of `data` with `key`; writes 32 bytes to `out`. Returns 0 on success.
int lookout_hmac_sha256(const uint8_t *key, size_t keylen, const uint8_t *data, size_t n, uint8_t out[32]);
/// SHA-256 of `data`; writes 32 bytes to `out`. Returns 0 on success.
int lookout_sha256(const uint8_t *data, size_t n, uint8_t out[32]);

// MARK: sysconf

/// The size of a page.
long lookout_page_size(void);
/// Ticks per second of /proc's time counters (USER_HZ).
long lookout_clock_ticks(void);

// MARK: statfs

/// 1 when `path` is on a procfs mount, else 0.
int lookout_is_procfs(const char *path);

// MARK: tick thread wait (futex)

#define LOOKOUT_TICK_WAKE 1u
#define LOOKOUT_TICK_STOP 2u
/// Waits on the 32-bit `state` word until the absolute CLOCK_MONOTONIC `deadline_ns`, or
/// until lookout_tick_signal sets a bit. Returns 0 when the deadline passed,
/// LOOKOUT_TICK_WAKE when woken (the bit is cleared) and LOOKOUT_TICK_STOP when asked to
/// stop (the bit stays). One system call per wait: no mutex to take again afterwards.
int lookout_tick_wait(uint32_t *state, int64_t deadline_ns);
/// Sets `bits` in `state` and wakes its waiters.
void lookout_tick_signal(uint32_t *state, uint32_t bits);
#endif
