import CCurl
import LookoutCore
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Users of the web configs below (bcrypt, cost 10, as `htpasswd -B` makes them).
enum WebUsers {
    static let alice = ("alice", "alice-pw", "$2b$10$Ihwd7JF6pSM8fnl5pwr9DOyoCNyc8fLaienMPdHa1MuSpLvm45nFO")
    static let bob = ("bob", "bob-pw", "$2b$10$ESk8GkkF5UauZpSyqxpMTezGGlpWZx1HDDt3T8m9Q2D.sbOT9cCUq")
    static let carol = ("carol", "carol-pw", "$2b$10$za9g2LbMdYswdanLIu.MSuYcBsp2Vhv63bc.uQfNeQVQNaarc0XGa")

    static func header(_ user: (String, String, String), password: String? = nil) -> String {
        "Authorization: Basic " + base64("\(user.0):\(password ?? user.1)")
    }

    static func config(_ users: [(String, String, String)], extra: String = "") -> String {
        "basic_auth_users:\n" + users.map { "  \($0.0): \"\($0.2)\"\n" }.joined() + extra
    }

    static func base64(_ s: String) -> String { DataHygieneTests.base64(s) }
}

/// Certificates for the TLS tests: a CA, a server certificate for 127.0.0.1, a client
/// certificate the CA signed and one it did not.
struct TestPKI {
    let dir = TemporaryDirectory(prefix: "lookout-pki")
    var path: String { dir.path }

    init() throws {
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        let steps: [[String]] = [
            ["openssl", "req", "-x509"] + ec + ["-days", "2", "-subj", "/CN=lookout-test-ca", "-keyout", "ca.key", "-out", "ca.crt"],
            ["openssl", "req", "-x509"] + ec + [
                "-days", "2", "-subj", "/CN=lookout-test-server", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout",
                "server.key", "-out", "server.crt",
            ],
            ["openssl", "req"] + ec + ["-subj", "/CN=client", "-keyout", "client.key", "-out", "client.csr"],
            [
                "openssl", "x509", "-req", "-in", "client.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                "-days", "2", "-out", "client.crt",
            ],
            ["openssl", "req", "-x509"] + ec + ["-days", "2", "-subj", "/CN=rogue", "-keyout", "rogue.key", "-out", "rogue.crt"],
        ]
        for step in steps {
            let (status, output) = Shell.run(["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", dir.path] + step)
            try #require(status == 0, "\(step.joined(separator: " ")): \(output)")
        }
    }

    /// Made off Swift's cooperative pool: openssl takes a while on a busy machine.
    static func make() async throws -> TestPKI {
        let pki = await onOwnThread { try? TestPKI() }
        return try #require(pki)
    }

    /// A request over HTTPS trusting the server certificate, with an optional client certificate.
    func get(_ url: String, client: String? = nil, ciphers: String? = nil, tlsMax12: Bool = false, curves: String? = nil, tls13Only: Bool = false)
        -> TestHTTP.Response
    {
        let dir = path
        return TestHTTP.request("GET", url, timeout: 10) { h in
            _ = lookout_curl_easy_setopt_string(h, CURLOPT_CAINFO, dir + "/server.crt")
            if let client {
                _ = lookout_curl_easy_setopt_string(h, CURLOPT_SSLCERT, dir + "/\(client).crt")
                _ = lookout_curl_easy_setopt_string(h, CURLOPT_SSLKEY, dir + "/\(client).key")
            }
            if let ciphers { _ = lookout_curl_easy_setopt_string(h, CURLOPT_SSL_CIPHER_LIST, ciphers) }
            if let curves { _ = lookout_curl_easy_setopt_string(h, CURLOPT_SSL_EC_CURVES, curves) }
            // CURL_SSLVERSION_TLSv1_2 (6) | CURL_SSLVERSION_MAX_TLSv1_2 (6 << 16); CURL_SSLVERSION_TLSv1_3 (7).
            if tlsMax12 { _ = lookout_curl_easy_setopt_long(h, CURLOPT_SSLVERSION, 6 | 6 << 16) }
            if tls13Only { _ = lookout_curl_easy_setopt_long(h, CURLOPT_SSLVERSION, 7) }
        }
    }

    func webConfig(_ extra: String) -> String {
        "tls_server_config:\n  cert_file: \(path)/server.crt\n  key_file: \(path)/server.key\n" + extra
    }

    /// Starts the agent serving HTTPS with this web config (`tls_server_config` plus `extra`);
    /// returns it and the URL of its `/-/healthy`.
    func startAgent(_ extra: String) throws -> (ChildProcess, String) {
        let port = Net.freePort()
        let web = dir.write("web-\(port).yml", webConfig(extra))
        let log = dir.path + "/agent-\(port).log"
        let agent = try ChildProcess(
            [LookoutBinary.path, "run", "--listen", "127.0.0.1:\(port)", "--web.config.file", web], stdout: log, stderr: log)
        return (agent, "https://127.0.0.1:\(port)/-/healthy")
    }
}

/// The attacks of a hostile client that need no stopwatch, against the agent binary.
@Suite struct HardeningTests {
    /// exporter-toolkit's (Go's) meanings: whether a certificate is asked for, required, verified.
    @Test func eachClientAuthTypeBehavesAsInExporterToolkit() async throws {
        let pki = try await TestPKI.make()
        // client_auth_type → (no certificate, a certificate the CA signed, a certificate it did not) served?
        let expectations: [(String, [Bool])] = [
            ("NoClientCert", [true, true, true]),
            ("RequestClientCert", [true, true, true]),
            ("RequireAnyClientCert", [false, true, true]),
            ("VerifyClientCertIfGiven", [true, true, false]),
            ("RequireAndVerifyClientCert", [false, true, false]),
        ]
        for (type, expected) in expectations {
            let ca = type == "NoClientCert" ? "" : "  client_ca_file: \(pki.path)/ca.crt\n"
            let (agent, url) = try pki.startAgent("  client_auth_type: \(type)\n" + ca)
            defer { agent.terminate(grace: .seconds(2)) }
            #expect(await waitUntil(timeout: .seconds(20)) { pki.get(url, client: "client").status == 200 }, "\(type)")
            let served = [nil, "client", "rogue"].map { pki.get(url, client: $0).status == 200 }
            #expect(served == expected, "\(type): no cert, signed, rogue → \(served)")
        }
    }

    @Test func tlsOffersOnlyForwardSecretSuitesUnlessConfigured() async throws {
        let pki = try await TestPKI.make()
        let (agent, url) = try pki.startAgent("")
        defer { agent.terminate(grace: .seconds(2)) }
        #expect(await waitUntil(timeout: .seconds(20)) { pki.get(url).status == 200 })
        // TLS 1.2 with a suite without forward secrecy: refused. With ECDHE: served.
        #expect(pki.get(url, ciphers: "AES128-SHA", tlsMax12: true).status == 0)
        #expect(pki.get(url, ciphers: "AES128-GCM-SHA256", tlsMax12: true).status == 0)
        #expect(pki.get(url, ciphers: "ECDHE-ECDSA-AES128-GCM-SHA256", tlsMax12: true).status == 200)

        // cipher_suites, max_version and curve_preferences as configured.
        let (agent2, url2) = try pki.startAgent(
            "  max_version: TLS12\n  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]\n  curve_preferences: [CurveP384]\n")
        defer { agent2.terminate(grace: .seconds(2)) }
        #expect(await waitUntil(timeout: .seconds(20)) { pki.get(url2).status == 200 })
        #expect(pki.get(url2, tls13Only: true).status == 0)
        #expect(pki.get(url2, ciphers: "ECDHE-ECDSA-AES128-GCM-SHA256").status == 0)
        #expect(pki.get(url2, ciphers: "ECDHE-ECDSA-AES256-GCM-SHA384").status == 200)
        // (P-256 is offered for the certificate's signature in both.)
        #expect(pki.get(url2, curves: "X25519:P-256").status == 0)
        #expect(pki.get(url2, curves: "P-384:P-256").status == 200)
    }

    @Test func aRemovedUserIsRefusedAfterSIGHUPAndABadWebConfigKeepsTheRunningOne() async throws {
        let dir = TemporaryDirectory(prefix: "lookout-web")
        let web = dir.write("web.yml", WebUsers.config([WebUsers.alice, WebUsers.bob]))
        let agent = try AgentProcess(
            config: nil, arguments: ["--web.config.file", web, "--web.enable-lifecycle"], healthHeaders: [WebUsers.header(WebUsers.alice)])
        #expect(agent.get("/metrics", headers: [WebUsers.header(WebUsers.alice)]).status == 200)
        #expect(agent.get("/metrics", headers: [WebUsers.header(WebUsers.carol)]).status == 401)

        // alice removed, carol added; SIGHUP.
        try FileIO.writeAtomically(web, Array(WebUsers.config([WebUsers.bob, WebUsers.carol]).utf8))
        agent.process.signal(SIGHUP)
        #expect(await waitUntil { agent.get("/metrics", headers: [WebUsers.header(WebUsers.alice)]).status == 401 }, "\(agent.log)")
        #expect(agent.get("/metrics", headers: [WebUsers.header(WebUsers.carol)]).status == 200)
        #expect(agent.get("/metrics", headers: [WebUsers.header(WebUsers.bob)]).status == 200)

        // A broken web config: reported, the running one kept.
        try FileIO.writeAtomically(web, Array("basic_auth_users:\n  carol: not-a-hash\n".utf8))
        agent.process.signal(SIGHUP)
        #expect(await waitUntil { agent.log.contains("reload failed, keeping the running web config") })
        #expect(agent.log.contains("web.yml:2:3: basic_auth_users.carol: not a bcrypt hash"))
        #expect(agent.get("/metrics", headers: [WebUsers.header(WebUsers.carol)]).status == 200)
        #expect(agent.get("/metrics", headers: [WebUsers.header(WebUsers.carol)]).text.contains("lookout_config_last_reload_successful 0"))

        // POST /-/reload does the same (and needs credentials itself).
        try FileIO.writeAtomically(web, Array(WebUsers.config([WebUsers.alice]).utf8))
        #expect(TestHTTP.post(agent.baseURL + "/-/reload").status == 401)
        #expect(TestHTTP.post(agent.baseURL + "/-/reload", headers: [WebUsers.header(WebUsers.carol)]).status == 200)
        #expect(agent.get("/metrics", headers: [WebUsers.header(WebUsers.carol)]).status == 401)
        #expect(agent.get("/metrics", headers: [WebUsers.header(WebUsers.alice)]).status == 200)
    }

    @Test func unauthenticatedClientsLearnNothingAndRequestsNeedAHost() async throws {
        let dir = TemporaryDirectory(prefix: "lookout-web")
        let web = dir.write("web.yml", WebUsers.config([WebUsers.alice], extra: "unauthenticated_paths: [/-/healthy]\n"))
        let agent = try AgentProcess(config: nil, arguments: ["--web.config.file", web])
        // 401 before routing: a real route, an unknown one and a wrong method look alike.
        for (method, path) in [("GET", "/metrics"), ("GET", "/no/such/path"), ("DELETE", "/metrics"), ("GET", "/-/ready")] {
            let r = TestHTTP.request(method, agent.baseURL + path)
            #expect(r.status == 401, "\(method) \(path)")
            #expect(r.header("Allow") == nil)
        }
        #expect(TestHTTP.get(agent.baseURL + "/no/such/path", headers: [WebUsers.header(WebUsers.alice)]).status == 404)
        // Basic is a case-insensitive scheme.
        let lower = "Authorization: basic " + WebUsers.base64("alice:alice-pw")
        #expect(TestHTTP.get(agent.baseURL + "/metrics", headers: [lower]).status == 200)
        // HTTP/1.1 requires Host.
        let fd = rawConnect(agent.port)
        defer { close(fd) }
        rawWrite(fd, "GET /-/healthy HTTP/1.1\r\n\r\n")
        let (text, closed) = rawReadAll(fd, timeout: 5)
        #expect(text.hasPrefix("HTTP/1.1 400"))
        #expect(closed)
    }

    @Test func checkConfigNeverPrintsAURLPassword() {
        let dir = TemporaryDirectory(prefix: "lookout-cfg")
        let config = dir.write(
            "lookout.yml",
            "targets:\n  - name: a\n    metrics: ftp://scraper:hunter2@127.0.0.1:21/metrics\nnotify:\n  webhooks:\n    - url: gopher://hook:sekrit@127.0.0.1/x\n")
        let (status, output) = LookoutBinary.run(["check-config", config])
        #expect(status == 2)
        #expect(output.contains("lookout.yml:3:14"))
        #expect(output.contains("ftp://127.0.0.1:21/metrics"))
        #expect(!output.contains("hunter2"))
        #expect(!output.contains("sekrit"))
    }

    @Test func configAndRuleFilesOver64MiBAreRefusedNotCut() async {
        let dir = TemporaryDirectory(prefix: "lookout-cfg")
        let (config, rules) = await onOwnThread { () -> ((Int32, String), (Int32, String)) in
            // A valid document up to 64 MiB, then an unknown key past it.
            func write(_ name: String, head: String, tail: String) -> String {
                let path = dir.path + "/" + name
                let script = "{ printf '\(head)'; yes '#xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' | head -c 67108864; printf '\\n\(tail)'; } > \"$0\""
                _ = Shell.run(["/bin/sh", "-c", script, path])
                return path
            }
            let config = LookoutBinary.run(["check-config", write("big.yml", head: "sampling:\\n  frequency: 19\\n", tail: "no_such_key: 1\\n")])
            let rules = write("big.rules.yml", head: "groups: []\\n", tail: "")
            let small = dir.write("small.yml", "rules:\n  files: [\(rules)]\n")
            return (config, LookoutBinary.run(["check-config", small]))
        }
        #expect(config.0 == 2)
        #expect(config.1.contains("big.yml: file is larger than 64 MiB"), "\(config.1.prefix(500))")
        #expect(rules.0 == 2)
        #expect(rules.1.contains("big.rules.yml: file is larger than 64 MiB"), "\(rules.1.prefix(500))")
    }
}
