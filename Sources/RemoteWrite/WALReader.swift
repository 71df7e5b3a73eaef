#if canImport(Glibc)
import Glibc
#endif
import LookoutCore
import Series

/// Samples read from the WAL for one request: per series, in timestamp order.
public struct WALBatch: Sendable {
    public internal(set) var series: [WriteSeries] = []
    public internal(set) var samples = 0
    public internal(set) var highestTimestamp: Int64 = .min
    /// Series of the batch by (segment, ref).
    var index: [Int64: Int] = [:]

    public init() {}

    public var isEmpty: Bool { samples == 0 }

    mutating func add(key: Int64, labels: [Label], timestamp: Int64, value: Double) {
        let i: Int
        if let found = index[key] {
            i = found
        } else {
            i = series.count
            index[key] = i
            series.append(WriteSeries(labels: labels.map { ($0.name, $0.value) }))
        }
        series[i].samples.append((timestamp, value))
        samples += 1
        highestTimestamp = max(highestTimestamp, timestamp)
    }
}

/// One endpoint's reader of the WAL. It keeps the segment it reads in memory (growing as the
/// writer commits) and the series that segment declared, with the endpoint's verdict on each
/// (`write_relabel`). Owned by the endpoint's queue; not thread-safe.
public struct WALReader {
    let wal: WAL
    /// The next sample to read.
    public private(set) var cursor: WALPosition
    /// Decides per metric name whether the endpoint wants a series.
    let keep: @Sendable (String) -> Bool
    private var segment = -1
    private var bytes: [UInt8] = []
    private var table: [Int: (labels: [Label], keep: Bool)] = [:]
    /// How far the table holds the segment's series declarations.
    private var tableEnd = 0

    public init(wal: WAL, from position: WALPosition, keep: @escaping @Sendable (String) -> Bool) {
        self.wal = wal
        self.cursor = position
        self.keep = keep
    }

    /// Moves the reading position (back to the last acknowledged one, after a failed batch).
    public mutating func rewind(to position: WALPosition) {
        // The table stays valid: a ref means one label set for its whole segment.
        cursor = position
    }

    /// Adds samples to `batch` until it holds `maxSamples` or everything committed is read.
    /// Samples of series the endpoint does not want are passed over.
    public mutating func read(into batch: inout WALBatch, maxSamples: Int) {
        var corrupt = 0
        defer { wal.noteCorrupt(corrupt) }
        while batch.samples < maxSamples {
            let bounds = wal.bounds()
            if cursor.segment < bounds.oldest {
                // Dropped by the size bound: continue with what is left.
                cursor = WALPosition(segment: bounds.oldest)
            }
            guard let end = cursor.segment == bounds.head ? bounds.headBytes : bounds.segmentBytes[cursor.segment] else {
                // The segment is gone (deleted between two reads): go to the next one.
                guard let next = wal.segment(after: cursor.segment) else { return }
                cursor = WALPosition(segment: next)
                continue
            }
            if cursor.offset >= end {
                guard cursor.segment < bounds.head, let next = wal.segment(after: cursor.segment) else { return }
                cursor = WALPosition(segment: next)
                continue
            }
            if segment != cursor.segment { load(cursor.segment) }
            if bytes.count < end { extend(to: end) }
            guard bytes.count >= end else {
                // Shorter on disk than committed: the file was cut; skip to the next segment.
                guard cursor.segment < bounds.head, let next = wal.segment(after: cursor.segment) else { return }
                cursor = WALPosition(segment: next)
                continue
            }
            let full = readRecords(end: end, into: &batch, maxSamples: maxSamples, corrupt: &corrupt)
            if full { return }
        }
    }

    private mutating func load(_ index: Int) {
        segment = index
        bytes = []
        table = [:]
        tableEnd = 0
    }

    private mutating func extend(to end: Int) {
        let path = wal.segmentPath(segment)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: end - start))
        var done = start
        while done < end {
            let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, end - done, off_t(done)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            done += n
        }
        bytes.removeLast(end - done)
    }

    /// Reads records at the cursor up to `end`; true when the batch filled up.
    private mutating func readRecords(end: Int, into batch: inout WALBatch, maxSamples: Int, corrupt: inout Int) -> Bool {
        let segmentKey = Int64(segment) << 32
        let data = bytes
        return data.withUnsafeBufferPointer { b -> Bool in
            // Series declared before the cursor (a resumed position) are learnt first.
            if tableEnd < cursor.offset {
                WALScan.forEach(in: b, from: tableEnd, end: cursor.offset, corrupt: &corrupt) { _, parsed in
                    if case .series(let ref, let labels) = parsed { learn(ref, labels) }
                }
                tableEnd = cursor.offset
            }
            var offset = cursor.offset
            while offset < end {
                guard let frame = WALRecord.frame(in: b, at: offset, end: end), let parsed = WALRecord.parse(b, frame.payload)
                else {
                    corrupt += 1
                    offset = WALRecord.resync(in: b, after: offset, end: end) ?? end
                    cursor = WALPosition(segment: segment, offset: offset)
                    tableEnd = offset
                    continue
                }
                switch parsed {
                case .series(let ref, let labels):
                    learn(ref, labels)
                case .samples(let timestamp, let count, let body):
                    var r = WALRecord.Cursor(bytes: b, position: body, end: frame.payload.upperBound)
                    var i = 0
                    while i < count {
                        guard let ref = r.varint(), let bits = r.u64() else { break }
                        if i >= cursor.skip, let entry = table[Int(ref)], entry.keep {
                            if batch.samples >= maxSamples {
                                cursor = WALPosition(segment: segment, offset: offset, skip: i)
                                return true
                            }
                            batch.add(key: segmentKey | Int64(ref), labels: entry.labels, timestamp: timestamp, value: Double(bitPattern: bits))
                        }
                        i += 1
                    }
                }
                offset = frame.next
                tableEnd = offset
                cursor = WALPosition(segment: segment, offset: offset)
            }
            return batch.samples >= maxSamples
        }
    }

    private mutating func learn(_ ref: Int, _ labels: [Label]) {
        let name = labels.first { $0.name == "__name__" }?.value ?? ""
        table[ref] = (labels, keep(name))
    }
}
