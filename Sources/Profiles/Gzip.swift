import CLookout

enum Gzip {
    /// One gzip member of `bytes` at zlib's default level.
    static func compress(_ bytes: [UInt8]) throws(ProfileError) -> [UInt8] {
        let bound = lookout_gzip_bound(bytes.count)
        var failed = false
        let out = [UInt8](unsafeUninitializedCapacity: bound) { buffer, count in
            let n = bytes.withUnsafeBufferPointer { input in
                lookout_gzip_compress(input.baseAddress, input.count, buffer.baseAddress, bound, 6)
            }
            if n < 0 {
                failed = true
                count = 0
            } else {
                count = n
            }
        }
        if failed { throw ProfileError(.encoding, "gzip compression of the profile failed") }
        return out
    }
}
