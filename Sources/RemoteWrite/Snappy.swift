import CSnappy

/// Snappy's block format (not the framed one), as remote_write's `Content-Encoding: snappy` means.
public enum Snappy {
    public struct Malformed: Error, CustomStringConvertible, Sendable {
        public var description: String { "malformed snappy block" }
    }

    public static func compress(_ input: [UInt8]) -> [UInt8] {
        let cap = lookout_snappy_max_compressed_length(input.count)
        var out = [UInt8](repeating: 0, count: cap)
        var length = cap
        let rc = input.withUnsafeBufferPointer { i in
            out.withUnsafeMutableBufferPointer { o in
                lookout_snappy_compress(i.baseAddress, i.count, o.baseAddress, &length)
            }
        }
        precondition(rc == 0, "snappy: the output buffer of max_compressed_length bytes was too small")
        out.removeLast(cap - length)
        return out
    }

    public static func uncompress(_ input: [UInt8], limit: Int = 64 << 20) throws(Malformed) -> [UInt8] {
        var length = 0
        let known = input.withUnsafeBufferPointer { lookout_snappy_uncompressed_length($0.baseAddress, $0.count, &length) }
        guard known == 0, length <= limit else { throw Malformed() }
        var out = [UInt8](repeating: 0, count: max(length, 1))
        let rc = input.withUnsafeBufferPointer { i in
            out.withUnsafeMutableBufferPointer { o in
                lookout_snappy_uncompress(i.baseAddress, i.count, o.baseAddress, &length)
            }
        }
        guard rc == 0 else { throw Malformed() }
        out.removeLast(out.count - length)
        return out
    }
}
