#if canImport(Glibc)
import Glibc
#endif
import LookoutCore
import Series
import TestSupport
import Testing

@testable import Notify

@Suite struct OutboxCodecTests {
    @Test func crc32MatchesZlib() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([UInt8]()) == 0)
    }

    @Test func recordsRoundTrip() {
        let e = OutboxEntry(
            id: 42, createdAt: WallTime(nanosecondsSinceEpoch: 1_790_000_000_123_456_789), kind: .alertmanager,
            receiver: "alertmanager/127.0.0.1:9093", url: "http://127.0.0.1:9093/api/v2/alerts", body: Array("[]".utf8))
        let bytes = OutboxCodec.encode(.entry(e)) + OutboxCodec.encode(.ack(id: 42, reason: .superseded))
        #expect(OutboxCodec.encode(.entry(e)).count == e.recordSize)
        let d = OutboxCodec.decode(bytes)
        #expect(d.records == [.entry(e), .ack(id: 42, reason: .superseded)])
        #expect(d.validLength == bytes.count && d.discardedBytes == 0 && !d.tornTail && d.corruptRecords == 0)
    }

    @Test func everyCutOfTheLastRecordIsATornTail() {
        let a = OutboxCodec.encode(.ack(id: 1, reason: .delivered))
        let b = OutboxCodec.encode(
            .entry(OutboxEntry(id: 2, createdAt: WallTime(secondsSinceEpoch: 1), kind: .webhook, receiver: "r", url: "http://h/", body: [1, 2, 3])))
        for cut in 1..<b.count {
            let d = OutboxCodec.decode(a + b.prefix(cut))
            #expect(d.records == [.ack(id: 1, reason: .delivered)])
            #expect(d.tornTail)
            #expect(d.validLength == a.count)
            #expect(d.discardedBytes == cut)
        }
    }

    @Test func aBadChecksumSkipsOneRecordAndReadingGoesOn() {
        let r1 = OutboxCodec.encode(.ack(id: 1, reason: .delivered))
        var r2 = OutboxCodec.encode(.ack(id: 2, reason: .delivered))
        let r3 = OutboxCodec.encode(.ack(id: 3, reason: .dropped))
        r2[r2.count - 2] ^= 0xff
        let d = OutboxCodec.decode(r1 + r2 + r3)
        #expect(d.records == [.ack(id: 1, reason: .delivered), .ack(id: 3, reason: .dropped)])
        #expect(d.corruptRecords == 1)
        #expect(!d.tornTail)
    }

    @Test func garbageNeverCrashesTheReader() {
        var rng = SystemRandomNumberGenerator()
        let good = OutboxCodec.encode(.ack(id: 7, reason: .delivered))
        for _ in 0..<300 {
            let n = Int.random(in: 0..<200, using: &rng)
            let junk = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let d = OutboxCodec.decode(good + junk)
            #expect(d.records.first == .ack(id: 7, reason: .delivered))
            #expect(d.discardedBytes == good.count + n - good.count * d.records.count)
        }
        // Junk between records loses nothing: reading goes on at the next marker.
        let d = OutboxCodec.decode(good + [0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0] + good)
        #expect(d.records.count == 2)
        #expect(d.discardedBytes == 8 && d.corruptRecords == 1)
    }
}

@Suite struct OutboxTests {
    static let t0 = WallTime(secondsSinceEpoch: 1_790_000_000)

    static func add(_ o: Outbox, _ receiver: String = "hook", body: String) -> OutboxEntry {
        let r = o.append(kind: .webhook, receiver: receiver, url: "http://127.0.0.1:1/hook", body: Array(body.utf8), createdAt: t0)
        precondition(r.failure == nil && r.evicted.isEmpty)
        return r.entry!
    }

    static func fileSize(_ path: String) -> Int { (try? FileIO.read(path).count) ?? -1 }

    @Test func writeAckAndReplay() throws {
        let dir = TemporaryDirectory()
        let o = try Outbox(directory: dir.path)
        let a = Self.add(o, body: "{\"n\":1}")
        let b = Self.add(o, body: "{\"n\":2}")
        let c = Self.add(o, "other", body: "{\"n\":3}")
        #expect([a.id, b.id, c.id] == [1, 2, 3])
        #expect(o.ack(b.id, reason: .delivered) == nil)
        #expect(o.count == 2)
        o.close()
        // Nothing is written at close: what is on disk is what a kill -9 leaves.
        let reopened = try Outbox(directory: dir.path)
        #expect(reopened.entries == [a, c])
        #expect(reopened.replay.restored == 2)
        #expect(reopened.replay.records == 4)
        // Ids go on after the highest seen.
        #expect(Self.add(reopened, body: "{}").id == 4)
    }

    @Test func openingCompactsAndAcksShrinkTheLogWhenCompacted() throws {
        let dir = TemporaryDirectory()
        let path = dir.path + "/" + Outbox.fileName
        let o = try Outbox(directory: dir.path, compactionMinBytes: 2000)
        var ids: [UInt64] = []
        for i in 0..<20 { ids.append(Self.add(o, body: String(repeating: "x", count: 100) + "\(i)").id) }
        let full = Self.fileSize(path)
        #expect(full == o.fileBytes)
        for id in ids.prefix(15) { o.ack(id, reason: .delivered) }
        #expect(o.needsCompaction)
        #expect(o.compactIfNeeded() == nil)
        #expect(!o.needsCompaction)
        #expect(Self.fileSize(path) == o.liveBytes)
        #expect(Self.fileSize(path) < full / 3)
        #expect(!FileIO.exists(path + ".tmp"))
        // Appends go to the new file.
        let late = Self.add(o, body: "late")
        o.close()
        let r = try Outbox(directory: dir.path)
        #expect(r.entries.map(\.id) == Array(ids.suffix(5)) + [late.id])
    }

    @Test func compactionLeftoversAreIgnored() throws {
        let dir = TemporaryDirectory()
        let o = try Outbox(directory: dir.path)
        let a = Self.add(o, body: "keep")
        o.close()
        // A compaction cut off before its rename leaves a partial temporary file.
        dir.write(Outbox.fileName + ".tmp", [1, 2, 3, 4, 5])
        let r = try Outbox(directory: dir.path)
        #expect(r.entries == [a])
        #expect(!FileIO.exists(dir.path + "/" + Outbox.fileName + ".tmp"))
    }

    @Test func tornLastRecordIsSkippedAndTheLogRepaired() throws {
        let dir = TemporaryDirectory()
        let path = dir.path + "/" + Outbox.fileName
        let o = try Outbox(directory: dir.path)
        let a = Self.add(o, body: "first")
        let b = Self.add(o, body: "second, the one being written at the crash")
        o.close()
        // Cut the file in the middle of the last record, as kill -9 during a write can.
        #expect(truncate(path, off_t(Self.fileSize(path) - 10)) == 0)
        let r = try Outbox(directory: dir.path)
        #expect(r.entries == [a])
        #expect(r.replay.tornTail)
        #expect(r.replay.discardedBytes == b.recordSize - 10)
        // The repaired log takes new records after the good ones.
        let c = Self.add(r, body: "third")
        r.close()
        let again = try Outbox(directory: dir.path)
        #expect(again.entries == [a, c])
        #expect(!again.replay.tornTail)
    }

    @Test func corruptRecordIsSkippedAndTheRestKept() throws {
        let dir = TemporaryDirectory()
        let path = dir.path + "/" + Outbox.fileName
        let o = try Outbox(directory: dir.path)
        let a = Self.add(o, body: "aaaa")
        let b = Self.add(o, body: "bbbb")
        let c = Self.add(o, body: "cccc")
        o.close()
        var bytes = try FileIO.read(path)
        // Flip a byte of b's body.
        let offset = a.recordSize + b.recordSize - 2
        #expect(bytes[offset] == UInt8(ascii: "b"))
        bytes[offset] = UInt8(ascii: "B")
        try FileIO.writeAtomically(path, bytes)
        let r = try Outbox(directory: dir.path)
        #expect(r.entries == [a, c])
        #expect(r.replay.corruptRecords == 1)
        #expect(!r.replay.tornTail)
    }

    @Test func damageLosesOnlyTheDamagedRecords() throws {
        let dir = TemporaryDirectory()
        let path = dir.path + "/" + Outbox.fileName
        let o = try Outbox(directory: dir.path)
        let entries = (0..<6).map { Self.add(o, body: "notification \($0) " + String(repeating: "x", count: 40 * $0)) }
        o.close()
        var bytes = try FileIO.read(path)
        let starts = entries.indices.map { k in entries.prefix(k).reduce(0) { $0 + $1.recordSize } }
        // A length field (of the second record), a checksum (of the fourth), the middle of
        // the sixth (the last); and the marker of the third, whose record is still whole.
        bytes[starts[1] + 4] ^= 0x5A
        bytes[starts[3] + 9] ^= 0x01
        bytes[starts[5] + entries[5].recordSize / 2] ^= 0xFF
        bytes[starts[2]] = 0
        try FileIO.writeAtomically(path, bytes)
        let r = try Outbox(directory: dir.path)
        #expect(r.entries == [entries[0], entries[2], entries[4]])
        #expect(r.replay.lostNotifications == 3)
        #expect(r.replay.corruptRecords == 3)
        #expect(!r.replay.tornTail)
    }

    @Test func sizeCapDropsTheOldest() throws {
        let dir = TemporaryDirectory()
        let o = try Outbox(directory: dir.path, maxEntries: 3)
        let first = (0..<3).map { Self.add(o, body: "n\($0)") }
        let r = o.append(kind: .webhook, receiver: "hook", url: "http://h/", body: Array("n3".utf8), createdAt: Self.t0)
        #expect(r.evicted == [first[0]])
        #expect(o.entries.map(\.id) == [first[1].id, first[2].id, r.entry!.id])
        // By bytes: room for two of these.
        let big = String(repeating: "z", count: 3000)
        let bytesCap = try Outbox(directory: dir.path + "/b", maxBytes: 2 * (3000 + 60) + 100)
        let x = Self.add(bytesCap, body: big)
        let y = Self.add(bytesCap, body: big)
        let z = bytesCap.append(kind: .webhook, receiver: "hook", url: "http://127.0.0.1:1/hook", body: Array(big.utf8), createdAt: Self.t0)
        #expect(z.evicted == [x])
        #expect(bytesCap.entries.map(\.id) == [y.id, z.entry!.id])
        #expect(bytesCap.liveBytes <= bytesCap.maxBytes)
        // One larger than the whole cap is not kept.
        let huge = bytesCap.append(kind: .webhook, receiver: "hook", url: "u", body: [UInt8](repeating: 1, count: 10_000), createdAt: Self.t0)
        #expect(huge.entry == nil && huge.evicted.isEmpty)
        // Evictions are durable.
        o.close()
        #expect(try Outbox(directory: dir.path).entries.map(\.id) == [first[1].id, first[2].id, r.entry!.id])
        // A lower cap at the next start evicts too.
        let lowered = try Outbox(directory: dir.path, maxEntries: 1)
        #expect(lowered.enforceCap().map(\.id) == [first[1].id, first[2].id])
        #expect(lowered.count == 1)
    }

    @Test func oneOutboxPerDirectory() throws {
        let dir = TemporaryDirectory()
        let o = try Outbox(directory: dir.path)
        #expect(throws: Outbox.Failure.self) { try Outbox(directory: dir.path) }
        o.close()
        #expect(Self.add(try Outbox(directory: dir.path), body: "x").id == 1)
    }

    @Test func unusableDirectoryIsAnError() throws {
        let dir = TemporaryDirectory()
        dir.write("file", "not a directory")
        #expect(throws: Outbox.Failure.self) { try Outbox(directory: dir.path + "/file/outbox") }
        // In memory it still works.
        let m = try Outbox(directory: nil)
        #expect(Self.add(m, body: "x").id == 1)
        #expect(!m.isDurable)
    }
}

/// A log as lookout has written it since the outbox exists: it must keep reading, and the
/// payloads the notifier makes must stay byte for byte what it wrote.
@Suite struct OutboxFormatTests {
    static let created = WallTime(millisecondsSinceEpoch: 1_790_000_000_250)

    static var payload: [UInt8] {
        let alert = Alert(
            labels: ["alertname": "TargetSlow", "target": "api", "severity": "warning"],
            annotations: ["summary": "api is slow: \"3s\"\n"], startsAt: created,
            generatorURL: "http://lookout:9477/graph?g0.expr=x")
        let resolved = Alert(
            labels: ["alertname": "TargetSlow", "target": "db", "severity": "warning"], startsAt: created,
            endsAt: created + .seconds(90))
        return WebhookPayload.body(
            GroupNotification(receiver: "oncall", groupLabels: ["alertname": "TargetSlow"], alerts: [alert, resolved]),
            externalURL: "http://lookout:9477")
    }

    /// An entry and its ack, as written before: the bytes of the log file.
    static let log = """
        75030000ceb90dd301070000000000000080b2d932845bd71801060000006f6e63616c6c1a000000687474703a2f2f313237
        2e302e302e313a353030312f686f6f6b370300007b227265636569766572223a226f6e63616c6c222c22737461747573223a
        22666972696e67222c22616c65727473223a5b7b22737461747573223a22666972696e67222c226c6162656c73223a7b2261
        6c6572746e616d65223a22546172676574536c6f77222c227365766572697479223a227761726e696e67222c227461726765
        74223a22617069227d2c22616e6e6f746174696f6e73223a7b2273756d6d617279223a2261706920697320736c6f773a205c
        2233735c225c6e227d2c227374617274734174223a22323032362d30392d32315431343a31333a32302e3235305a222c2265
        6e64734174223a22303030312d30312d30315430303a30303a30305a222c2267656e657261746f7255524c223a2268747470
        3a2f2f6c6f6f6b6f75743a393437372f67726170683f67302e657870723d78222c2266696e6765727072696e74223a223663
        3038633262363339373263353038227d2c7b22737461747573223a227265736f6c766564222c226c6162656c73223a7b2261
        6c6572746e616d65223a22546172676574536c6f77222c227365766572697479223a227761726e696e67222c227461726765
        74223a226462227d2c22616e6e6f746174696f6e73223a7b7d2c227374617274734174223a22323032362d30392d32315431
        343a31333a32302e3235305a222c22656e64734174223a22323032362d30392d32315431343a31343a35302e3235305a222c
        2267656e657261746f7255524c223a22222c2266696e6765727072696e74223a226461636461656166323634663432623422
        7d5d2c2267726f75704c6162656c73223a7b22616c6572746e616d65223a22546172676574536c6f77227d2c22636f6d6d6f
        6e4c6162656c73223a7b22616c6572746e616d65223a22546172676574536c6f77222c227365766572697479223a22776172
        6e696e67227d2c22636f6d6d6f6e416e6e6f746174696f6e73223a7b7d2c2265787465726e616c55524c223a22687474703a
        2f2f6c6f6f6b6f75743a39343737222c2276657273696f6e223a2234222c2267726f75704b6579223a227b7d3a7b616c6572
        746e616d653d5c22546172676574536c6f775c227d222c227472756e6361746564416c65727473223a307d0a00000014e519
        f402070000000000000001
        """

    /// The same entry and ack in today's format (a marker before each record).
    static let logToday = """
        4c4b4fe5750300003a7f878401070000000000000080b2d932845bd71801060000006f6e63616c6c1a000000687474703a2f
        2f3132372e302e302e313a353030312f686f6f6b370300007b227265636569766572223a226f6e63616c6c222c2273746174
        7573223a22666972696e67222c22616c65727473223a5b7b22737461747573223a22666972696e67222c226c6162656c7322
        3a7b22616c6572746e616d65223a22546172676574536c6f77222c227365766572697479223a227761726e696e67222c2274
        6172676574223a22617069227d2c22616e6e6f746174696f6e73223a7b2273756d6d617279223a2261706920697320736c6f
        773a205c2233735c225c6e227d2c227374617274734174223a22323032362d30392d32315431343a31333a32302e3235305a
        222c22656e64734174223a22303030312d30312d30315430303a30303a30305a222c2267656e657261746f7255524c223a22
        687474703a2f2f6c6f6f6b6f75743a393437372f67726170683f67302e657870723d78222c2266696e6765727072696e7422
        3a2236633038633262363339373263353038227d2c7b22737461747573223a227265736f6c766564222c226c6162656c7322
        3a7b22616c6572746e616d65223a22546172676574536c6f77222c227365766572697479223a227761726e696e67222c2274
        6172676574223a226462227d2c22616e6e6f746174696f6e73223a7b7d2c227374617274734174223a22323032362d30392d
        32315431343a31333a32302e3235305a222c22656e64734174223a22323032362d30392d32315431343a31343a35302e3235
        305a222c2267656e657261746f7255524c223a22222c2266696e6765727072696e74223a2264616364616561663236346634
        326234227d5d2c2267726f75704c6162656c73223a7b22616c6572746e616d65223a22546172676574536c6f77227d2c2263
        6f6d6d6f6e4c6162656c73223a7b22616c6572746e616d65223a22546172676574536c6f77222c227365766572697479223a
        227761726e696e67227d2c22636f6d6d6f6e416e6e6f746174696f6e73223a7b7d2c2265787465726e616c55524c223a2268
        7474703a2f2f6c6f6f6b6f75743a39343737222c2276657273696f6e223a2234222c2267726f75704b6579223a227b7d3a7b
        616c6572746e616d653d5c22546172676574536c6f775c227d222c227472756e6361746564416c65727473223a307d4c4b4f
        e50a0000003e2e1f1402070000000000000001
        """

    static func bytes(_ hex: String) -> [UInt8] {
        let digits = Array(hex.utf8.filter { $0 != 10 && $0 != 32 })
        return stride(from: 0, to: digits.count, by: 2).map { i in hexDigitValue(digits[i])! << 4 | hexDigitValue(digits[i + 1])! }
    }

    @Test func aLogWrittenBeforeStillReads() {
        let d = OutboxCodec.decode(Self.bytes(Self.log))
        #expect(d.corruptRecords == 0 && d.discardedBytes == 0 && !d.tornTail)
        let entry = OutboxEntry(
            id: 7, createdAt: Self.created, kind: .webhook, receiver: "oncall", url: "http://127.0.0.1:5001/hook",
            body: Self.payload)
        // The stored body is the payload made today, byte for byte.
        #expect(d.records == [.entry(entry), .ack(id: 7, reason: .delivered)])
        #expect(d.firstFormat)
        // Today's format holds the same payloads behind a marker, and reads back the same.
        #expect(OutboxCodec.encode(.entry(entry)) + OutboxCodec.encode(.ack(id: 7, reason: .delivered)) == Self.bytes(Self.logToday))
        let today = OutboxCodec.decode(Self.bytes(Self.logToday))
        #expect(today.records == d.records && !today.firstFormat && today.discardedBytes == 0)
    }

    @Test func aLogWrittenBeforeIsRewrittenInTodaysFormat() throws {
        let dir = TemporaryDirectory()
        // The entry alone (its ack left out): it is restored and the log rewritten.
        let first = Self.bytes(Self.log)
        let entryLength = Int(first[0]) | Int(first[1]) << 8 | Int(first[2]) << 16 | Int(first[3]) << 24
        dir.write(Outbox.fileName, Array(first.prefix(8 + entryLength)))
        let o = try Outbox(directory: dir.path)
        #expect(o.replay.firstFormat && o.replay.restored == 1 && o.replay.lostNotifications == 0)
        #expect(o.entries.map(\.id) == [7])
        o.close()
        let rewritten = try FileIO.read(dir.path + "/" + Outbox.fileName)
        #expect(Array(rewritten.prefix(4)) == OutboxCodec.magic)
        #expect(try Outbox(directory: dir.path).entries.map(\.id) == [7])
    }
}
