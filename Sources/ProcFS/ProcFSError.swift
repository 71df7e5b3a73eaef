#if canImport(Glibc)
import Glibc
#endif

/// What went wrong reading a /proc or /sys file. A vanished process is not an error:
/// readers return `nil` for it. These are the cases worth a log line.
public struct ProcFSError: Error, CustomStringConvertible, Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// The content does not have the shape the kernel documents.
        case malformed
        /// The kernel refused the read (e.g. `task/TID/stack` without root, another user's `fd/`).
        case permissionDenied
        /// Any other failed system call.
        case io
        /// The root given to `ProcFS` is not a directory.
        case invalidRoot
    }

    public var kind: Kind
    /// The file; empty when a pure parser threw and no file was involved.
    public var path: String
    /// What was wrong, e.g. "no ')' after the command name".
    public var reason: String
    /// An excerpt of the offending input (escaped), quoted in the description.
    public var input: String
    public var errno: Int32?

    public init(kind: Kind, path: String = "", reason: String, input: String = "", errno: Int32? = nil) {
        self.kind = kind
        self.path = path
        self.reason = reason
        self.input = input
        self.errno = errno
    }

    public var description: String {
        var s = path.isEmpty ? "" : path + ": "
        s += reason
        if let errno { s += " (\(String(cString: strerror(errno))))" }
        if !input.isEmpty { s += ": \"\(input)\"" }
        return s
    }

    /// The same error, naming the file it came from.
    public func at(_ path: String) -> ProcFSError {
        var copy = self
        copy.path = path
        return copy
    }

    /// A parse error quoting (part of) the bad input.
    static func malformed(_ reason: String, _ bytes: UnsafeRawBufferPointer, at position: Int = 0) -> ProcFSError {
        ProcFSError(kind: .malformed, reason: reason, input: excerpt(bytes, around: position))
    }

    static func system(_ path: String, _ errno: Int32, _ what: String) -> ProcFSError {
        ProcFSError(kind: errno == EACCES || errno == EPERM ? .permissionDenied : .io, path: path, reason: what, errno: errno)
    }

    /// The line holding `position`, at most 160 bytes of it, with control bytes escaped.
    static func excerpt(_ bytes: UnsafeRawBufferPointer, around position: Int) -> String {
        if bytes.isEmpty { return "" }
        let p = min(max(position, 0), bytes.count - 1)
        var start = p
        while start > 0, bytes[start - 1] != 10 { start -= 1 }
        // The offending byte may itself be the newline ending the line.
        if bytes[p] == 10, p == start, p > 0 {
            start = p - 1
            while start > 0, bytes[start - 1] != 10 { start -= 1 }
        }
        var end = max(p, start)
        while end < bytes.count, bytes[end] != 10 { end += 1 }
        if end - start > 160 {
            start = max(start, p - 80)
            end = min(end, start + 160)
        }
        var out = ""
        for b in bytes[start..<end] {
            switch b {
            case 9: out += "\\t"
            case 0: out += "\\0"
            case 34: out += "\\\""
            case 92: out += "\\\\"
            case 32...126: out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                let hex = Array("0123456789abcdef")
                out += "\\x" + String(hex[Int(b >> 4)]) + String(hex[Int(b & 15)])
            }
        }
        return out
    }
}
