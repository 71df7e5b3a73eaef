import CLookout
import LookoutCore

/// CRC-32 (IEEE 802.3, the polynomial of zlib, gzip and PNG), computed by zlib.
public enum CRC32 {
    public static func checksum(_ bytes: some Collection<UInt8>) -> UInt32 {
        bytes.withContiguousStorageIfAvailable { lookout_crc32($0.baseAddress, $0.count) }
            ?? Array(bytes).withUnsafeBufferPointer { lookout_crc32($0.baseAddress, $0.count) }
    }
}

/// A notification waiting in the outbox: the request body and where it goes. Credentials
/// and the signature are not stored: they are added from the receiver's settings when the
/// request is sent, so no secret ever reaches the disk.
public struct OutboxEntry: Sendable, Hashable {
    public enum Kind: UInt8, Sendable, Hashable {
        case webhook = 1
        case alertmanager = 2

        public var name: String { self == .webhook ? "webhook" : "alertmanager" }
    }

    public var id: UInt64
    /// When the notification was made; its delivery latency and outbox age count from here.
    public var createdAt: WallTime
    public var kind: Kind
    /// The receiver's name: the settings it is sent with are looked up by it.
    public var receiver: String
    public var url: String
    public var body: [UInt8]

    public init(id: UInt64, createdAt: WallTime, kind: Kind, receiver: String, url: String, body: [UInt8]) {
        self.id = id
        self.createdAt = createdAt
        self.kind = kind
        self.receiver = receiver
        self.url = url
        self.body = body
    }

    /// Bytes of this entry's record in the log.
    public var recordSize: Int { OutboxCodec.headerSize + 1 + 8 + 8 + 1 + 12 + receiver.utf8.count + url.utf8.count + body.count }
}

/// Why an entry left the outbox.
public enum OutboxAckReason: UInt8, Sendable, Hashable {
    case delivered = 1
    /// Refused by the receiver (4xx), evicted by the size cap, or its receiver is gone.
    case dropped = 2
    /// A newer Alertmanager batch holds everything it held.
    case superseded = 3
}

public enum OutboxRecord: Sendable, Hashable {
    case entry(OutboxEntry)
    case ack(id: UInt64, reason: OutboxAckReason)
}

/// The outbox log format: a sequence of records, each `length (u32 LE) | CRC-32 of the
/// payload (u32 LE) | payload`. A payload starts with its type: 1 an entry (id u64, created
/// ns i64, kind u8, receiver, url, body, each a u32 length and bytes), 2 an ack (id u64,
/// reason u8). Pure functions: the `Outbox` does the I/O.
public enum OutboxCodec {
    public static let headerSize = 8
    /// No record is larger; a length above it means the framing itself is damaged.
    public static let maxRecordSize = 256 << 20

    public static func encode(_ record: OutboxRecord) -> [UInt8] {
        var p: [UInt8] = []
        switch record {
        case .entry(let e):
            p.reserveCapacity(e.recordSize)
            p.append(1)
            put64(&p, e.id)
            put64(&p, UInt64(bitPattern: e.createdAt.nanosecondsSinceEpoch))
            p.append(e.kind.rawValue)
            putBytes(&p, Array(e.receiver.utf8))
            putBytes(&p, Array(e.url.utf8))
            putBytes(&p, e.body)
        case .ack(let id, let reason):
            p.append(2)
            put64(&p, id)
            p.append(reason.rawValue)
        }
        var out: [UInt8] = []
        out.reserveCapacity(headerSize + p.count)
        put32(&out, UInt32(p.count))
        put32(&out, CRC32.checksum(p))
        out.append(contentsOf: p)
        return out
    }

    /// What reading a log found.
    public struct Decoded: Sendable {
        public var records: [OutboxRecord] = []
        /// Bytes up to the end of the last record that could be read; what follows is lost.
        public var validLength = 0
        /// Bytes after `validLength`: a record cut short (a write interrupted by a crash), or
        /// data whose framing is damaged.
        public var discardedBytes = 0
        /// The discarded tail was an incomplete last record (as a crash leaves it).
        public var tornTail = false
        /// Complete records skipped because their checksum or content was wrong.
        public var corruptRecords = 0
    }

    /// Reads every intact record. Damage never stops more than it has to: a record with a bad
    /// checksum is skipped and reading goes on after it; only a length that cannot be right
    /// or a record cut short ends the reading.
    public static func decode(_ bytes: [UInt8]) -> Decoded {
        var d = Decoded()
        var i = 0
        while i < bytes.count {
            guard i + headerSize <= bytes.count else {
                d.tornTail = true
                break
            }
            let length = Int(get32(bytes, i))
            let crc = get32(bytes, i + 4)
            guard length > 0, length <= maxRecordSize else { break }
            guard i + headerSize + length <= bytes.count else {
                d.tornTail = true
                break
            }
            let payload = bytes[(i + headerSize)..<(i + headerSize + length)]
            i += headerSize + length
            d.validLength = i
            guard CRC32.checksum(payload) == crc, let record = decodePayload(payload) else {
                d.corruptRecords += 1
                continue
            }
            d.records.append(record)
        }
        d.discardedBytes = bytes.count - d.validLength
        return d
    }

    static func decodePayload(_ p: ArraySlice<UInt8>) -> OutboxRecord? {
        var r = Reader(bytes: p)
        guard let type = r.u8() else { return nil }
        switch type {
        case 1:
            guard let id = r.u64(), let created = r.u64(), let kindByte = r.u8(),
                let kind = OutboxEntry.Kind(rawValue: kindByte), let receiver = r.field(), let url = r.field(),
                let body = r.field(), r.atEnd
            else { return nil }
            return .entry(
                OutboxEntry(
                    id: id, createdAt: WallTime(nanosecondsSinceEpoch: Int64(bitPattern: created)), kind: kind,
                    receiver: String(decoding: receiver, as: UTF8.self), url: String(decoding: url, as: UTF8.self),
                    body: Array(body)))
        case 2:
            guard let id = r.u64(), let reasonByte = r.u8(), let reason = OutboxAckReason(rawValue: reasonByte),
                r.atEnd
            else { return nil }
            return .ack(id: id, reason: reason)
        default:
            return nil
        }
    }

    struct Reader {
        let bytes: ArraySlice<UInt8>
        var i: Int

        init(bytes: ArraySlice<UInt8>) {
            self.bytes = bytes
            self.i = bytes.startIndex
        }

        var atEnd: Bool { i == bytes.endIndex }

        mutating func u8() -> UInt8? {
            guard i < bytes.endIndex else { return nil }
            defer { i += 1 }
            return bytes[i]
        }

        mutating func u32() -> UInt32? {
            guard bytes.endIndex - i >= 4 else { return nil }
            var v: UInt32 = 0
            for k in 0..<4 { v |= UInt32(bytes[i + k]) << (8 * UInt32(k)) }
            i += 4
            return v
        }

        mutating func u64() -> UInt64? {
            guard bytes.endIndex - i >= 8 else { return nil }
            var v: UInt64 = 0
            for k in 0..<8 { v |= UInt64(bytes[i + k]) << (8 * UInt64(k)) }
            i += 8
            return v
        }

        mutating func field() -> ArraySlice<UInt8>? {
            guard let n = u32(), bytes.endIndex - i >= Int(n) else { return nil }
            defer { i += Int(n) }
            return bytes[i..<(i + Int(n))]
        }
    }

    static func get32(_ b: [UInt8], _ i: Int) -> UInt32 {
        UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
    }

    static func put32(_ out: inout [UInt8], _ v: UInt32) {
        for k in 0..<4 { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(k)))) }
    }

    static func put64(_ out: inout [UInt8], _ v: UInt64) {
        for k in 0..<8 { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(k)))) }
    }

    static func putBytes(_ out: inout [UInt8], _ b: [UInt8]) {
        put32(&out, UInt32(b.count))
        out.append(contentsOf: b)
    }
}
