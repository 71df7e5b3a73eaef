import CLookout
import Exposition
import Series

/// The framing and the two record types of the WAL.
///
/// A record is `"LW"`, the payload's length (u32 LE), its CRC-32 (zlib's, u32 LE), then the
/// payload. The magic lets a reader find the next record after damage; the checksum tells a
/// record from bytes that only look like one.
///
/// Payloads: a series record (`1`, ref, label count, then each name and value as a
/// length-prefixed string) gives a label set a number for the rest of its segment; a samples
/// record (`2`, the timestamp in ms as i64 LE, the count, then ref and the value's f64 bits LE
/// per sample) holds one snapshot. Every segment declares its own series, so a segment read
/// alone (the oldest left after others were dropped) is complete.
enum WALRecord {
    static let magic: (UInt8, UInt8) = (0x4C, 0x57)
    static let headerSize = 10
    /// A payload larger than this is damage, not a record.
    static let maxPayload = 64 << 20

    enum Kind: UInt8 {
        case series = 1
        case samples = 2
    }

    static func appendFrame(_ payload: [UInt8], to out: inout [UInt8]) {
        out.append(magic.0)
        out.append(magic.1)
        appendU32(UInt32(payload.count), to: &out)
        let crc = payload.withUnsafeBufferPointer { lookout_crc32($0.baseAddress, $0.count) }
        appendU32(crc, to: &out)
        out.append(contentsOf: payload)
    }

    static func seriesPayload(ref: Int, labels: [Label]) -> [UInt8] {
        var p: [UInt8] = [Kind.series.rawValue]
        appendVarint(UInt64(ref), to: &p)
        appendVarint(UInt64(labels.count), to: &p)
        for l in labels {
            appendString(l.name, to: &p)
            appendString(l.value, to: &p)
        }
        return p
    }

    static func samplesPayload(timestamp: Int64, samples: [(ref: Int, value: Double)]) -> [UInt8] {
        var p: [UInt8] = [Kind.samples.rawValue]
        p.reserveCapacity(16 + samples.count * 11)
        appendU64(UInt64(bitPattern: timestamp), to: &p)
        appendVarint(UInt64(samples.count), to: &p)
        for s in samples {
            appendVarint(UInt64(s.ref), to: &p)
            appendU64(s.value.bitPattern, to: &p)
        }
        return p
    }

    /// A frame found at some offset: where its payload is and where the next one starts.
    struct Frame {
        var payload: Range<Int>
        var next: Int
    }

    /// The valid record at `offset` of `bytes[..<end]`, or nil (torn, damaged, or not a record).
    static func frame(in bytes: UnsafeBufferPointer<UInt8>, at offset: Int, end: Int) -> Frame? {
        guard offset >= 0, offset + headerSize <= end, bytes[offset] == magic.0, bytes[offset + 1] == magic.1 else {
            return nil
        }
        let length = Int(readU32(bytes, offset + 2))
        guard length > 0, length <= maxPayload, offset + headerSize + length <= end else { return nil }
        let start = offset + headerSize
        let crc = lookout_crc32(bytes.baseAddress! + start, length)
        guard crc == readU32(bytes, offset + 6) else { return nil }
        return Frame(payload: start..<(start + length), next: start + length)
    }

    /// The next valid record strictly after `offset`, for resynchronising after damage.
    static func resync(in bytes: UnsafeBufferPointer<UInt8>, after offset: Int, end: Int) -> Int? {
        var i = offset + 1
        while i + headerSize <= end {
            if bytes[i] == magic.0, bytes[i + 1] == magic.1, frame(in: bytes, at: i, end: end) != nil { return i }
            i += 1
        }
        return nil
    }

    // MARK: Payload parsing

    enum Parsed {
        case series(ref: Int, labels: [Label])
        case samples(timestamp: Int64, count: Int, body: Int)
    }

    /// Decodes a payload's header; samples are read one by one with `sample(at:)`.
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Parsed? {
        var r = Cursor(bytes: bytes, position: range.lowerBound, end: range.upperBound)
        guard let kind = r.byte().flatMap(Kind.init(rawValue:)) else { return nil }
        switch kind {
        case .series:
            guard let ref = r.varint(), let n = r.varint(), n < 4096 else { return nil }
            var labels: [Label] = []
            labels.reserveCapacity(Int(n))
            for _ in 0..<n {
                guard let name = r.string(), let value = r.string() else { return nil }
                labels.append(Label(name: name, value: value))
            }
            return .series(ref: Int(ref), labels: labels)
        case .samples:
            guard let t = r.u64(), let n = r.varint(), n <= UInt64(range.count) else { return nil }
            return .samples(timestamp: Int64(bitPattern: t), count: Int(n), body: r.position)
        }
    }

    struct Cursor {
        let bytes: UnsafeBufferPointer<UInt8>
        var position: Int
        let end: Int

        mutating func byte() -> UInt8? {
            guard position < end else { return nil }
            defer { position += 1 }
            return bytes[position]
        }

        mutating func varint() -> UInt64? {
            var v: UInt64 = 0
            var shift: UInt64 = 0
            while shift < 64 {
                guard let b = byte() else { return nil }
                v |= UInt64(b & 0x7F) << shift
                if b < 0x80 { return v }
                shift += 7
            }
            return nil
        }

        mutating func u64() -> UInt64? {
            guard position + 8 <= end else { return nil }
            var v: UInt64 = 0
            for i in 0..<8 { v |= UInt64(bytes[position + i]) << (8 * UInt64(i)) }
            position += 8
            return v
        }

        mutating func string() -> String? {
            guard let n = varint(), n <= UInt64(end - position) else { return nil }
            let s = String(decoding: UnsafeBufferPointer(rebasing: bytes[position..<(position + Int(n))]), as: UTF8.self)
            position += Int(n)
            return s
        }
    }

    // MARK: Bytes

    static func appendVarint(_ v: UInt64, to out: inout [UInt8]) {
        ProtobufEncoder.appendVarint(v, to: &out)
    }

    static func appendU32(_ v: UInt32, to out: inout [UInt8]) {
        for i in 0..<4 { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(i)))) }
    }

    static func appendU64(_ v: UInt64, to out: inout [UInt8]) {
        for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) }
    }

    static func appendString(_ s: String, to out: inout [UInt8]) {
        appendVarint(UInt64(s.utf8.count), to: &out)
        out.append(contentsOf: s.utf8)
    }

    static func readU32(_ b: UnsafeBufferPointer<UInt8>, _ at: Int) -> UInt32 {
        UInt32(b[at]) | UInt32(b[at + 1]) << 8 | UInt32(b[at + 2]) << 16 | UInt32(b[at + 3]) << 24
    }
}
