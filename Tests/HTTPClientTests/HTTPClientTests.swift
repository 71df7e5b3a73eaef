import Config
import LookoutCore
import Testing
import TestSupport

@testable import HTTPClient

/// The client against a real local server: every failure mode gives the right error
/// kind and honest timings. Cases run concurrently within a test to keep the suite short.
@Suite(.serialized) struct HTTPClientTimingTests {
    @Test func fastGetHasStatusBodyHeadersAndTimings() async throws {
        let server = try TestServer()
        let client = HTTPClient()
        defer { client.shutdown() }
        let r = await client.execute(HTTPClientRequest(url: server.url("/ok")))
        #expect(r.error == nil)
        #expect(r.status == 200)
        #expect(String(decoding: r.body, as: UTF8.self) == "ok")
        #expect(r.contentType == "text/plain; charset=utf-8")
        #expect(r.timings.total > 0 && r.timings.total < 1)
        let t = r.timings
        let sum = t.resolve + t.connect + t.tls + t.processing + t.transfer
        #expect(abs(sum - t.total) < 1e-5)
        let seen = server.received("/ok")
        #expect(seen.count == 1)
        #expect(seen.first?.headers["User-Agent"] == LookoutVersion.userAgent)
        #expect(seen.first?.headers["Accept-Encoding"]?.contains("gzip") == true)
    }

    @Test func postSendsBodyAndHeaders() async throws {
        let server = try TestServer()
        let client = HTTPClient()
        defer { client.shutdown() }
        server.set("/hook", status: 202, body: "accepted")
        // Larger than libcurl's `Expect: 100-continue` threshold, with a NUL inside.
        let payload = Array("{\"alerts\":[\"".utf8) + [UInt8](repeating: UInt8(ascii: "a"), count: 3000) + Array("\"]}".utf8)
        let r = await client.execute(
            HTTPClientRequest(
                method: .post, url: server.url("/hook"),
                headers: [HTTPHeader("Content-Type", "application/json"), HTTPHeader("X-Lookout-Signature", "sha256=ab")],
                body: payload))
        #expect(r.error == nil)
        #expect(r.status == 202)
        #expect(r.timings.total < 0.9, "waited for 100-continue: \(r.timings.total)")
        let seen = try #require(server.received("/hook").first)
        #expect(seen.method == "POST")
        #expect(seen.body == String(decoding: payload, as: UTF8.self))
        #expect(seen.headers["Content-Type"] == "application/json")
        #expect(seen.headers["X-Lookout-Signature"] == "sha256=ab")
        #expect(seen.headers["Expect"] == nil)
    }

    @Test func basicAuthAndRedirects() async throws {
        let server = try TestServer()
        let client = HTTPClient()
        defer { client.shutdown() }
        server.set("/moved", status: 302, body: "", headers: ["Location": "/ok"])
        async let notFollowed = client.execute(HTTPClientRequest(url: server.url("/moved")))
        async let followed = client.execute(HTTPClientRequest(url: server.url("/moved"), followRedirects: true))
        async let authed = client.execute(
            HTTPClientRequest(url: server.url("/auth"), basicAuth: BasicAuth(username: "u", password: Secret("p w"))))
        let (a, b, c) = await (notFollowed, followed, authed)
        #expect(a.status == 302)
        #expect(a.header("location") == "/ok")
        #expect(b.status == 200)
        #expect(String(decoding: b.body, as: UTF8.self) == "ok")
        #expect(c.status == 404)
        // base64("u:p w")
        #expect(server.received("/auth").first?.headers["Authorization"] == "Basic dTpwIHc=")
    }

    @Test func failureKinds() async throws {
        let server = try TestServer()
        let client = HTTPClient()
        defer { client.shutdown() }
        let refusedPort = Net.freePort()
        func get(_ url: String, timeout: Duration = .seconds(5), limit: Int = 10 << 20) async -> HTTPResult {
            await client.execute(HTTPClientRequest(url: url, timeout: timeout, bodyLimit: limit))
        }
        async let status500 = get(server.url("/status/500"))
        async let garbage = get(server.url("/garbage"))
        async let reset = get(server.url("/reset"))
        async let refused = get("http://127.0.0.1:\(refusedPort)/")
        async let dns = get("http://nonexistent.invalid/")
        async let big = get(server.url("/big/52428800"), limit: 10 << 20)
        async let tls = get("https://127.0.0.1:\(server.port)/ok")
        let results = await (status500, garbage, reset, refused, dns, big, tls)

        #expect(results.0.error == nil)
        #expect(results.0.status == 500)

        #expect(results.1.error?.kind == .other, "\(String(describing: results.1.error))")
        #expect(results.2.error?.kind == .other, "\(String(describing: results.2.error))")
        #expect(results.2.status == 200)

        #expect(results.3.error?.kind == .connect, "\(String(describing: results.3.error))")
        #expect(results.3.error?.message.contains("\(refusedPort)") == true)
        #expect(results.3.reusedConnection == false)

        #expect(results.4.error?.kind == .dns, "\(String(describing: results.4.error))")
        #expect(results.4.error?.message.contains("nonexistent.invalid") == true)

        #expect(results.5.error?.kind == .limit, "\(String(describing: results.5.error))")
        #expect(results.5.body.count <= 10 << 20)
        #expect(results.5.wireBytes < 52_428_800)

        #expect(results.6.error?.kind == .tls, "\(String(describing: results.6.error))")
    }

    @Test func slowHangingAndTrickle() async throws {
        let server = try TestServer()
        let client = HTTPClient()
        defer { client.shutdown() }
        let start = SystemClock().now
        async let slow = client.execute(HTTPClientRequest(url: server.url("/delay/3"), timeout: .seconds(5)))
        async let hang = client.execute(HTTPClientRequest(url: server.url("/hang"), timeout: .seconds(1)))
        async let trickle = client.execute(HTTPClientRequest(url: server.url("/trickle/10"), timeout: .milliseconds(2500)))
        let h = await hang
        let hangWall = (SystemClock().now - start).seconds
        let (s, t) = await (slow, trickle)

        #expect(s.error == nil)
        #expect(s.status == 200)
        #expect(abs(s.timings.total - 3) < 0.3, "slow total \(s.timings.total)")
        #expect(abs(s.timings.processing - 3) < 0.3, "slow processing \(s.timings.processing)")

        #expect(h.error?.kind == .timeout, "\(String(describing: h.error))")
        #expect(h.status == 0)
        #expect(abs(h.timings.total - 1) < 0.1, "hang cut at \(h.timings.total)")
        // The wall time includes the test process' scheduling; libcurl's own total is the measure.
        #expect(hangWall < 4, "hang returned after \(hangWall) s")

        #expect(t.error?.kind == .timeout)
        #expect(t.status == 200)
        #expect(abs(t.timings.total - 2.5) < 0.1, "trickle cut at \(t.timings.total)")
        #expect(t.timings.transfer > 1.5, "trickle transfer \(t.timings.transfer)")
        #expect(t.body.count >= 2 && t.body.count <= 4)
    }

    @Test func gzipBombIsCutAtTheLimit() async throws {
        let server = try TestServer()
        let client = HTTPClient()
        defer { client.shutdown() }
        // Warm the server's cache of the compressed body so the request measures the client.
        let warm = await client.execute(HTTPClientRequest(url: server.url("/gzipbomb/256"), bodyLimit: 1 << 30, acceptCompressed: false))
        let compressedSize = warm.body.count
        #expect(compressedSize > 0 && compressedSize < 2 << 20)

        let r = await client.execute(HTTPClientRequest(url: server.url("/gzipbomb/256"), bodyLimit: 1 << 20))
        #expect(r.error?.kind == .limit, "\(String(describing: r.error))")
        #expect(r.body.count <= 1 << 20)
        #expect(r.body.count > (1 << 20) - 64 << 10)
        #expect(r.body.allSatisfy { $0 == 0 })
        // Stopped long before the whole compressed body (which inflates to 256 MiB) arrived.
        #expect(r.wireBytes < compressedSize / 2, "read \(r.wireBytes) of \(compressedSize) compressed bytes")

        let small = await client.execute(HTTPClientRequest(url: server.url("/gzipbomb/2"), bodyLimit: 4 << 20))
        #expect(small.error == nil)
        #expect(small.body.count == 2 << 20)
    }

    @Test func keepAliveReusesTheConnection() async throws {
        let server = try TestServer()
        let client = HTTPClient()
        defer { client.shutdown() }
        let first = await client.execute(HTTPClientRequest(url: server.url("/ok")))
        let second = await client.execute(HTTPClientRequest(url: server.url("/status/204")))
        #expect(first.error == nil && second.error == nil)
        #expect(first.reusedConnection == false)
        #expect(second.reusedConnection == true)
        #expect(second.timings.connect == 0)
        #expect(second.timings.resolve < 0.01)
    }

    @Test func tlsHandshakeIsTimedAndTheConnectionReused() async throws {
        let server = try await TLSTestServer()
        let cert = server.certFile
        let client = HTTPClient()
        defer { client.shutdown() }
        let url = server.url("/ok")
        let first = await client.execute(HTTPClientRequest(url: url, tls: TLSClientConfig(caFile: cert)))
        #expect(first.error == nil, "\(String(describing: first.error))")
        #expect(first.status == 200)
        #expect(first.timings.tls > 0)
        #expect(!first.reusedConnection)
        let second = await client.execute(HTTPClientRequest(url: url, tls: TLSClientConfig(caFile: cert)))
        #expect(second.status == 200)
        #expect(second.reusedConnection)
        #expect(second.timings.tls == 0 && second.timings.connect == 0)

        let untrusted = await client.execute(HTTPClientRequest(url: url))
        #expect(untrusted.error?.kind == .tls, "\(String(describing: untrusted.error))")
        let insecure = await client.execute(HTTPClientRequest(url: url, tls: TLSClientConfig(insecureSkipVerify: true)))
        #expect(insecure.status == 200)
    }

    @Test func cancellationAbortsTheTransfer() async throws {
        let server = try TestServer()
        let client = HTTPClient()
        defer { client.shutdown() }
        let start = SystemClock().now
        let task = Task { await client.execute(HTTPClientRequest(url: server.url("/hang"), timeout: .seconds(30))) }
        try await Task.sleep(for: .milliseconds(200))
        task.cancel()
        let r = await task.value
        #expect(r.error?.kind == .cancelled)
        #expect((SystemClock().now - start).seconds < 5)

        // Cancelled before it starts.
        let pre = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return await client.execute(HTTPClientRequest(url: server.url("/hang"), timeout: .seconds(30)))
        }
        #expect(await pre.value.error?.kind == .cancelled)

        // The client still works afterwards.
        #expect(await client.execute(HTTPClientRequest(url: server.url("/ok"))).status == 200)
    }

    @Test func shutdownFailsRunningAndLaterRequests() async throws {
        let server = try TestServer()
        let client = HTTPClient()
        let running = Task { await client.execute(HTTPClientRequest(url: server.url("/hang"), timeout: .seconds(30))) }
        #expect(await waitUntil { server.received("/hang").count == 1 })
        client.shutdown()
        #expect(await running.value.error?.kind == .cancelled)
        #expect(await client.execute(HTTPClientRequest(url: server.url("/ok"))).error?.kind == .cancelled)
        client.shutdown()

        let unused = HTTPClient()
        unused.shutdown()
    }
}
