import CLookout
import LookoutCore

/// CRC-32 (IEEE 802.3, the polynomial of zlib, gzip and PNG), computed by zlib.
public enum CRC32 {
    /// The CRC of `bytes`, or of earlier bytes whose CRC is `crc` followed by `bytes`.
    public static func checksum(_ bytes: some Collection<UInt8>, continuing crc: UInt32 = 0) -> UInt32 {
        bytes.withContiguousStorageIfAvailable { lookout_crc32_update(crc, $0.baseAddress, $0.count) }
            ?? Array(bytes).withUnsafeBufferPointer { lookout_crc32_update(crc, $0.baseAddress, $0.count) }
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

/// The outbox log format: a sequence of records, each `magic "LKO\u{E5}" | length (u32 LE) |
/// CRC-32 of the length's 4 bytes and the payload (u32 LE) | payload`. A payload starts with
/// its type: 1 an entry (id u64, created ns i64, kind u8, receiver, url, body, each a u32
/// length and bytes), 2 an ack (id u64, reason u8). The marker lets a reader find the next
/// record after a damaged one, whatever was damaged (the marker, the length, the checksum or
/// the payload); the checksum covers the length so a damaged length is never trusted.
/// Logs of the first format (records without the marker, `length | CRC of the payload |
/// payload`) are still read. Pure functions: the `Outbox` does the I/O.
public enum OutboxCodec {
    public static let magic: [UInt8] = [0x4C, 0x4B, 0x4F, 0xE5]
    public static let headerSize = 12
    /// No record is larger; a length above it means the framing itself is damaged.
    public static let maxRecordSize = 256 << 20

    public static func encode(_ record: OutboxRecord) -> [UInt8] {
        let p = payload(record)
        var out: [UInt8] = []
        out.reserveCapacity(headerSize + p.count)
        out.append(contentsOf: magic)
        put32(&out, UInt32(p.count))
        put32(&out, checksum(length: UInt32(p.count), p[...]))
        out.append(contentsOf: p)
        return out
    }

    static func payload(_ record: OutboxRecord) -> [UInt8] {
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
        return p
    }

    /// The CRC of the length field (as written) followed by the payload.
    static func checksum(length: UInt32, _ payload: ArraySlice<UInt8>) -> UInt32 {
        let field = length.littleEndian  // as put32 writes it
        let head = withUnsafeBytes(of: field) { CRC32.checksum($0) }
        return CRC32.checksum(payload, continuing: head)
    }

    /// What reading a log found.
    public struct Decoded: Sendable {
        public var records: [OutboxRecord] = []
        /// Bytes up to the end of the last record that could be read.
        public var validLength = 0
        /// Bytes that are not part of an intact record: damaged records anywhere, and a
        /// record cut short at the end (a write interrupted by a crash).
        public var discardedBytes = 0
        /// The log ended in an incomplete record (as a crash leaves it).
        public var tornTail = false
        /// Damaged records skipped (reading went on after each), the torn tail not included.
        public var corruptRecords = 0
        /// Notifications among the damaged and torn records: those whose type could be read
        /// as an entry, and those whose type could not be read at all.
        public var lostNotifications = 0
        /// The log was written in the first format (no record marker).
        public var firstFormat = false
    }

    /// Reads every intact record. Damage loses only the damaged record: reading goes on at
    /// the next record marker after it.
    public static func decode(_ bytes: [UInt8]) -> Decoded {
        if !hasMagic(bytes, at: 0), startsWithFirstFormatRecord(bytes) { return decodeFirstFormat(bytes) }
        var d = Decoded()
        var intact = 0
        var i = 0
        /// The record at `k` when its header (the marker aside) and payload are intact.
        func record(at k: Int) -> (OutboxRecord, end: Int)? {
            guard k + headerSize <= bytes.count else { return nil }
            let length = Int(get32(bytes, k + 4))
            let end = k + headerSize + length
            guard length > 0, length <= maxRecordSize, end <= bytes.count else { return nil }
            let payload = bytes[(k + headerSize)..<end]
            guard checksum(length: UInt32(length), payload) == get32(bytes, k + 8), let r = decodePayload(payload) else {
                return nil
            }
            return (r, end)
        }
        func lose(_ k: Int) {
            // An ack lost only means its notification is sent again; anything else counts.
            let type = hasMagic(bytes, at: k) && k + headerSize < bytes.count ? bytes[k + headerSize] : nil
            if type != 2 { d.lostNotifications += 1 }
        }
        while i < bytes.count {
            if hasMagic(bytes, at: i), let (r, end) = record(at: i) {
                d.records.append(r)
                intact += end - i
                d.validLength = end
                i = end
                continue
            }
            // Damaged at `i`. Where does the damage end? At the next marker; or, when the
            // header is whole and the record complete, at the end its length gives.
            let headerWhole = hasMagic(bytes, at: i) && i + headerSize <= bytes.count
            let claimedEnd = headerWhole ? i + headerSize + Int(get32(bytes, i + 4)) : Int.max
            let next = nextMagic(bytes, after: i)
            let regionEnd: Int
            if let next {
                regionEnd = next
            } else if claimedEnd <= bytes.count {
                regionEnd = claimedEnd
            } else {
                // Cut short: the record being written when the process died.
                lose(i)
                d.tornTail = true
                break
            }
            // A record whose marker alone was damaged ends exactly where the region does.
            var recovered: (Int, OutboxRecord)?
            var k = i + 1
            while k + headerSize <= regionEnd {
                if k + headerSize + Int(get32(bytes, k + 4)) == regionEnd, let (r, _) = record(at: k) {
                    recovered = (k, r)
                    break
                }
                k += 1
            }
            lose(i)
            d.corruptRecords += 1
            if let (_, r) = recovered {
                d.records.append(r)
                intact += regionEnd - k
                d.validLength = regionEnd
            }
            i = regionEnd
        }
        d.discardedBytes = bytes.count - intact
        return d
    }

    static func hasMagic(_ bytes: [UInt8], at i: Int) -> Bool {
        i + magic.count <= bytes.count && bytes[i] == magic[0] && bytes[i + 1] == magic[1] && bytes[i + 2] == magic[2]
            && bytes[i + 3] == magic[3]
    }

    static func nextMagic(_ bytes: [UInt8], after i: Int) -> Int? {
        var k = i + 1
        while k + magic.count <= bytes.count {
            if bytes[k] == magic[0] && hasMagic(bytes, at: k) { return k }
            k += 1
        }
        return nil
    }

    /// A log of the first format starts with an intact record of it (a log of today's format
    /// whose first marker is damaged does not).
    static func startsWithFirstFormatRecord(_ bytes: [UInt8]) -> Bool {
        guard bytes.count >= 8 else { return false }
        let length = Int(get32(bytes, 0))
        guard length > 0, length <= maxRecordSize, 8 + length <= bytes.count else { return false }
        return CRC32.checksum(bytes[8..<(8 + length)]) == get32(bytes, 4)
    }

    /// The first format: `length | CRC of the payload | payload`, no marker. A record with a
    /// bad checksum is skipped; a length that cannot be right ends the reading (the rest is
    /// counted as lost).
    static func decodeFirstFormat(_ bytes: [UInt8]) -> Decoded {
        var d = Decoded()
        d.firstFormat = true
        var i = 0
        while i < bytes.count {
            guard i + 8 <= bytes.count else {
                d.tornTail = true
                d.lostNotifications += 1
                break
            }
            let length = Int(get32(bytes, i))
            let crc = get32(bytes, i + 4)
            guard length > 0, length <= maxRecordSize, i + 8 + length <= bytes.count else {
                if length > 0 && length <= maxRecordSize { d.tornTail = true }
                d.lostNotifications += 1
                break
            }
            let payload = bytes[(i + 8)..<(i + 8 + length)]
            i += 8 + length
            d.validLength = i
            guard CRC32.checksum(payload) == crc, let record = decodePayload(payload) else {
                d.corruptRecords += 1
                if payload.first != 2 { d.lostNotifications += 1 }
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
