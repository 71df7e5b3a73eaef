#if canImport(Glibc)
import Glibc
#endif
import LookoutCore

/// The durable queue of notifications: an append-only log, `outbox.log`, in its directory.
///
/// - An entry is written and fsync'd before its first send attempt, so a crash at any later
///   moment leaves it on disk.
/// - Delivery (or dropping) appends an ack record. Acks are not fsync'd one by one: a
///   killed process loses nothing the kernel already has, and an ack lost to a power cut
///   only means one more delivery, which at-least-once allows (`groupKey` and the
///   fingerprints let receivers de-duplicate).
/// - Compaction writes the live entries to `outbox.log.tmp`, fsyncs it, renames it over
///   `outbox.log` and fsyncs the directory: at every moment one complete log is in place.
/// - Opening replays the log: entries without an ack are live again. A torn last record
///   (a write cut off by `kill -9`) or a record with a bad checksum is skipped and
///   reported, never fatal; the log is then rewritten clean.
/// - The cap (`maxEntries`, `maxBytes`) evicts the oldest entries to make room.
///
/// Without a directory the outbox lives in memory only (the agent's fallback when the
/// directory cannot be used). Not thread-safe: one owner (the notifier's loop) uses it.
public final class Outbox {
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let operation: String
        public let path: String
        public let errno: Int32
        public var description: String { "outbox: cannot \(operation) \(path): \(String(cString: strerror(errno)))" }
    }

    /// What opening found in the log.
    public struct Replay: Sendable, Hashable {
        public var records = 0
        public var restored = 0
        public var discardedBytes = 0
        public var tornTail = false
        public var corruptRecords = 0
        /// Notifications in the damaged and torn records: they are not sent.
        public var lostNotifications = 0
        /// The log was in the first format; it is rewritten in today's.
        public var firstFormat = false
    }

    public static let fileName = "outbox.log"

    public let directory: String?
    public var maxEntries: Int
    public var maxBytes: Int
    /// Compaction runs once the log is this large and more than half of it is acked records.
    public var compactionMinBytes: Int
    public private(set) var replay = Replay()

    private var fd: Int32 = -1
    private var lockFD: Int32 = -1
    private var isClosed = false
    private var live: [UInt64: OutboxEntry] = [:]
    /// Live ids in ascending order (the order entries were made).
    private var order: [UInt64] = []
    private var nextID: UInt64 = 1
    public private(set) var liveBytes = 0
    public private(set) var fileBytes = 0

    var logPath: String { (directory ?? "") + "/" + Self.fileName }
    var tmpPath: String { logPath + ".tmp" }

    /// Opens (creating it if needed) and replays the outbox in `directory`. The cap is not
    /// applied here: `enforceCap` does, so the owner can count what it evicts.
    public init(
        directory: String?, maxEntries: Int = 10_000, maxBytes: Int = 16 << 20, compactionMinBytes: Int = 1 << 20
    ) throws(Failure) {
        self.directory = directory
        self.maxEntries = maxEntries
        self.maxBytes = maxBytes
        self.compactionMinBytes = compactionMinBytes
        guard let directory else { return }
        do {
            try FileIO.makeDirectories(directory)
        } catch {
            throw Failure(operation: "create directory", path: error.path, errno: error.errno)
        }
        // One writer per directory: a second agent (or notifier) on the same outbox would
        // interleave records. The kernel drops the lock when the process dies, even by kill -9.
        let lockPath = directory + "/outbox.lock"
        lockFD = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lockFD >= 0 else { throw Failure(operation: "create", path: lockPath, errno: errno) }
        let e = FileIO.lockExclusive(lockFD)
        guard e == 0 else {
            Glibc.close(lockFD)
            lockFD = -1
            throw Failure(operation: "lock (is another lookout using it?)", path: lockPath, errno: e)
        }
        // A temporary file is what a compaction left when it was interrupted before its rename:
        // the log it was to replace is complete.
        unlink(tmpPath)
        var bytes: [UInt8] = []
        do {
            bytes = try FileIO.read(logPath, limit: 1 << 30)
        } catch where error.isNotFound {
            bytes = []
        } catch {
            throw Failure(operation: "read", path: logPath, errno: error.errno)
        }
        let decoded = OutboxCodec.decode(bytes)
        replay.records = decoded.records.count
        replay.discardedBytes = decoded.discardedBytes
        replay.tornTail = decoded.tornTail
        replay.corruptRecords = decoded.corruptRecords
        replay.lostNotifications = decoded.lostNotifications
        replay.firstFormat = decoded.firstFormat
        var maxID: UInt64 = 0
        for record in decoded.records {
            switch record {
            case .entry(let e):
                maxID = max(maxID, e.id)
                if live[e.id] == nil { order.append(e.id) }
                live[e.id] = e
            case .ack(let id, _):
                maxID = max(maxID, id)
                live[id] = nil
            }
        }
        order = order.filter { live[$0] != nil }.sorted()
        liveBytes = order.reduce(0) { $0 + live[$1]!.recordSize }
        replay.restored = order.count
        nextID = maxID + 1
        // Start from a clean log: no acked entries, no torn or corrupt records to trip over again.
        try compact()
    }

    deinit {
        closeLog()
        if lockFD >= 0 { Glibc.close(lockFD) }
    }

    /// Closes the log file and gives up the directory. Nothing is written at close: what is on
    /// disk is what a crash at that moment would leave.
    public func close() {
        isClosed = true
        closeLog()
        if lockFD >= 0 { Glibc.close(lockFD) }
        lockFD = -1
    }

    private func closeLog() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    public var isDurable: Bool { directory != nil }
    public var count: Int { order.count }
    public var entries: [OutboxEntry] { order.map { live[$0]! } }
    public var oldest: OutboxEntry? { order.first.map { live[$0]! } }
    public func entry(_ id: UInt64) -> OutboxEntry? { live[id] }

    public struct Appended {
        /// The new entry; nil when it alone is larger than `maxBytes` and was not kept.
        public var entry: OutboxEntry?
        /// Older entries dropped to make room for it.
        public var evicted: [OutboxEntry]
        /// Set when the entry could not be written: it is kept and sent, but would not survive a crash.
        public var failure: Failure?
    }

    /// Adds a notification: evicts the oldest entries if the cap requires it, then writes and
    /// fsyncs the new one.
    public func append(
        kind: OutboxEntry.Kind, receiver: String, url: String, body: [UInt8], createdAt: WallTime
    ) -> Appended {
        let entry = OutboxEntry(id: nextID, createdAt: createdAt, kind: kind, receiver: receiver, url: url, body: body)
        nextID += 1
        let size = entry.recordSize
        guard size <= maxBytes else { return Appended(entry: nil, evicted: [], failure: nil) }
        var evicted: [OutboxEntry] = []
        while !order.isEmpty && (order.count + 1 > maxEntries || liveBytes + size > maxBytes) {
            let victim = live[order[0]]!
            evicted.append(victim)
            remove(victim.id)
        }
        var bytes: [UInt8] = []
        for v in evicted { bytes += OutboxCodec.encode(.ack(id: v.id, reason: .dropped)) }
        bytes += OutboxCodec.encode(.entry(entry))
        live[entry.id] = entry
        order.append(entry.id)
        liveBytes += size
        let failure = write(bytes, sync: true)
        return Appended(entry: entry, evicted: evicted, failure: failure)
    }

    /// Removes an entry and records why. Unknown ids are ignored.
    @discardableResult
    public func ack(_ id: UInt64, reason: OutboxAckReason) -> Failure? {
        guard live[id] != nil else { return nil }
        remove(id)
        return write(OutboxCodec.encode(.ack(id: id, reason: reason)), sync: false)
    }

    /// Evicts the oldest entries until the cap holds (after the cap was lowered).
    public func enforceCap() -> [OutboxEntry] {
        var evicted: [OutboxEntry] = []
        while !order.isEmpty && (order.count > maxEntries || liveBytes > maxBytes) {
            let victim = live[order[0]]!
            evicted.append(victim)
            _ = ack(victim.id, reason: .dropped)
        }
        return evicted
    }

    private func remove(_ id: UInt64) {
        guard let e = live.removeValue(forKey: id) else { return }
        liveBytes -= e.recordSize
        if order.first == id { order.removeFirst() } else { order.removeAll { $0 == id } }
    }

    /// Whether enough of the log is dead weight to rewrite it.
    public var needsCompaction: Bool {
        directory != nil && fileBytes >= compactionMinBytes && fileBytes > 2 * liveBytes
    }

    @discardableResult
    public func compactIfNeeded() -> Failure? {
        guard needsCompaction else { return nil }
        do {
            try compact()
            return nil
        } catch {
            return error
        }
    }

    /// Rewrites the log with only the live entries, crash-safe at every step.
    public func compact() throws(Failure) {
        guard directory != nil, !isClosed else { return }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(liveBytes)
        for id in order { bytes += OutboxCodec.encode(.entry(live[id]!)) }
        let tfd = open(tmpPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard tfd >= 0 else { throw Failure(operation: "create", path: tmpPath, errno: errno) }
        if let e = Self.writeAll(tfd, bytes, path: tmpPath) ?? (fsync(tfd) == 0 ? nil : Failure(operation: "fsync", path: tmpPath, errno: errno)) {
            Glibc.close(tfd)
            unlink(tmpPath)
            throw e
        }
        Glibc.close(tfd)
        guard rename(tmpPath, logPath) == 0 else {
            let e = errno
            unlink(tmpPath)
            throw Failure(operation: "rename", path: tmpPath, errno: e)
        }
        syncDirectory()
        let nfd = open(logPath, O_WRONLY | O_APPEND | O_CLOEXEC)
        guard nfd >= 0 else { throw Failure(operation: "open", path: logPath, errno: errno) }
        closeLog()
        fd = nfd
        fileBytes = bytes.count
    }

    private func syncDirectory() {
        guard let directory else { return }
        let dfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            fsync(dfd)
            Glibc.close(dfd)
        }
    }

    private func write(_ bytes: [UInt8], sync: Bool) -> Failure? {
        guard directory != nil else { return nil }
        guard !isClosed else { return Failure(operation: "write (closed)", path: logPath, errno: EBADF) }
        guard fd >= 0 else {
            // The log was closed after a failed write: rewrite it from memory, which already
            // holds this change.
            do {
                try compact()
                return nil
            } catch {
                return error
            }
        }
        if let e = Self.writeAll(fd, bytes, path: logPath) {
            // Cut off what part of the record made it, so the next record starts on a boundary;
            // if even that fails, the next write starts a fresh log.
            if ftruncate(fd, off_t(fileBytes)) != 0 { closeLog() }
            return e
        }
        fileBytes += bytes.count
        if sync && fdatasync(fd) != 0 { return Failure(operation: "fsync", path: logPath, errno: errno) }
        return nil
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) -> Failure? {
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, bytes.count - written) }
            if n < 0 {
                if errno == EINTR { continue }
                return Failure(operation: "write", path: path, errno: errno)
            }
            written += n
        }
        return nil
    }
}
