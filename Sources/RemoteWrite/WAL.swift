#if canImport(Glibc)
import Glibc
#endif
import LookoutCore
import Series
import Synchronization

/// Where an endpoint is in the WAL: the next record to read (segment and byte offset) and how
/// many samples of that record it has already sent.
public struct WALPosition: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var segment: Int
    public var offset: Int
    public var skip: Int

    public init(segment: Int, offset: Int = 0, skip: Int = 0) {
        self.segment = segment
        self.offset = offset
        self.skip = skip
    }

    public static func < (a: Self, b: Self) -> Bool {
        (a.segment, a.offset, a.skip) < (b.segment, b.offset, b.skip)
    }

    public var description: String { "\(segment):\(offset)+\(skip)" }
}

public struct WALError: Error, CustomStringConvertible, Sendable {
    public let operation: String
    public let path: String
    public let errno: Int32
    public var description: String { "wal: cannot \(operation) \(path): \(String(cString: strerror(errno)))" }
}

/// The durable queue of remote_write: segment files of checksummed records in one directory.
///
/// - `WALWriter` appends one samples record per snapshot (after the series records of label
///   sets new to the segment), fsyncs it, and only then publishes the new end here; readers
///   never see a record half written.
/// - Every endpoint reads with a `WALReader` from its own position, persisted in
///   `positions/` once the receiver acknowledged a batch; a restart resumes there, so what was
///   not acknowledged is sent again (at least once).
/// - Segments every registered endpoint has read are deleted. Beyond `maxBytes` the oldest
///   segments are deleted anyway, and the samples some endpoint had not sent yet are counted
///   in `droppedSamples`.
/// - Opening scans the segments; a torn tail (a write cut off by `kill -9`) or damaged
///   records are skipped by readers, which resynchronise on the next valid record. Writing
///   always starts a new segment.
///
/// This type holds the shared index (segments, their sample counts, the committed end and
/// the endpoints' positions) under a lock; file I/O happens outside it.
public final class WAL: Sendable {
    public let directory: String
    public let maxBytes: Int
    /// A segment is closed and a new one begun once it is this large.
    public let segmentBytes: Int

    struct Segment {
        var index: Int
        var bytes: Int
        /// Offsets of the samples records and their sample counts.
        var records: [(offset: Int, samples: Int)] = []
        var samples: Int { records.reduce(0) { $0 + $1.samples } }
    }

    struct State {
        var segments: [Segment] = []
        var positions: [String: WALPosition] = [:]
        var droppedSamples = 0
        var watchers: [String: WakeSignal] = [:]
        var corruptRecords = 0
    }

    private let state: Mutex<State>
    private let lockFD: Int32

    static func segmentName(_ index: Int) -> String {
        let digits = String(index)
        return String(repeating: "0", count: max(0, 8 - digits.count)) + digits + ".seg"
    }

    func segmentPath(_ index: Int) -> String { directory + "/" + Self.segmentName(index) }
    var positionsDirectory: String { directory + "/positions" }

    /// Opens (creating it if needed) the WAL in `directory` and returns it with its writer, which
    /// starts a new segment. One process per directory: a second one fails to take the lock.
    public static func open(directory: String, maxBytes: Int, segmentBytes: Int? = nil) throws(WALError) -> (WAL, WALWriter) {
        do {
            try FileIO.makeDirectories(directory + "/positions")
        } catch {
            throw WALError(operation: "create directory", path: error.path, errno: error.errno)
        }
        let lockPath = directory + "/wal.lock"
        let fd = Glibc.open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw WALError(operation: "open", path: lockPath, errno: errno) }
        let e = FileIO.lockExclusive(fd)
        guard e == 0 else {
            close(fd)
            throw WALError(operation: "lock (another lookout uses it)", path: lockPath, errno: e)
        }
        let wal = WAL(directory: directory, maxBytes: maxBytes, segmentBytes: segmentBytes, lockFD: fd)
        var segments: [Segment] = []
        for index in wal.listSegments() {
            let bytes = (try? FileIO.read(wal.segmentPath(index), limit: Int.max)) ?? []
            var segment = Segment(index: index, bytes: bytes.count)
            var corrupt = 0
            bytes.withUnsafeBufferPointer { b in
                _ = WALScan.forEach(in: b, from: 0, end: b.count, corrupt: &corrupt) { offset, parsed in
                    if case .samples(_, let count, _) = parsed { segment.records.append((offset, count)) }
                }
            }
            segment.bytes = bytes.count
            segments.append(segment)
            wal.state.withLock { $0.corruptRecords += corrupt }
        }
        let next = (segments.last?.index ?? 0) + 1
        let writer = try WALWriter(wal: wal, segment: next)
        segments.append(Segment(index: next, bytes: 0))
        wal.state.withLock { $0.segments = segments }
        return (wal, writer)
    }

    private init(directory: String, maxBytes: Int, segmentBytes: Int?, lockFD: Int32) {
        self.directory = directory
        self.maxBytes = maxBytes
        // Small segments keep each endpoint's reader (which holds its current segment) small.
        self.segmentBytes = segmentBytes ?? min(max(maxBytes / 16, 64 << 10), 2 << 20)
        self.lockFD = lockFD
        self.state = Mutex(State())
    }

    deinit {
        close(lockFD)
    }

    private func listSegments() -> [Int] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var out: [Int] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            guard name.hasSuffix(".seg"), let n = Int(name.dropLast(4)), n > 0 else { continue }
            out.append(n)
        }
        return out.sorted()
    }

    // MARK: The index

    /// Total bytes of the segments on disk.
    public var bytes: Int { state.withLock { s in s.segments.reduce(0) { $0 + $1.bytes } } }
    public var droppedSamples: Int { state.withLock { $0.droppedSamples } }
    /// Records readers or the opening scan found damaged and skipped.
    public var corruptRecords: Int { state.withLock { $0.corruptRecords } }
    public var segmentIndexes: [Int] { state.withLock { $0.segments.map(\.index) } }

    /// The oldest segment, and the newest with the end of what is committed in it.
    struct Bounds {
        var oldest: Int
        var head: Int
        var headBytes: Int
        var segmentBytes: [Int: Int]
    }

    func bounds() -> Bounds {
        state.withLock { s in
            var sizes: [Int: Int] = [:]
            for seg in s.segments { sizes[seg.index] = seg.bytes }
            return Bounds(
                oldest: s.segments.first?.index ?? 1, head: s.segments.last?.index ?? 1,
                headBytes: s.segments.last?.bytes ?? 0, segmentBytes: sizes)
        }
    }

    /// The segment after `index` that still exists, if any.
    func segment(after index: Int) -> Int? {
        state.withLock { s in s.segments.first { $0.index > index }?.index }
    }

    /// Samples written at or after `position` (what an endpoint at that position still has to read).
    public func pending(from position: WALPosition) -> Int {
        state.withLock { s in Self.samples(in: s.segments, from: position) }
    }

    private static func samples(in segments: [Segment], from p: WALPosition) -> Int {
        var n = 0
        for seg in segments where seg.index >= p.segment {
            if seg.index > p.segment {
                n += seg.samples
            } else {
                for r in seg.records where r.offset >= p.offset {
                    n += r.offset == p.offset ? max(0, r.samples - p.skip) : r.samples
                }
            }
        }
        return n
    }

    func noteCorrupt(_ n: Int) {
        guard n > 0 else { return }
        state.withLock { $0.corruptRecords += n }
    }

    // MARK: Endpoints' positions

    /// The file an endpoint's position is kept in: named by a hash of its key (the URL).
    func positionPath(_ key: String) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in key.utf8 {
            h ^= UInt64(b)
            h = h &* 0x100_0000_01b3
        }
        let hex = String(h, radix: 16)
        return positionsDirectory + "/" + String(repeating: "0", count: 16 - hex.count) + hex + ".pos"
    }

    /// Registers an endpoint and returns where it resumes: its saved position, or the start
    /// of the oldest segment for an endpoint not seen before. `wake` is signalled on appends.
    public func attach(key: String, wake: WakeSignal) -> WALPosition {
        var position = WALPosition(segment: bounds().oldest)
        if let bytes = try? FileIO.read(positionPath(key), limit: 1 << 16) {
            let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n")
            let fields = lines.first?.split(separator: " ").compactMap { Int($0) } ?? []
            if fields.count == 3, lines.dropFirst().first.map(String.init) == key {
                position = WALPosition(segment: fields[0], offset: fields[1], skip: fields[2])
            }
        }
        state.withLock { s in
            s.positions[key] = position
            s.watchers[key] = wake
        }
        return position
    }

    public func detach(key: String) {
        state.withLock { s in
            s.positions[key] = nil
            s.watchers[key] = nil
        }
    }

    /// Records (durably) that the endpoint `key` has sent everything before `position`, and
    /// deletes the segments every endpoint is done with.
    public func advance(key: String, to position: WALPosition) throws(WALError) {
        let text = "\(position.segment) \(position.offset) \(position.skip)\n\(key)\n"
        do {
            try FileIO.writeAtomically(positionPath(key), Array(text.utf8))
        } catch {
            throw WALError(operation: "write", path: error.path, errno: error.errno)
        }
        let done = state.withLock { s -> [Int] in
            s.positions[key] = position
            guard let slowest = s.positions.values.min()?.segment, let head = s.segments.last?.index else { return [] }
            let gone = s.segments.filter { $0.index < slowest && $0.index != head }.map(\.index)
            s.segments.removeAll { gone.contains($0.index) }
            return gone
        }
        for index in done { unlink(segmentPath(index)) }
    }

    // MARK: Writer side

    /// Publishes what the writer appended and applies the size bound.
    func committed(segment: Int, bytes: Int, samplesRecord: (offset: Int, samples: Int)?) {
        let (dropped, watchers) = state.withLock { s -> ([Int], [WakeSignal]) in
            if let i = s.segments.lastIndex(where: { $0.index == segment }) {
                s.segments[i].bytes = bytes
                if let r = samplesRecord { s.segments[i].records.append(r) }
            } else {
                var seg = Segment(index: segment, bytes: bytes)
                if let r = samplesRecord { seg.records.append(r) }
                s.segments.append(seg)
            }
            var dropped: [Int] = []
            var total = s.segments.reduce(0) { $0 + $1.bytes }
            while total > maxBytes, s.segments.count > 1 {
                let oldest = s.segments.removeFirst()
                total -= oldest.bytes
                dropped.append(oldest.index)
                let slowest = s.positions.values.min() ?? WALPosition(segment: 0)
                s.droppedSamples += Self.samples(in: [oldest], from: slowest)
            }
            return (dropped, Array(s.watchers.values))
        }
        for index in dropped { unlink(segmentPath(index)) }
        for w in watchers { w.signal() }
    }
}

/// Appends snapshots to the WAL. Owned by one task (the snapshot loop); not thread-safe.
public final class WALWriter {
    let wal: WAL
    private var fd: Int32 = -1
    private(set) var segment: Int
    private var size = 0
    /// Series of the current segment by their label set.
    private var refs: [[Label]: Int] = [:]

    init(wal: WAL, segment: Int) throws(WALError) {
        self.wal = wal
        self.segment = segment
        try openSegment()
    }

    deinit {
        if fd >= 0 { close(fd) }
    }

    private func openSegment() throws(WALError) {
        let path = wal.segmentPath(segment)
        fd = Glibc.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw WALError(operation: "create", path: path, errno: errno) }
        size = 0
        refs = [:]
        fsyncDirectory()
    }

    private func fsyncDirectory() {
        let d = Glibc.open(wal.directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if d >= 0 {
            fsync(d)
            close(d)
        }
    }

    /// Writes one snapshot taken at `timestamp` (ms) and makes it visible to readers once it
    /// is on disk.
    public func append(_ samples: [SnapshotSample], timestamp: Int64) throws(WALError) {
        if size >= wal.segmentBytes {
            close(fd)
            fd = -1
            segment += 1
            try openSegment()
            wal.committed(segment: segment, bytes: 0, samplesRecord: nil)
        }
        var out: [UInt8] = []
        var entries: [(ref: Int, value: Double)] = []
        entries.reserveCapacity(samples.count)
        for s in samples {
            let ref: Int
            if let r = refs[s.labels] {
                ref = r
            } else {
                ref = refs.count + 1
                refs[s.labels] = ref
                WALRecord.appendFrame(WALRecord.seriesPayload(ref: ref, labels: s.labels), to: &out)
            }
            entries.append((ref, s.value))
        }
        let samplesOffset = size + out.count
        WALRecord.appendFrame(WALRecord.samplesPayload(timestamp: timestamp, samples: entries), to: &out)
        var written = 0
        while written < out.count {
            let n = out.withUnsafeBytes { write(fd, $0.baseAddress! + written, out.count - written) }
            if n < 0 {
                if errno == EINTR { continue }
                let e = errno
                // Whatever part was written is a torn record readers skip; start clean after it.
                size += written
                throw WALError(operation: "write", path: wal.segmentPath(segment), errno: e)
            }
            written += n
        }
        guard fdatasync(fd) == 0 else { throw WALError(operation: "fsync", path: wal.segmentPath(segment), errno: errno) }
        size += out.count
        wal.committed(segment: segment, bytes: size, samplesRecord: (samplesOffset, samples.count))
    }
}

/// Walking the records of a segment's bytes.
enum WALScan {
    /// Calls `body` with each valid record from `from` to `end`; damaged stretches are skipped
    /// (counted in `corrupt`) up to the next valid record. Returns where it stopped.
    @discardableResult
    static func forEach(
        in bytes: UnsafeBufferPointer<UInt8>, from: Int, end: Int, corrupt: inout Int,
        _ body: (Int, WALRecord.Parsed) -> Void
    ) -> Int {
        var offset = from
        while offset < end {
            guard let frame = WALRecord.frame(in: bytes, at: offset, end: end),
                let parsed = WALRecord.parse(bytes, frame.payload)
            else {
                corrupt += 1
                guard let next = WALRecord.resync(in: bytes, after: offset, end: end) else { return end }
                offset = next
                continue
            }
            body(offset, parsed)
            offset = frame.next
        }
        return offset
    }
}
