import CCurl
import LookoutCore
import NIOSSL
import TestSupport
import Testing

@testable import Server

@Suite struct TLSTests {
    /// A self-signed certificate for 127.0.0.1 made with openssl.
    static func makeCertificate(in dir: TemporaryDirectory) throws -> (cert: String, key: String) {
        let cert = dir.path + "/server.crt", key = dir.path + "/server.key"
        let (status, output) = Shell.run([
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=lookout-test",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", key, "-out", cert,
        ])
        try #require(status == 0, "openssl failed: \(output)")
        return (cert, key)
    }

    @Test func servesHTTPSWithTheConfiguredCertificateAndRequiresCredentials() async throws {
        let dir = TemporaryDirectory()
        let (cert, key) = try Self.makeCertificate(in: dir)
        let hash = bcrypt("pw")
        let web = try WebConfig.parse(
            "tls_server_config:\n  cert_file: \(cert)\n  key_file: \(key)\nbasic_auth_users:\n  admin: \(hash)\n", file: "web.yml")
        let routes = [Route(["GET"], "/metrics", handler: .sync { _ in .text("secret metrics\n") })]
        try await withServer(routes, configure: { s in
            s.tls = try? web.tlsContext()
            s.authorize = web.authorizer()
        }) { port, _ in
            let url = "https://127.0.0.1:\(port)/metrics"
            let trustOurCA: (UnsafeMutableRawPointer) -> Void = { h in _ = lookout_curl_easy_setopt_string(h, CURLOPT_CAINFO, cert) }
            // Verified against our certificate: the server presents exactly the configured one.
            let authed = TestHTTP.request("GET", url, headers: ["Authorization: Basic " + Base64.encode(Array("admin:pw".utf8))], extraOptions: trustOurCA)
            #expect(authed.error == nil)
            #expect(authed.status == 200)
            #expect(authed.text == "secret metrics\n")
            #expect(TestHTTP.request("GET", url, extraOptions: trustOurCA).status == 401)
            // Another CA does not verify it.
            let untrusted = TestHTTP.get(url)
            #expect(untrusted.error != nil)
            // Plain HTTP on the TLS port gets no HTTP answer.
            #expect(TestHTTP.get("http://127.0.0.1:\(port)/metrics", timeout: 3).status != 200)
        }
    }

    @Test func unreadableKeyIsAConfigurationError() throws {
        let dir = TemporaryDirectory()
        let (cert, _) = try Self.makeCertificate(in: dir)
        let bogus = dir.write("bogus.key", "not a key")
        let web = try WebConfig.parse("tls_server_config:\n  cert_file: \(cert)\n  key_file: \(bogus)\n", file: "web.yml")
        #expect(throws: Diagnostics.self) { try web.tlsContext() }
    }
}
