import Config
import HTTPClient
import LookoutCore
import Notify
import Testing
import TestSupport

/// The notifier's requests on the libcurl client carry the receiver's HTTP client config:
/// headers, TLS and redirects.
@Suite struct NotificationTransportTests {
    @Test func headersAndRedirectsAsConfigured() async throws {
        let server = try TestServer()
        server.set("/moved", status: 302, headers: ["Location": "/hook"])
        let client = HTTPClient()
        defer { client.shutdown() }
        let body = Array(#"{"alerts":[]}"#.utf8)
        let headers = [("Content-Type", "application/json"), ("X-Tenant", "blue")]

        var config = HTTPClientConfig(timeout: .seconds(5))
        let direct = await send(
            client, NotificationRequest(url: server.url("/hook"), headers: headers, body: body, client: config))
        #expect(direct == .status(404))
        let got = try #require(server.received("/hook").first)
        #expect(got.method == "POST" && got.body == #"{"alerts":[]}"#)
        #expect(got.headers["X-Tenant"] == "blue")

        let notFollowed = await send(
            client, NotificationRequest(url: server.url("/moved"), headers: headers, body: body, client: config))
        #expect(notFollowed == .status(302))
        #expect(server.received("/hook").count == 1)
        config.followRedirects = true
        let followed = await send(
            client, NotificationRequest(url: server.url("/moved"), headers: headers, body: body, client: config))
        #expect(followed == .status(404))
        #expect(server.received("/hook").count == 2)
    }

    @Test func tlsAsConfigured() async throws {
        let server = try await TLSTestServer()
        let client = HTTPClient()
        defer { client.shutdown() }
        func post(_ tls: TLSClientConfig?) async -> TransportOutcome {
            await send(
                client,
                NotificationRequest(
                    url: server.url("/ok"), headers: [], body: Array("{}".utf8),
                    client: HTTPClientConfig(tls: tls, timeout: .seconds(5))))
        }
        #expect(await post(TLSClientConfig(caFile: server.certFile)) == .status(200))
        let untrusted = await post(nil)
        guard case .failed(.other, _) = untrusted else {
            Issue.record("an unknown certificate must fail the request, got \(untrusted)")
            return
        }
        #expect(await post(TLSClientConfig(insecureSkipVerify: true)) == .status(200))
    }
}

/// One notification POST the way the notifier sends it.
private func send(_ client: HTTPClient, _ request: NotificationRequest) async -> TransportOutcome {
    TransportOutcome(await client.execute(request.httpRequest))
}
