import CTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Decompresses a gzip (or zlib) stream; nil when it is corrupt or truncated.
public func gunzip(_ bytes: [UInt8]) -> [UInt8]? {
    var out: UnsafeMutablePointer<UInt8>?
    var count = 0
    let rc = bytes.withUnsafeBufferPointer { lookout_test_gunzip($0.baseAddress, $0.count, &out, &count) }
    guard rc == 0, let out else { return nil }
    defer { free(out) }
    return Array(UnsafeBufferPointer(start: out, count: count))
}

/// A bcrypt hash of `password`, as `htpasswd -B` makes them.
public func bcrypt(_ password: String, cost: Int = 4) -> String {
    var out = [CChar](repeating: 0, count: 128)
    precondition(lookout_test_bcrypt_hash(password, Int32(cost), &out, out.count) == 0)
    return String(decoding: out.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// The calling thread's id (its /proc/PID/task entry).
public func currentThreadID() -> pid_t { lookout_test_gettid() }
