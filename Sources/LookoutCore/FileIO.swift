#if canImport(Glibc)
import Glibc
#endif

/// Thin file I/O over POSIX calls. Parsers take bytes; these functions get them.
public enum FileIO {
    public struct Error: Swift.Error, CustomStringConvertible, Sendable {
        public let path: String
        public let errno: Int32
        /// Set when the file is larger than the reader's limit (`errno` is EFBIG).
        public var limit: Int? = nil
        public var description: String {
            if let limit { return "\(path): file is larger than \(Self.size(limit)), the most this reads" }
            return "\(path): \(String(cString: strerror(errno)))"
        }

        static func size(_ bytes: Int) -> String {
            bytes >= 1 << 20 && bytes % (1 << 20) == 0 ? "\(bytes >> 20) MiB" : "\(bytes) bytes"
        }
        /// The file (or a directory on its path) does not exist.
        public var isNotFound: Bool { errno == ENOENT || errno == ENOTDIR || errno == ESRCH }
    }

    /// Reads a whole file of at most `limit` bytes; a larger one is an error, never silently
    /// cut. Works for /proc files, which report size 0.
    public static func read(_ path: String, limit: Int = 64 << 20) throws(Error) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Error(path: path, errno: errno) }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = 4096
        while out.count < limit {
            let want = min(chunk, limit - out.count)
            let start = out.count
            out += [UInt8](repeating: 0, count: want)
            let n = out.withUnsafeMutableBytes { buf in
                Glibc.read(fd, buf.baseAddress! + start, want)
            }
            if n < 0 {
                if errno == EINTR {
                    out.removeLast(want)
                    continue
                }
                throw Error(path: path, errno: errno)
            }
            out.removeLast(want - n)
            if n == 0 { return out }
            chunk = min(chunk * 2, 1 << 20)
        }
        // `limit` bytes read: the file may end here, or go on.
        var probe: UInt8 = 0
        while true {
            let n = Glibc.read(fd, &probe, 1)
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw Error(path: path, errno: errno) }
            if n == 0 { return out }
            throw Error(path: path, errno: EFBIG, limit: limit)
        }
    }

    public static func readText(_ path: String, limit: Int = 64 << 20) throws(Error) -> String {
        String(decoding: try read(path, limit: limit), as: UTF8.self)
    }

    /// Writes a file atomically: a temporary file in the same directory, fsync, rename.
    public static func writeAtomically(_ path: String, _ bytes: [UInt8]) throws(Error) {
        let tmp = path + ".tmp.\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Error(path: tmp, errno: errno) }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, bytes.count - written) }
            if n < 0 {
                if errno == EINTR { continue }
                let e = errno
                close(fd)
                unlink(tmp)
                throw Error(path: tmp, errno: e)
            }
            written += n
        }
        if fsync(fd) != 0 {
            let e = errno
            close(fd)
            unlink(tmp)
            throw Error(path: tmp, errno: e)
        }
        close(fd)
        guard rename(tmp, path) == 0 else {
            let e = errno
            unlink(tmp)
            throw Error(path: path, errno: e)
        }
    }

    /// Takes an exclusive `flock` on `fd` without blocking for long: 0 when held, else the
    /// errno (EWOULDBLOCK when another holder keeps it). A lock just released can still be
    /// held for a moment by a child process forked while it was open (its copy of the
    /// descriptor lasts until its exec closes it), so a busy lock is tried again for up
    /// to `patience` before it counts as another owner's.
    public static func lockExclusive(_ fd: Int32, patience: Duration = .seconds(1)) -> Int32 {
        let milliseconds = patience.components.seconds * 1000 + patience.components.attoseconds / 1_000_000_000_000_000
        let rounds = max(1, Int(milliseconds / 10))
        for round in 0..<rounds {
            if flock(fd, LOCK_EX | LOCK_NB) == 0 { return 0 }
            let e = errno
            if e == EINTR { continue }
            if e != EWOULDBLOCK || round == rounds - 1 { return e }
            usleep(10_000)
        }
        return EWOULDBLOCK
    }

    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// Creates a directory and its parents.
    public static func makeDirectories(_ path: String) throws(Error) {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            if mkdir(current, 0o755) != 0 && errno != EEXIST { throw Error(path: current, errno: errno) }
        }
    }
}
