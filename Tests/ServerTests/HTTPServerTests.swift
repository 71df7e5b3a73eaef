import Logging
import LookoutCore
import NIOPosix
import ServiceLifecycleTestKit
import TestSupport
import Testing

@testable import Server

#if canImport(Glibc)
import Glibc
#endif

/// Starts a server with the given routes on a free loopback port for the duration of `body`.
func withServer<T>(
    _ routes: [Route], configure: (inout ServerSettings) -> Void = { _ in },
    _ body: (Int, HTTPServer) async throws -> T
) async throws -> T {
    var settings = ServerSettings(host: "127.0.0.1", port: 0)
    configure(&settings)
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let server = HTTPServer(settings: settings, router: Router(routes), logger: Logger(label: "test"), group: group)
    let port = try await server.bind()
    let running = Task { try await server.run() }
    defer {
        running.cancel()
    }
    let result = try await body(port, server)
    await server.shutdown(grace: .milliseconds(100))
    _ = await running.result
    try await group.shutdownGracefully()
    return result
}

@Suite struct HTTPServerTests {
    static let routes: [Route] = [
        Route(["GET"], "/hello", handler: .sync { req in .text("hello \(req.queryValue("name") ?? "nobody")\n") }),
        Route(["GET"], "/slow", handler: .async { _ in
            try? await Task.sleep(for: .milliseconds(200))
            return .text("done\n")
        }),
        Route(["POST"], "/reload", acceptsBody: true, handler: .sync { req in .text("got \(req.body.count) bytes\n") }),
        Route(["GET"], "/public", isPublic: true, handler: .sync { _ in .text("open\n") }),
    ]

    @Test func routesSyncAndAsyncHandlers() async throws {
        try await withServer(Self.routes) { port, _ in
            let r = TestHTTP.get("http://127.0.0.1:\(port)/hello?name=a%20b")
            #expect(r.status == 200)
            #expect(r.text == "hello a b\n")
            #expect(r.header("Content-Type") == "text/plain; charset=utf-8")
            let slow = TestHTTP.get("http://127.0.0.1:\(port)/slow")
            #expect(slow.status == 200)
            #expect(slow.text == "done\n")
        }
    }

    /// In a service group the server stops on its graceful shutdown: the request in flight
    /// gets its answer, then `run()` returns (no cancellation needed).
    @Test func gracefulShutdownLetsTheRequestInFlightFinish() async throws {
        let started = WakeSignal(), release = WakeSignal()
        let routes = [
            Route(["GET"], "/held", handler: .async { _ in
                started.signal()
                await release.wait()
                return .text("done\n")
            })
        ]
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let server = HTTPServer(
            settings: ServerSettings(host: "127.0.0.1", port: 0), router: Router(routes), logger: Logger(label: "test"), group: group)
        let port = try await server.bind()
        try await testGracefulShutdown { trigger in
            let running = Task { try await server.run() }
            let held = Task { await onOwnThread { TestHTTP.get("http://127.0.0.1:\(port)/held", timeout: 10) } }
            await started.wait()
            trigger.triggerGracefulShutdown()
            release.signal()
            try await running.value
            let r = await held.value
            #expect(r.status == 200)
            #expect(r.text == "done\n")
        }
        try await group.shutdownGracefully()
    }

    @Test func unknownPathIs404AndWrongMethodIs405() async throws {
        try await withServer(Self.routes) { port, _ in
            #expect(TestHTTP.get("http://127.0.0.1:\(port)/nope").status == 404)
            let r = TestHTTP.request("DELETE", "http://127.0.0.1:\(port)/hello")
            #expect(r.status == 405)
            #expect(r.header("Allow") == "GET")
        }
    }

    @Test func headAnswersWithoutBody() async throws {
        try await withServer(Self.routes) { port, _ in
            let fd = rawConnect(port)
            defer { close(fd) }
            rawWrite(fd, "HEAD /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            let (text, closed) = rawReadAll(fd, timeout: 5)
            #expect(text.hasPrefix("HTTP/1.1 200 OK"))
            #expect(text.contains("Content-Length: 13"))  // "hello nobody\n"
            #expect(text.hasSuffix("\r\n\r\n"))
            #expect(closed)
        }
    }

    @Test func bodiesOnlyWhereAccepted() async throws {
        try await withServer(Self.routes) { port, _ in
            let ok = TestHTTP.post("http://127.0.0.1:\(port)/reload", body: Array("abc".utf8))
            #expect(ok.status == 200)
            #expect(ok.text == "got 3 bytes\n")
            let refused = TestHTTP.request("GET", "http://127.0.0.1:\(port)/hello", body: Array("x".utf8))
            #expect(refused.status == 400)
        } 
    }

    @Test func oversizedBodyIs413() async throws {
        try await withServer(Self.routes, configure: { $0.maxBodyBytes = 1000 }) { port, _ in
            let r = TestHTTP.post("http://127.0.0.1:\(port)/reload", body: [UInt8](repeating: 65, count: 5000))
            #expect(r.status == 413)
        }
    }

    @Test func oversizedHeadersAreRefused() async throws {
        try await withServer(Self.routes, configure: { $0.maxHeaderBytes = 1024 }) { port, _ in
            let r = TestHTTP.get(
                "http://127.0.0.1:\(port)/hello", headers: ["X-Big: " + String(repeating: "a", count: 4000)])
            #expect(r.status == 431 || r.status == 400 || r.error != nil)
            #expect(r.status != 200)
        }
    }

    @Test func keepAliveServesSeveralRequestsOnOneConnection() async throws {
        try await withServer(Self.routes) { port, _ in
            let fd = rawConnect(port)
            defer { close(fd) }
            rawWrite(fd, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\nGET /hello?name=b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            let (text, closed) = rawReadAll(fd, timeout: 5)
            #expect(text.components("HTTP/1.1 200 OK") == 2)
            #expect(text.contains("hello nobody\n"))
            #expect(text.contains("hello b\n"))
            #expect(closed)
        }
    }

    @Test func aNewConnectionBeyondTheLimitClosesTheLongestIdleOne() async throws {
        // Generous waits: the rest of the suite shares the machine; none of them bounds a time.
        try await withServer(Self.routes, configure: { $0.maxConnections = 2 }) { port, server in
            let a = rawConnect(port)
            #expect(await waitUntil(timeout: .seconds(30)) { server.connectionCount == 1 })
            let b = rawConnect(port)
            defer {
                close(a)
                close(b)
            }
            #expect(await waitUntil(timeout: .seconds(30)) { server.connectionCount == 2 })
            let c = rawConnect(port)
            defer { close(c) }
            // The newcomer is served; the connection idle longest (a) made room for it.
            rawWrite(c, "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            let (answerC, (text, closed), answerB) = await onOwnThread {
                let c = rawReadAll(c, timeout: 20).text
                let a = rawReadAll(a, timeout: 20)
                rawWrite(b, "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                return (c, a, rawReadAll(b, timeout: 20).text)
            }
            #expect(answerC.hasPrefix("HTTP/1.1 200 OK"))
            #expect(closed)
            #expect(text.isEmpty)
            #expect(answerB.hasPrefix("HTTP/1.1 200 OK"))
        }
    }

    @Test func busyConnectionsAreNotClosedForNewOnes() async throws {
        let routes = [
            Route(["GET"], "/wait", handler: .async { _ in
                try? await Task.sleep(for: .milliseconds(1500))
                return .text("waited\n")
            })
        ]
        try await withServer(routes, configure: { $0.maxConnections = 1 }) { port, server in
            let a = rawConnect(port)
            defer { close(a) }
            rawWrite(a, "GET /wait HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            #expect(await waitUntil(timeout: .seconds(5)) { server.connectionCount == 1 })
            try await Task.sleep(for: .milliseconds(200))
            let b = rawConnect(port)
            defer { close(b) }
            let (refused, answer) = await onOwnThread { (rawReadAll(b, timeout: 3).closed, rawReadAll(a, timeout: 5).text) }
            #expect(refused)  // every connection is answering: the newcomer is closed
            #expect(answer.hasSuffix("waited\n"))
        }
    }

    @Test func authorizationGuardsAllButPublicRoutes() async throws {
        try await withServer(Self.routes, configure: { settings in
            settings.authorize = { req in
                req.header("Authorization") == "Bearer secret" ? .allowed : .refused(HTTPResponse.text("Unauthorized\n", status: 401))
            }
        }) { port, _ in
            #expect(TestHTTP.get("http://127.0.0.1:\(port)/hello").status == 401)
            #expect(TestHTTP.get("http://127.0.0.1:\(port)/hello", headers: ["Authorization: Bearer secret"]).status == 200)
            #expect(TestHTTP.get("http://127.0.0.1:\(port)/public").status == 200)
        }
    }

    @Test func parsesQueryStrings() {
        let r = HTTPRequest(method: "GET", uri: "/p?seconds=5&type=block&x=a%2Fb+c&flag")
        #expect(r.path == "/p")
        #expect(r.queryValue("seconds") == "5")
        #expect(r.queryValue("type") == "block")
        #expect(r.queryValue("x") == "a/b c")
        #expect(r.queryValue("flag") == "")
        #expect(r.queryValue("missing") == nil)
    }
}

extension String {
    func components(_ separator: String) -> Int {
        var count = 0
        var rest = self[...]
        while let r = rest.firstRange(of: separator) {
            count += 1
            rest = rest[r.upperBound...]
        }
        return count
    }
}

@Suite struct ServerTimingTests {
    @Test func slowClientIsCutOff() async throws {
        try await withServer(HTTPServerTests.routes, configure: { $0.requestReadTimeout = .milliseconds(300) }) { port, _ in
            let fd = rawConnect(port)
            defer { close(fd) }
            rawWrite(fd, "GET /hel")  // and never the rest
            let (_, closed) = rawReadAll(fd, timeout: 3)
            #expect(closed)
        }
    }

    /// A response that takes longer than the idle timeout (a long profile) is still delivered;
    /// the connection is closed only after it has been idle that long.
    @Test func slowResponsesAreNotIdleTime() async throws {
        let routes = [
            Route(["GET"], "/long", handler: .async { _ in
                try? await Task.sleep(for: .milliseconds(800))
                return .text("finally\n")
            })
        ]
        try await withServer(routes, configure: { $0.idleTimeout = .milliseconds(300) }) { port, _ in
            let fd = rawConnect(port)
            defer { close(fd) }
            rawWrite(fd, "GET /long HTTP/1.1\r\nHost: x\r\n\r\n")
            let (text, closed) = await onOwnThread { rawReadAll(fd, timeout: 3) }
            #expect(text.hasPrefix("HTTP/1.1 200 OK"))
            #expect(text.hasSuffix("finally\n"))
            #expect(closed)  // idle for 300 ms after the answer
        }
    }
}
