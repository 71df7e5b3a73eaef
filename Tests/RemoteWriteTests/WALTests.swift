import Config
import LookoutCore
import Series
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

@testable import RemoteWrite

/// `count` series `s{i="0".."count-1"}`, each with `value + i`.
func snapshot(_ count: Int, value: Double, name: String = "s") -> [SnapshotSample] {
    (0..<count).map { i in
        SnapshotSample(labels: [Label(name: "__name__", value: name), Label(name: "i", value: String(i))], value: value + Double(i))
    }
}

/// Reads everything the reader can see, in batches of `max`.
func drain(_ reader: inout WALReader, max: Int = 1_000_000) -> [WALBatch] {
    var out: [WALBatch] = []
    while true {
        var b = WALBatch()
        reader.read(into: &b, maxSamples: max)
        if b.isEmpty { return out }
        out.append(b)
    }
}

@Suite struct WALTests {
    @Test func readsBackEverySampleInOrderPerSeries() throws {
        let dir = TemporaryDirectory()
        let (wal, writer) = try WAL.open(directory: dir.path + "/wal", maxBytes: 1 << 20)
        for t in 0..<5 { try writer.append(snapshot(3, value: Double(t * 10)), timestamp: Int64(1000 + t)) }
        var reader = WALReader(wal: wal, from: WALPosition(segment: wal.segmentIndexes.first!), keep: { _ in true })
        let batches = drain(&reader)
        #expect(batches.count == 1)
        let b = try #require(batches.first)
        #expect(b.samples == 15)
        #expect(b.series.count == 3)
        #expect(b.highestTimestamp == 1004)
        let s1 = try #require(b.series.first { $0.labels.contains { $0 == ("i", "1") } })
        #expect(s1.samples.map(\.timestampMilliseconds) == [1000, 1001, 1002, 1003, 1004])
        #expect(s1.samples.map(\.value) == [1, 11, 21, 31, 41])
        #expect(wal.pending(from: reader.cursor) == 0)
        #expect(wal.pending(from: WALPosition(segment: 1)) == 15)
    }

    @Test func batchesStopAtTheLimitAndResumeMidRecord() throws {
        let dir = TemporaryDirectory()
        let (wal, writer) = try WAL.open(directory: dir.path + "/wal", maxBytes: 1 << 20)
        for t in 0..<4 { try writer.append(snapshot(5, value: Double(t)), timestamp: Int64(t)) }
        var reader = WALReader(wal: wal, from: WALPosition(segment: 1), keep: { _ in true })
        let batches = drain(&reader, max: 3)
        #expect(batches.map(\.samples) == [3, 3, 3, 3, 3, 3, 2])
        // Every sample once, in order.
        var seen: [(Int64, Double)] = []
        for b in batches { for s in b.series { for v in s.samples { seen.append((v.timestampMilliseconds, v.value)) } } }
        #expect(seen.count == 20)
        #expect(Set(seen.map { "\($0.0):\($0.1)" }).count == 20)
        // A position saved mid-record resumes at the next sample, in a new reader (a restart).
        var first = WALReader(wal: wal, from: WALPosition(segment: 1), keep: { _ in true })
        var b = WALBatch()
        first.read(into: &b, maxSamples: 7)
        #expect(first.cursor.skip == 2)
        #expect(wal.pending(from: first.cursor) == 13)
        var resumed = WALReader(wal: wal, from: first.cursor, keep: { _ in true })
        let rest = drain(&resumed)
        #expect(rest.map(\.samples) == [13])
        #expect(rest[0].series.contains { $0.labels.contains { $0 == ("i", "2") } && $0.samples.first?.value == 3 })
    }

    @Test func filtersByMetricName() throws {
        let dir = TemporaryDirectory()
        let (wal, writer) = try WAL.open(directory: dir.path + "/wal", maxBytes: 1 << 20)
        try writer.append(snapshot(2, value: 0, name: "lookout_x") + snapshot(3, value: 0, name: "other"), timestamp: 1)
        var reader = WALReader(wal: wal, from: WALPosition(segment: 1), keep: { $0.hasPrefix("lookout_") })
        let batches = drain(&reader)
        #expect(batches.map(\.samples) == [2])
        #expect(batches[0].series.allSatisfy { $0.metricName == "lookout_x" })
    }

    @Test func positionsSurviveReopeningAndAWriterStartsANewSegment() throws {
        let dir = TemporaryDirectory()
        let path = dir.path + "/wal"
        do {
            let (wal, writer) = try WAL.open(directory: path, maxBytes: 1 << 20)
            try writer.append(snapshot(2, value: 1), timestamp: 1)
            try writer.append(snapshot(2, value: 2), timestamp: 2)
            let start = wal.attach(key: "http://a/write", wake: WakeSignal())
            #expect(start == WALPosition(segment: 1))
            var reader = WALReader(wal: wal, from: start, keep: { _ in true })
            var b = WALBatch()
            reader.read(into: &b, maxSamples: 3)
            try wal.advance(key: "http://a/write", to: reader.cursor)
        }
        // A second lookout on the same directory is refused while the first holds it.
        do {
            let (wal, writer) = try WAL.open(directory: path, maxBytes: 1 << 20)
            #expect(throws: WALError.self) { _ = try WAL.open(directory: path, maxBytes: 1 << 20) }
            #expect(wal.segmentIndexes == [1, 2])
            try writer.append(snapshot(2, value: 3), timestamp: 3)
            let resumed = wal.attach(key: "http://a/write", wake: WakeSignal())
            #expect(resumed.segment == 1 && resumed.skip == 1)
            #expect(wal.pending(from: resumed) == 3)
            // An endpoint never seen starts at the oldest segment.
            #expect(wal.attach(key: "http://b/write", wake: WakeSignal()) == WALPosition(segment: 1))
            var reader = WALReader(wal: wal, from: resumed, keep: { _ in true })
            let batches = drain(&reader)
            #expect(batches.map(\.samples) == [3])
            #expect(batches[0].series.flatMap { $0.samples.map(\.timestampMilliseconds) }.sorted() == [2, 3, 3])
        }
    }

    @Test func damagedRecordsAreSkippedAndReadersResync() throws {
        let dir = TemporaryDirectory()
        let path = dir.path + "/wal"
        do {
            let (_, writer) = try WAL.open(directory: path, maxBytes: 1 << 20)
            for t in 0..<6 { try writer.append(snapshot(2, value: Double(t)), timestamp: Int64(t)) }
        }
        // Flip bytes inside the third samples record, and cut the file in the middle of the last.
        let segmentPath = path + "/00000001.seg"
        var bytes = try FileIO.read(segmentPath)
        let frames = Self.frameOffsets(bytes)
        #expect(frames.count == 8)  // 2 series + 6 samples records
        bytes[frames[4] + 14] ^= 0xFF
        bytes.removeLast(5)
        try FileIO.writeAtomically(segmentPath, bytes)
        let (wal, _) = try WAL.open(directory: path, maxBytes: 1 << 20)
        #expect(wal.corruptRecords >= 2)
        var reader = WALReader(wal: wal, from: WALPosition(segment: 1), keep: { _ in true })
        let batches = drain(&reader)
        let timestamps = Set(batches.flatMap { $0.series.flatMap { $0.samples.map(\.timestampMilliseconds) } })
        // Record 2 (damaged) and 5 (torn) are lost; everything around them is read.
        #expect(timestamps == [0, 1, 3, 4])
    }

    static func frameOffsets(_ bytes: [UInt8]) -> [Int] {
        var out: [Int] = []
        var corrupt = 0
        bytes.withUnsafeBufferPointer { b in
            _ = WALScan.forEach(in: b, from: 0, end: b.count, corrupt: &corrupt) { offset, _ in out.append(offset) }
        }
        return out
    }

    @Test func theSizeBoundDropsTheOldestSegmentsAndCountsUnsentSamples() throws {
        let dir = TemporaryDirectory()
        let (wal, writer) = try WAL.open(directory: dir.path + "/wal", maxBytes: 16 << 10, segmentBytes: 4 << 10)
        let start = wal.attach(key: "slow", wake: WakeSignal())
        #expect(start == WALPosition(segment: 1))
        for t in 0..<200 { try writer.append(snapshot(20, value: Double(t)), timestamp: Int64(t)) }
        #expect(wal.bytes <= 16 << 10)
        #expect(wal.segmentIndexes.first! > 1)
        let dropped = wal.droppedSamples
        #expect(dropped > 0)
        #expect(dropped % 20 == 0)
        // What is left plus what was dropped is everything written.
        #expect(wal.pending(from: start) + dropped == 200 * 20)
        // A reader behind the oldest segment continues with it.
        var reader = WALReader(wal: wal, from: start, keep: { _ in true })
        let read = drain(&reader).reduce(0) { $0 + $1.samples }
        #expect(read == 200 * 20 - dropped)
    }

    @Test func segmentsEveryEndpointHasReadAreDeleted() throws {
        let dir = TemporaryDirectory()
        let (wal, writer) = try WAL.open(directory: dir.path + "/wal", maxBytes: 1 << 20, segmentBytes: 2 << 10)
        let a = wal.attach(key: "a", wake: WakeSignal())
        _ = wal.attach(key: "b", wake: WakeSignal())
        for t in 0..<100 { try writer.append(snapshot(10, value: Double(t)), timestamp: Int64(t)) }
        let segments = wal.segmentIndexes.count
        #expect(segments > 3)
        var reader = WALReader(wal: wal, from: a, keep: { _ in true })
        _ = drain(&reader)
        try wal.advance(key: "a", to: reader.cursor)
        #expect(wal.segmentIndexes.count == segments)  // b has read nothing yet
        try wal.advance(key: "b", to: reader.cursor)
        #expect(wal.segmentIndexes.count == 1)
        #expect(wal.droppedSamples == 0)
        #expect(access(dir.path + "/wal/00000001.seg", F_OK) != 0)
    }
}
