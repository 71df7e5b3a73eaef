import Logging
import NIOCore
import NIOEmbedded
import Testing

@testable import Server

/// The connection handling without sockets, on virtual time (as the fuzz target drives it).
@Suite struct EmbeddedConnectionTests {
    final class Connection {
        let loop = EmbeddedEventLoop()
        let server: HTTPServer
        let channel: EmbeddedChannel
        var output: [UInt8] = []

        init(_ configure: (inout ServerSettings) -> Void = { _ in }) throws {
            var settings = ServerSettings(host: "127.0.0.1", port: 0)
            configure(&settings)
            server = HTTPServer(settings: settings, router: Router(HTTPServerTests.routes), logger: Logger(label: "test"), group: loop)
            channel = EmbeddedChannel(loop: loop)
            try server.accept(channel)
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 4242)).wait()
        }

        func send(_ text: String) throws {
            var buffer = channel.allocator.buffer(capacity: text.utf8.count)
            buffer.writeString(text)
            try channel.writeInbound(buffer)
            drain()
        }

        func drain() {
            loop.run()
            while let part = try? channel.readOutbound(as: IOData.self) {
                if case .byteBuffer(let b) = part { output.append(contentsOf: b.readableBytesView) }
            }
        }

        var text: String { String(decoding: output, as: UTF8.self) }
    }

    @Test func answersPipelinedRequestsOneAfterAnotherAndAHalfCloseEndsTheConnection() throws {
        let c = try Connection()
        try c.send("GET /hello?name=a HTTP/1.1\r\nHost: x\r\n\r\nGET /hel")
        try c.send("lo?name=b HTTP/1.1\r\nHost: x\r\n\r\n")
        c.loop.advanceTime(by: .milliseconds(5))
        c.drain()
        #expect(c.text.components("HTTP/1.1 200 OK") == 2)
        #expect(c.text.hasSuffix("hello b\n"))
        c.channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        c.drain()
        _ = try? c.channel.close().wait()
        c.loop.run()
        #expect(c.server.connectionCount == 0)
    }

    @Test func aConnectionWithoutACompleteRequestIsClosedAfterTheDeadline() throws {
        let c = try Connection()
        try c.send("GET /hello HTTP/1.1\r\nHost:")
        c.loop.advanceTime(by: .seconds(9))
        #expect(c.channel.isActive)
        c.loop.advanceTime(by: .seconds(2))
        #expect(!c.channel.isActive)
        #expect(c.server.connectionCount == 0)
    }

    @Test func garbageIsAnswered400AndClosed() throws {
        let c = try Connection()
        try? c.send("\u{1}\u{2} nonsense\r\n\r\n")
        c.drain()
        #expect(c.text.hasPrefix("HTTP/1.1 400"))
        #expect(!c.channel.isActive)
        #expect(c.server.connectionCount == 0)
    }
}
