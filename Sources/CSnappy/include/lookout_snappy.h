#ifndef LOOKOUT_SNAPPY_H
#define LOOKOUT_SNAPPY_H

#include <stddef.h>
#include <stdint.h>

/// Largest block `lookout_snappy_compress` can make of `n` bytes.
size_t lookout_snappy_max_compressed_length(size_t n);

/// Compresses `in` as one snappy block (the raw format, no framing) into `out`, which holds
/// `*out_len` bytes (at least lookout_snappy_max_compressed_length(n)). Returns 0 and sets
/// `*out_len` to the compressed size, or -1 when `out` is too small.
int lookout_snappy_compress(const uint8_t *in, size_t n, uint8_t *out, size_t *out_len);

/// The uncompressed size a block declares; -1 when the block is malformed.
int lookout_snappy_uncompressed_length(const uint8_t *in, size_t n, size_t *result);

/// Uncompresses one block into `out` (`*out_len` bytes available). Returns 0 and sets
/// `*out_len`, or -1 when the block is malformed or `out` is too small.
int lookout_snappy_uncompress(const uint8_t *in, size_t n, uint8_t *out, size_t *out_len);

#endif
