import LookoutCore
import TestSupport
import Testing

@testable import Server

extension AuthDecision {
    /// The answer, with a slow check run right here: nil lets the request through.
    var resolved: HTTPResponse? {
        switch self {
        case .allowed: nil
        case .refused(let r): r
        case .check(let check): check()
        }
    }
}

@Suite struct WebConfigTests {
    @Test func basicAuthWithBcryptHashes() async throws {
        let hash = bcrypt("s3cret")
        let web = try WebConfig.parse("basic_auth_users:\n  alice: \(hash)\nunauthenticated_paths: [/public]\n", file: "web.yml")
        let decide = try #require(web.authorizer())
        let authorize = { (r: HTTPRequest) in decide(r).resolved }
        func request(_ path: String, _ auth: String?) -> HTTPRequest {
            HTTPRequest(method: "GET", uri: path, headers: auth.map { [("Authorization", $0)] } ?? [])
        }
        let good = "Basic " + Base64.encode(Array("alice:s3cret".utf8))
        let wrongPassword = "Basic " + Base64.encode(Array("alice:guess".utf8))
        let unknownUser = "Basic " + Base64.encode(Array("bob:s3cret".utf8))
        #expect(authorize(request("/metrics", good)) == nil)
        #expect(authorize(request("/metrics", good)) == nil)  // second time from the cache
        #expect(authorize(request("/metrics", wrongPassword))?.status == 401)
        #expect(authorize(request("/metrics", unknownUser))?.status == 401)
        #expect(authorize(request("/metrics", nil))?.status == 401)
        #expect(authorize(request("/metrics", nil))?.headers.contains { $0.name == "WWW-Authenticate" } == true)
        #expect(authorize(request("/metrics", "Basic !!!"))?.status == 401)
        #expect(authorize(request("/public", nil)) == nil)
    }

    @Test func bearerTokensFromFiles() throws {
        let dir = TemporaryDirectory()
        let file = dir.write("token", "tok-123\n")
        let web = try WebConfig.parse("bearer_token_files: [\(file)]\n", file: "web.yml")
        let decide = try #require(web.authorizer())
        let authorize = { (r: HTTPRequest) in decide(r).resolved }
        #expect(authorize(HTTPRequest(method: "GET", uri: "/", headers: [("Authorization", "Bearer tok-123")])) == nil)
        #expect(authorize(HTTPRequest(method: "GET", uri: "/", headers: [("Authorization", "Bearer tok-12")]))?.status == 401)
    }

    @Test func noCredentialsMeansNoAuthorizer() throws {
        #expect(try WebConfig.parse("", file: "web.yml").authorizer() == nil)
    }

    @Test(arguments: [
        ("basic_auth_users:\n  alice: plaintext\n", "web.yml:2:3: basic_auth_users.alice: not a bcrypt hash"),
        ("basic_auth_user:\n  alice: x\n", "web.yml:1:1: unknown key \"basic_auth_user\" in web config (did you mean \"basic_auth_users\"?)"),
        ("tls_server_config:\n  cert_file: /nonexistent.crt\n", "web.yml:2:3: tls_server_config: missing required key \"key_file\""),
        ("bearer_token_files: [/nonexistent/token]\n", "web.yml:1:21: bearer_token_files: cannot read \"/nonexistent/token\""),
    ])
    func rejects(_ text: String, _ expected: String) {
        #expect {
            try WebConfig.parse(text, file: "web.yml")
        } throws: { error in
            let d = (error as? Diagnostics)?.items.map(\.description) ?? []
            if !d.contains(expected) { Issue.record("got \(d)") }
            return d.contains(expected)
        }
    }

    @Test func base64RoundTrips() {
        for s in ["", "a", "ab", "abc", "abcd", "user:pass wörd"] {
            #expect(Base64.decode(Base64.encode(Array(s.utf8))) == Array(s.utf8))
        }
        #expect(Base64.encode(Array("alice:s3cret".utf8)) == "YWxpY2U6czNjcmV0")
    }
}
