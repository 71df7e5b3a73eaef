#if canImport(Glibc)
import Glibc
#endif

/// Hands out one shared `String` per distinct byte sequence. A scrape repeats the same
/// metric names, label names and most label values on many lines; interning makes each a
/// hash and a compare instead of an allocation, and the parsed families share storage.
struct StringInterner {
    private var bytes: [UInt8] = []
    private var entries: [(offset: Int, length: Int, hash: UInt64)] = []
    private var strings: [String] = []
    private var slots: [Int32]
    private var mask: Int

    init(capacity: Int = 1024) {
        var n = 16
        while n < capacity * 2 { n <<= 1 }
        slots = [Int32](repeating: -1, count: n)
        mask = n - 1
    }

    var count: Int { strings.count }

    @inline(__always)
    private static func hash(_ p: UnsafeBufferPointer<UInt8>) -> UInt64 {
        // FNV-1a: names and values are short, so a byte loop is as fast as anything here.
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in p {
            h ^= UInt64(b)
            h = h &* 0x100_0000_01b3
        }
        return h
    }

    mutating func intern(_ p: UnsafeBufferPointer<UInt8>) -> String {
        let h = Self.hash(p)
        var i = Int(truncatingIfNeeded: h) & mask
        while true {
            let s = Int(slots[i])
            if s < 0 { break }
            let e = entries[s]
            if e.hash == h && e.length == p.count {
                let equal = p.count == 0
                    || bytes.withUnsafeBufferPointer { memcmp($0.baseAddress! + e.offset, p.baseAddress!, p.count) == 0 }
                if equal { return strings[s] }
            }
            i = (i + 1) & mask
        }
        let str = String(decoding: p, as: UTF8.self)
        slots[i] = Int32(strings.count)
        entries.append((bytes.count, p.count, h))
        bytes.append(contentsOf: p)
        strings.append(str)
        if strings.count * 2 > slots.count { grow() }
        return str
    }

    private mutating func grow() {
        let n = slots.count * 2
        slots = [Int32](repeating: -1, count: n)
        mask = n - 1
        for (k, e) in entries.enumerated() {
            var i = Int(truncatingIfNeeded: e.hash) & mask
            while slots[i] >= 0 { i = (i + 1) & mask }
            slots[i] = Int32(k)
        }
    }
}
