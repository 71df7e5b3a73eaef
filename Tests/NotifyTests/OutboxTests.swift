#if canImport(Glibc)
import Glibc
#endif
import LookoutCore
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
            #expect(d.validLength + d.discardedBytes == good.count + n)
        }
        // A length that cannot be right stops the reading there.
        let d = OutboxCodec.decode(good + [0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0] + good)
        #expect(d.records.count == 1)
        #expect(d.discardedBytes == 8 + good.count)
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
