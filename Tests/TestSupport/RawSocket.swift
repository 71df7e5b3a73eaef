import LookoutCore

#if canImport(Glibc)
import Glibc
#endif

/// Opens a raw TCP connection to 127.0.0.1:port (from `source`, another loopback address,
/// when given: the server then sees a different client). Non-blocking when asked.
public func rawConnect(_ port: Int, from source: String? = nil, nonBlocking: Bool = false) -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    precondition(fd >= 0, "socket failed")
    if let source {
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        local.sin_addr.s_addr = inet_addr(source)
        let rc = withUnsafePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        precondition(rc == 0, "bind to \(source) failed")
    }
    if nonBlocking { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = UInt16(port).bigEndian
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let rc = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    precondition(rc == 0 || (nonBlocking && errno == EINPROGRESS), "connect failed: \(errno)")
    return fd
}

/// Reads until EOF or `timeout`; returns what arrived and whether the peer closed.
public func rawReadAll(_ fd: Int32, timeout: Double) -> (text: String, closed: Bool) {
    var out: [UInt8] = []
    let deadline = SystemClock().now + .seconds(timeout)
    var buf = [UInt8](repeating: 0, count: 4096)
    while SystemClock().now < deadline {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ready = poll(&p, 1, 50)
        if ready <= 0 { continue }
        let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n <= 0 { return (String(decoding: out, as: UTF8.self), true) }
        out.append(contentsOf: buf[0..<n])
    }
    return (String(decoding: out, as: UTF8.self), false)
}

public func rawWrite(_ fd: Int32, _ s: String) {
    let bytes = Array(s.utf8)
    _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
}

/// Writes as many copies of `request` as the socket takes without blocking; returns how many.
public func rawWritePipelined(_ fd: Int32, _ request: String, max: Int) -> Int {
    let bytes = Array(request.utf8)
    var sent = 0
    while sent < max {
        let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) }
        if n < bytes.count { break }
        sent += 1
    }
    return sent
}

/// Whether the peer has closed `fd` (or reset it); reads and drops what is pending. Never blocks.
public func rawPeerClosed(_ fd: Int32) -> Bool {
    var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    guard poll(&p, 1, 0) > 0 else { return false }
    if p.revents & Int16(POLLHUP | POLLERR) != 0 { return true }
    var buf = [UInt8](repeating: 0, count: 4096)
    let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
}

/// The resident set size of a process in bytes (VmRSS), nil when it is gone.
public func residentBytes(of pid: pid_t) -> Int? {
    guard let text = try? FileIO.readText("/proc/\(pid)/status") else { return nil }
    for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        let digits = line.filter(\.isNumber)
        return Int(digits).map { $0 * 1024 }
    }
    return nil
}
