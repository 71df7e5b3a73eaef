#if canImport(Glibc)
import Glibc
#endif

/// A growable byte buffer that reads reuse, so the sampler's hot path does not allocate.
/// Not thread-safe: each reader owns one.
public final class ReadBuffer {
    @usableFromInline private(set) var storage: UnsafeMutableRawBufferPointer

    public init(capacity: Int = 16 << 10) {
        storage = .allocate(byteCount: max(capacity, 256), alignment: 8)
    }

    deinit { storage.deallocate() }

    public var capacity: Int { storage.count }

    func grow() {
        let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: storage.count * 2, alignment: 8)
        storage.deallocate()
        storage = bigger
    }
}

/// One /proc or /sys file read again and again. With `keepOpen` the descriptor stays
/// open and each read is one `pread` at offset 0, which makes the kernel generate fresh
/// content (seq_file); that is roughly half the cost of open+read+close. A kept-open
/// descriptor of a /proc/PID file also pins that process: once it has exited, reads fail
/// with ESRCH even if the PID was reused, so PID reuse cannot mix two processes' figures.
public final class ProcFile {
    public let path: String
    public let keepOpen: Bool
    /// Whether an empty read means the process is gone (true for /proc/PID files whose
    /// content is never empty while the task exists, e.g. `stat`, `schedstat`).
    public let emptyMeansGone: Bool
    private var fd: Int32 = -1

    public init(_ path: String, keepOpen: Bool = true, emptyMeansGone: Bool = false) {
        self.path = path
        self.keepOpen = keepOpen
        self.emptyMeansGone = emptyMeansGone
    }

    deinit { close() }

    public var isOpen: Bool { fd >= 0 }

    public func close() {
        if fd >= 0 {
            Glibc.close(fd)
            fd = -1
        }
    }

    /// Reads the whole file into `buffer` and hands its bytes to `parse`. Returns nil when
    /// the file (its process or thread) no longer exists.
    /// Inlinable, so the sampler's per-tick reads are specialized for what they parse.
    @inlinable
    public func read<T>(
        _ buffer: ReadBuffer, _ parse: (UnsafeRawBufferPointer) throws(ProcFSError) -> T
    ) throws(ProcFSError) -> T? {
        guard let n = try readRaw(buffer) else { return nil }
        do {
            return try parse(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer.storage)[0..<n]))
        } catch {
            throw error.at(path)
        }
    }

    /// Reads into `buffer`; returns the byte count, or nil when the file is gone.
    public func readRaw(_ buffer: ReadBuffer) throws(ProcFSError) -> Int? {
        if fd < 0 {
            fd = open(path, O_RDONLY | O_CLOEXEC)
            if fd < 0 {
                let e = errno
                if ProcFile.isGone(e) { return nil }
                throw .system(path, e, "cannot open")
            }
        }
        defer { if !keepOpen { close() } }
        while true {
            let n = pread(fd, buffer.storage.baseAddress, buffer.storage.count, 0)
            if n < 0 {
                let e = errno
                if e == EINTR { continue }
                close()
                if ProcFile.isGone(e) { return nil }
                throw .system(path, e, "cannot read")
            }
            if n == buffer.storage.count {
                // Possibly truncated: read again, whole, into a bigger buffer.
                buffer.grow()
                continue
            }
            if n == 0 && emptyMeansGone {
                close()
                return nil
            }
            return n
        }
    }

    /// Opens, reads and closes `path` (no handle object, for files read once a second or less).
    /// Returns nil when the file is gone.
    public static func readOnce<T>(
        _ path: String, _ buffer: ReadBuffer, emptyMeansGone: Bool = false,
        _ parse: (UnsafeRawBufferPointer) throws(ProcFSError) -> T
    ) throws(ProcFSError) -> T? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let e = errno
            if isGone(e) { return nil }
            throw .system(path, e, "cannot open")
        }
        defer { Glibc.close(fd) }
        while true {
            let n = pread(fd, buffer.storage.baseAddress, buffer.storage.count, 0)
            if n < 0 {
                let e = errno
                if e == EINTR { continue }
                if isGone(e) { return nil }
                throw .system(path, e, "cannot read")
            }
            if n == buffer.storage.count {
                buffer.grow()
                continue
            }
            if n == 0 && emptyMeansGone { return nil }
            do {
                return try parse(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer.storage)[0..<n]))
            } catch {
                throw error.at(path)
            }
        }
    }

    /// ENOENT/ENOTDIR: the /proc/PID directory is gone; ESRCH: the task exited while we held the file.
    static func isGone(_ e: Int32) -> Bool { e == ENOENT || e == ESRCH || e == ENOTDIR }
}
