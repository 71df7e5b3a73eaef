import LookoutCore
import TestSupport
import Testing
import Synchronization

@testable import Server

#if canImport(Glibc)
import Glibc
#endif

@Suite struct ServerHardeningTests {
    @Test func aClientThatPipelinesWithoutReadingGetsOneResponseAtATime() async throws {
        let calls = Atomic<Int>(0)
        let body = [UInt8](repeating: 65, count: 64 << 10)
        let routes = [
            Route(["GET"], "/big", handler: .offloaded { _ in
                calls.wrappingAdd(1, ordering: .relaxed)
                return HTTPResponse(status: 200, body: body)
            })
        ]
        try await withServer(routes) { port, server in
            let fd = rawConnect(port)
            let sent = await onOwnThread {
                var small: Int32 = 4096
                setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
                var sent = 0
                for _ in 0..<50 {
                    sent += rawWritePipelined(fd, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n", max: 20_000 - sent)
                    usleep(20_000)
                }
                usleep(500_000)
                return sent
            }
            let answered = calls.load(ordering: .relaxed)
            // Hundreds of requests sent; only as many answered as the socket buffers hold (a few MiB).
            #expect(sent >= 500)
            #expect(answered < 100, "\(answered) responses made for \(sent) requests")
            close(fd)
            #expect(await waitUntil(timeout: .seconds(5)) { server.connectionCount == 0 })
        }
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
        // A slow answer from the worker thread among quick ones from the event loop.
        let routes = HTTPServerTests.routes.filter { $0.path != "/slow" } + [
            Route(["GET"], "/slow", handler: .offloaded { _ in
                usleep(200_000)
                return .text("done\n")
            })
        ]
        try await withServer(routes) { port, _ in
            let fd = rawConnect(port)
            defer { close(fd) }
            var text = ""
            for i in 0..<50 { text += "GET /hello?name=\(i) HTTP/1.1\r\nHost: x\r\n\r\n" }
            text += "GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /hello?name=last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            rawWrite(fd, text)
            let (answer, closed) = await onOwnThread { rawReadAll(fd, timeout: 30) }
            #expect(closed)
            #expect(answer.components("HTTP/1.1 200 OK") == 52)
            var expected: [String] = (0..<50).map { "hello \($0)\n" }
            expected += ["done\n", "hello last\n"]
            var rest = answer[...]
            for e in expected {
                guard let r = rest.firstRange(of: e) else {
                    Issue.record("missing or out of order: \(e)")
                    break
                }
                rest = rest[r.upperBound...]
            }
        }
    }

    @Test func http11WithoutHostIs400() async throws {
        try await withServer(HTTPServerTests.routes) { port, _ in
            let fd = rawConnect(port)
            defer { close(fd) }
            rawWrite(fd, "GET /hello HTTP/1.1\r\n\r\n")
            let (text, closed) = await onOwnThread { rawReadAll(fd, timeout: 30) }
            #expect(text.hasPrefix("HTTP/1.1 400 Bad Request"))
            #expect(text.contains("missing required Host header"))
            #expect(closed)
            // HTTP/1.0 has no Host requirement.
            let old = rawConnect(port)
            defer { close(old) }
            rawWrite(old, "GET /hello HTTP/1.0\r\n\r\n")
            #expect(await onOwnThread { rawReadAll(old, timeout: 5) }.text.hasPrefix("HTTP/1.1 200 OK"))
        }
    }

    @Test func unauthenticatedClientsCannotMapTheRoutes() async throws {
        let hash = bcrypt("pw")
        let web = try WebConfig.parse("basic_auth_users:\n  admin: \(hash)\n", file: "web.yml")
        try await withServer(HTTPServerTests.routes, configure: { $0.authorize = web.authorizer() }) { port, _ in
            let base = "http://127.0.0.1:\(port)"
            let basic = Base64.encode(Array("admin:pw".utf8))
            // (method, path, Authorization) → status, Allow header
            let cases: [(String, String, String?, Int)] = [
                // Unknown path, wrong method and real route all look the same without credentials.
                ("GET", "/nope", nil, 401), ("DELETE", "/hello", nil, 401), ("GET", "/hello", nil, 401),
                ("GET", "/nope", "Basic " + basic, 404), ("DELETE", "/hello", "Basic " + basic, 405),
                ("GET", "/hello", "Basic " + basic, 200),
                // The scheme is case-insensitive (RFC 9110 11.1).
                ("GET", "/hello", "basic " + basic, 200), ("GET", "/hello", "BASIC   " + basic, 200),
                // Public routes stay public.
                ("GET", "/public", nil, 200),
            ]
            let answers = await onOwnThread {
                cases.map { c in
                    let r = TestHTTP.request(c.0, base + c.1, headers: c.2.map { ["Authorization: " + $0] } ?? [])
                    return (r.status, r.header("Allow"))
                }
            }
            for (c, answer) in zip(cases, answers) {
                #expect(answer.0 == c.3, "\(c.0) \(c.1) \(c.2 ?? "")")
                if c.2 == nil { #expect(answer.1 == nil) }
            }
        }
    }

    @Test func anAsyncHandlerIsCancelledWhenItsClientLeaves() async throws {
        let cancelled = Atomic<Int>(0)
        let routes = [
            Route(["GET"], "/record", handler: .async { _ in
                do {
                    try await Task.sleep(for: .seconds(30))
                } catch {
                    cancelled.wrappingAdd(1, ordering: .relaxed)
                }
                return .text("late\n")
            })
        ]
        try await withServer(routes) { port, server in
            let fd = rawConnect(port)
            rawWrite(fd, "GET /record HTTP/1.1\r\nHost: x\r\n\r\n")
            try await Task.sleep(for: .milliseconds(200))
            close(fd)
            #expect(await waitUntil(timeout: .seconds(5)) { cancelled.load(ordering: .relaxed) == 1 })
            #expect(await waitUntil(timeout: .seconds(5)) { server.connectionCount == 0 })
        }
    }

    @Test func passwordChecksRunOffTheEventLoop() async throws {
        let routes = HTTPServerTests.routes
        try await withServer(routes, configure: { s in
            s.authorize = { _ in
                .check {
                    usleep(300_000)
                    return HTTPResponse.text("no\n", status: 401)
                }
            }
        }) { port, _ in
            let fds = (0..<4).map { _ in rawConnect(port) }
            defer { for fd in fds { close(fd) } }
            for fd in fds { rawWrite(fd, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n") }
            // Four checks of 300 ms queue on the authentication thread; the event loop answers meanwhile.
            let (status, pending, last) = await onOwnThread {
                let r = TestHTTP.get("http://127.0.0.1:\(port)/public", timeout: 5)
                let pending = fds.filter { rawReadAll($0, timeout: 0.05).text.isEmpty }.count
                return (r.status, pending, rawReadAll(fds[3], timeout: 5).text)
            }
            #expect(status == 200)
            #expect(pending >= 2)
            #expect(last.hasPrefix("HTTP/1.1 401"))
        }
    }

    @Test func tooManyWaitingPasswordChecksAre503() async throws {
        try await withServer(HTTPServerTests.routes, configure: { s in
            s.maxPendingAuthChecks = 1
            s.authorize = { _ in
                .check {
                    usleep(500_000)
                    return nil
                }
            }
        }) { port, _ in
            let first = rawConnect(port)
            defer { close(first) }
            rawWrite(first, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            let (second, firstAnswer) = await onOwnThread {
                usleep(100_000)
                return (TestHTTP.get("http://127.0.0.1:\(port)/hello", timeout: 5), rawReadAll(first, timeout: 5).text)
            }
            #expect(second.status == 503)
            #expect(second.header("Retry-After") == "1")
            #expect(firstAnswer.hasPrefix("HTTP/1.1 200 OK"))
        }
    }
}

@Suite struct AuthenticatorTests {
    final class ManualClock: AgentClock, @unchecked Sendable {
        var now = MonotonicInstant(nanoseconds: 1_000_000_000)
        var wallNow: WallTime { WallTime(nanosecondsSinceEpoch: now.nanoseconds) }
        func sleep(until deadline: MonotonicInstant) async throws {}
    }

    func request(_ auth: String?, from ip: String = "10.0.0.1", path: String = "/metrics") -> HTTPRequest {
        var r = HTTPRequest(method: "GET", uri: path, headers: auth.map { [("Authorization", $0)] } ?? [])
        r.remoteIP = ip
        return r
    }

    func basic(_ user: String, _ password: String) -> String { "Basic " + Base64.encode(Array("\(user):\(password)".utf8)) }

    @Test func verifiedPasswordsAreCachedAndNeedNoHashAgain() {
        let a = Authenticator(users: ["alice": bcrypt("right")], tokens: [])
        guard case .check(let check) = a.decide(request(basic("alice", "right"))) else {
            Issue.record("first use needs a check")
            return
        }
        #expect(check() == nil)
        guard case .allowed = a.decide(request(basic("alice", "right"))) else {
            Issue.record("second use comes from the cache")
            return
        }
        // A different password for the same user is checked again (and fails).
        #expect(a.decide(request(basic("alice", "wrong"))).resolved?.status == 401)
    }

    @Test func failuresAreLimitedPerClient() {
        let clock = ManualClock()
        let a = Authenticator(
            users: ["alice": bcrypt("right")], tokens: [], clock: clock,
            limiter: FailureLimiter(burst: 3, refill: .seconds(2)))
        for _ in 0..<3 { #expect(a.decide(request(basic("alice", "wrong"))).resolved?.status == 401) }
        // The fourth failure in a row is refused without a hash being computed.
        guard case .refused(let r) = a.decide(request(basic("alice", "wrong"))) else {
            Issue.record("expected an immediate refusal")
            return
        }
        #expect(r.status == 429)
        #expect(r.headers.contains { $0.name == "Retry-After" })
        // Other clients are not affected, and known good pairs still pass.
        #expect(a.decide(request(basic("alice", "right"), from: "10.0.0.2")).resolved == nil)
        guard case .allowed = a.decide(request(basic("alice", "right"))) else {
            Issue.record("a cached pair passes even for a limited client")
            return
        }
        // One token back after `refill`.
        clock.now = clock.now + .seconds(2)
        #expect(a.decide(request(basic("alice", "wrong"))).resolved?.status == 401)
        #expect(a.decide(request(basic("alice", "wrong"))).resolved?.status == 429)
    }

    @Test func successesDoNotUseUpTheBudget() {
        let a = Authenticator(
            users: ["alice": bcrypt("right"), "bob": bcrypt("b")], tokens: [], limiter: FailureLimiter(burst: 1))
        #expect(a.decide(request(basic("alice", "right"))).resolved == nil)
        #expect(a.decide(request(basic("bob", "b"))).resolved == nil)
        #expect(a.decide(request(basic("bob", "x"))).resolved?.status == 401)
        #expect(a.decide(request(basic("bob", "y"))).resolved?.status == 429)
    }

    @Test func schemesAreCaseInsensitive() {
        let a = Authenticator(users: ["alice": bcrypt("pw")], tokens: [Array("tok".utf8)])
        for header in ["basic " + Base64.encode(Array("alice:pw".utf8)), "BASIC " + Base64.encode(Array("alice:pw".utf8))] {
            #expect(a.decide(request(header)).resolved == nil)
        }
        for header in ["bearer tok", "BEARER tok", "Bearer  tok"] {
            #expect(a.decide(request(header)).resolved == nil)
        }
        for header in ["Basic", "Bearer ", "Digest abc", "tok"] {
            #expect(a.decide(request(header)).resolved?.status == 401)
        }
    }

    @Test func theLimiterForgetsClientsWhenFull() {
        var limiter = FailureLimiter(burst: 1, refill: .seconds(100), maxClients: 4)
        let t = MonotonicInstant(nanoseconds: 0)
        var taken = 0
        for i in 0..<50 where limiter.take("10.0.0.\(i)", now: t) { taken += 1 }
        #expect(taken == 50)
        // Recent clients are remembered.
        let again = limiter.take("10.0.0.49", now: t)
        #expect(!again)
    }
}

@Suite struct TLSServerConfigTests {
    /// One certificate for every case, made off Swift's cooperative pool (openssl takes a while under load).
    static func certificate() async throws -> (cert: String, key: String) {
        let made = await onOwnThread { () -> (String, String)? in
            shared.withLock { pair in
                if pair == nil { pair = try? TLSTests.makeCertificate(in: directory) }
                return pair
            }
        }
        return try #require(made)
    }

    nonisolated(unsafe) static let directory = TemporaryDirectory()
    static let shared = Mutex<(String, String)?>(nil)

    @Test func parsesExporterToolkitKeys() async throws {
        let (cert, key) = try await Self.certificate()
        let web = try WebConfig.parse(
            """
            tls_server_config:
              cert_file: \(cert)
              key_file: \(key)
              client_auth_type: RequireClientCert
              client_ca_file: \(cert)
              min_version: TLS12
              max_version: TLS12
              cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_RSA_WITH_AES_128_CBC_SHA]
              curve_preferences: [CurveP384, X25519]
              prefer_server_cipher_suites: true
            """, file: "web.yml")
        let tls = try #require(web.tls)
        #expect(tls.clientAuthType == "RequireAnyClientCert")
        #expect(tls.maxVersion == "TLS12")
        #expect(tls.cipherSuites == ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_RSA_WITH_AES_128_CBC_SHA"])
        #expect(tls.curvePreferences == ["CurveP384", "X25519"])
        let server = try #require(try web.tlsContext())
        #expect(server.acceptsAnyClientCertificate)
        #expect(server.context.configuration.maximumTLSVersion == .tlsv12)
        #expect(server.context.configuration.curves == [.secp384r1, .x25519])
    }

    @Test func defaultOffersOnlyForwardSecretSuites() async throws {
        let (cert, key) = try await Self.certificate()
        let web = try WebConfig.parse("tls_server_config:\n  cert_file: \(cert)\n  key_file: \(key)\n", file: "web.yml")
        let server = try #require(try web.tlsContext())
        let suites = server.context.configuration.cipherSuiteValues
        #expect(!suites.isEmpty)
        #expect(suites.allSatisfy { ServerTLS.forwardSecretSuites.contains($0) })
        #expect(!suites.contains(.TLS_RSA_WITH_AES_128_CBC_SHA))
    }

    @Test(arguments: [
        ("  min_version: TLS14\n", "web.yml:4:16: tls_server_config.min_version must be one of TLS10, TLS11, TLS12, TLS13, found \"TLS14\""),
        ("  min_version: TLS13\n  max_version: TLS12\n", "web.yml:2:3: tls_server_config.min_version TLS13 is above max_version TLS12"),
        ("  cipher_suites: [AES128-SHA]\n", "web.yml:4:18: tls_server_config.cipher_suites: unknown cipher suite \"AES128-SHA\""),
        ("  cipher_suites: [TLS_AES_128_GCM_SHA256]\n", "web.yml:4:18: tls_server_config.cipher_suites names no TLS 1.2 suite (TLS 1.3 suites are not configurable); set min_version: TLS13 or name TLS 1.2 suites"),
        ("  curve_preferences: [P256]\n", "web.yml:4:22: tls_server_config.curve_preferences must name curves among CurveP256, CurveP384, CurveP521, X25519, found \"P256\""),
        ("  client_auth_type: Sometimes\n", "web.yml:4:21: tls_server_config.client_auth_type must be one of NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert, found \"Sometimes\""),
        ("  client_ca_file: /etc/ca.crt\n", "web.yml:4:19: tls_server_config.client_ca_file is set but client_auth_type is NoClientCert: set a client_auth_type that asks for certificates"),
    ])
    func rejects(_ extra: String, _ expected: String) async throws {
        let (cert, key) = try await Self.certificate()
        let text = "tls_server_config:\n  cert_file: \(cert)\n  key_file: \(key)\n" + extra
        #expect {
            try WebConfig.parse(text, file: "web.yml")
        } throws: { error in
            let d = (error as? Diagnostics)?.items.map(\.description) ?? []
            let found = d.contains { $0.hasPrefix(expected) }
            if !found { Issue.record("got \(d)") }
            return found
        }
    }
}
