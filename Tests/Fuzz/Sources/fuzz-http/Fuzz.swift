import FuzzSupport
import Logging
import NIOCore
import NIOEmbedded
import Server

/// The HTTP server's connection handling takes any bytes without crashing: NIO's request
/// parser, pipelining with one response in flight, the limits, the timeouts and the
/// authentication step, on an embedded channel (no sockets, virtual time).
///
/// Input: one byte of options (bit 0: credentials required; bit 1: the client half-closes
/// at the end; bit 2: it closes at the end), then segments separated by 0xFE, each written
/// as one read. A segment that starts with 0xFD first advances the clock by its second byte
/// in seconds (the 10 s request deadline, the idle and write timeouts).
///
/// Properties: whatever is written back is a sequence of `HTTP/1.1` responses, and when the
/// connection ends the server's connection count goes back to zero.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTP(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let options = data[0]
    let input = UnsafeBufferPointer(start: data + 1, count: size - 1)
    let server = options & 1 == 1 ? Harness.authenticated : Harness.open
    let channel = EmbeddedChannel(loop: Harness.loop)
    do {
        try server.accept(channel)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 4242)).wait()
    } catch {
        propertyFailed("setting up a connection failed: \(error)")
    }
    var output: [UInt8] = []
    func drain() {
        Harness.loop.run()
        while let part = try? channel.readOutbound(as: IOData.self) {
            if case .byteBuffer(let b) = part { output.append(contentsOf: b.readableBytesView) }
        }
        while let b = try? channel.readOutbound(as: ByteBuffer.self) { output.append(contentsOf: b.readableBytesView) }
    }
    for var segment in input.split(separator: 0xFE, omittingEmptySubsequences: false) {
        guard channel.isActive else { break }
        if segment.first == 0xFD {
            segment = segment.dropFirst()
            let seconds = Int64(segment.first ?? 1)
            segment = segment.dropFirst()
            Harness.loop.advanceTime(by: .seconds(seconds))
        }
        var buffer = channel.allocator.buffer(capacity: segment.count)
        buffer.writeBytes(segment)
        do {
            try channel.writeInbound(buffer)
        } catch {
            // The connection refused the bytes (a parse error): it answers 400 and closes.
        }
        drain()
    }
    if options & 2 == 2 && channel.isActive {
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        drain()
    }
    if options & 4 == 4 || channel.isActive {
        _ = try? channel.close().wait()
    }
    drain()
    _ = try? channel.finish()
    Harness.loop.run()
    if !output.isEmpty && !output.starts(with: Array("HTTP/1.1 ".utf8)) {
        propertyFailed("the answer does not start with a status line: \(String(decoding: output.prefix(200), as: UTF8.self))")
    }
    if server.connectionCount != 0 {
        propertyFailed("\(server.connectionCount) connections counted after the last one closed")
    }
    blackHole(output.count)
    return 0
}

enum Harness {
    static let loop = EmbeddedEventLoop()

    static let routes = Router([
        Route(["GET"], "/-/healthy", handler: .sync { _ in .text("lookout is Healthy.\n") }),
        Route(["GET"], "/hello", handler: .sync { r in .text("hello \(r.queryValue("name") ?? "")\n") }),
        Route(["POST", "PUT"], "/-/reload", acceptsBody: true, handler: .sync { r in .text("\(r.body.count) bytes\n") }),
        Route(["GET"], "/public", isPublic: true, handler: .sync { _ in .text("open\n") }),
    ])

    static func settings(authenticated: Bool) -> ServerSettings {
        var s = ServerSettings(host: "127.0.0.1", port: 0)
        s.maxBodyBytes = 1024
        s.maxHeaderBytes = 2048
        if authenticated {
            // Bearer tokens and refusals only: a password check would run on a thread of its own.
            let authenticator = Authenticator(users: [:], tokens: [Array("t0ken".utf8)], openPaths: ["/-/healthy"])
            s.authorize = { authenticator.decide($0) }
        }
        return s
    }

    static let open = HTTPServer(
        settings: settings(authenticated: false), router: routes, logger: Logger(label: "fuzz"), group: loop)
    static let authenticated = HTTPServer(
        settings: settings(authenticated: true), router: routes, logger: Logger(label: "fuzz"), group: loop)
}

@_cdecl("fuzz_http_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzHTTP)
}
