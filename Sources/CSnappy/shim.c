#include "lookout_snappy.h"

#include <snappy-c.h>

size_t lookout_snappy_max_compressed_length(size_t n) { return snappy_max_compressed_length(n); }

int lookout_snappy_compress(const uint8_t *in, size_t n, uint8_t *out, size_t *out_len) {
    return snappy_compress((const char *)in, n, (char *)out, out_len) == SNAPPY_OK ? 0 : -1;
}

int lookout_snappy_uncompressed_length(const uint8_t *in, size_t n, size_t *result) {
    return snappy_uncompressed_length((const char *)in, n, result) == SNAPPY_OK ? 0 : -1;
}

int lookout_snappy_uncompress(const uint8_t *in, size_t n, uint8_t *out, size_t *out_len) {
    return snappy_uncompress((const char *)in, n, (char *)out, out_len) == SNAPPY_OK ? 0 : -1;
}
