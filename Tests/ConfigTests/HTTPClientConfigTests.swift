import Config
import LookoutCore
import TestSupport
import Testing

@Suite struct SecretTests {
    struct Holder { var name = "hook"; var secret = Secret("hunter2") }

    @Test func neverPrints() {
        let s = Secret("hunter2")
        #expect("\(s)" == "<secret>")
        #expect(String(reflecting: s) == "<secret>")
        #expect(Mirror(reflecting: s).children.isEmpty)
        let holder = Holder()
        var dumped = ""
        dump(holder, to: &dumped)
        let printed = "\(holder) \(String(reflecting: holder)) \(dumped)"
        #expect(!printed.contains("hunter2"))
        #expect(printed.contains("<secret>"))
        #expect(s.text == "hunter2" && s.bytes == Array("hunter2".utf8))
        #expect(!"\(BasicAuth(username: "u", password: s))".contains("hunter2"))
        #expect(!"\(HTTPClientConfig(auth: .bearer(s)))".contains("hunter2"))
    }

    @Test func filesAreTrimmedAsAsked() throws {
        let dir = TemporaryDirectory()
        let token = dir.write("token", " \t tok3n \r\n")
        let key = dir.write("key", " k3y\t\n\n")
        let blank = dir.write("blank", " \n\t\r\n")
        #expect(try SecretFile.read(token, trim: .whitespace) == Secret("tok3n"))
        // A key may start or end with any byte; only the line ends editors add go.
        #expect(try SecretFile.read(key, trim: .lineEnd) == Secret(" k3y\t"))
        #expect(try SecretFile.read(blank, trim: .whitespace) == nil)
        #expect(throws: FileIO.Error.self) { try SecretFile.read(dir.path + "/missing", trim: .whitespace) }
    }

    @Test func pathsAreRelativeToTheConfigFile() {
        #expect(ConfigPath.resolve("token", relativeTo: "/etc/lookout/lookout.yml") == "/etc/lookout/token")
        #expect(ConfigPath.resolve("/run/token", relativeTo: "/etc/lookout/lookout.yml") == "/run/token")
        #expect(ConfigPath.resolve("token", relativeTo: "lookout.yml") == "token")
        #expect(ConfigPath.resolve("a/b", relativeTo: "conf/lookout.yml") == "conf/a/b")
    }
}

@Suite struct HTTPClientConfigTests {
    static let keys = HTTPClientConfig.keys + ["timeout", "connect_timeout"]

    /// Parses the document's root as a client config; returns it with the diagnostics.
    func parse(_ yaml: String, file: String = "/etc/lookout/lookout.yml", files: [String: String] = [:])
        -> (HTTPClientConfig?, [String])
    {
        let doc = YAMLDocument(text: yaml, file: file)
        let c = doc.root?.mapping("client", allowedKeys: Self.keys).map { m in
            HTTPClientConfig.parse(m, "client", defaults: HTTPClientConfig(timeout: .seconds(10))) { path in
                guard let s = files[path] else { return try FileIO.read(path) }
                return Array(s.utf8)
            }
        }
        return (c, doc.diagnostics.map(\.description))
    }

    @Test func everyKeyIsRead() throws {
        let dir = TemporaryDirectory()
        dir.write("ca.pem", "-----BEGIN CERTIFICATE-----\n")
        dir.write("client.pem", "-----BEGIN CERTIFICATE-----\n")
        dir.write("client.key", "-----BEGIN PRIVATE KEY-----\n")
        let (c, errors) = parse(
            """
            headers: {X-Tenant: blue, X-Scope: "a b"}
            basic_auth: {username: ops, password_file: secrets/pw}
            tls_config: {ca_file: ca.pem, cert_file: client.pem, key_file: client.key, insecure_skip_verify: true}
            follow_redirects: true
            timeout: 3s
            connect_timeout: 1s
            """, file: dir.path + "/lookout.yml", files: [dir.path + "/secrets/pw": "p4ss\n"])
        #expect(errors == [])
        let config = try #require(c)
        #expect(config.headers == [HTTPHeader("X-Tenant", "blue"), HTTPHeader("X-Scope", "a b")])
        #expect(config.auth == .basic(BasicAuth(username: "ops", password: Secret("p4ss"))))
        #expect(
            config.tls
                == TLSClientConfig(
                    caFile: dir.path + "/ca.pem", certFile: dir.path + "/client.pem", keyFile: dir.path + "/client.key",
                    insecureSkipVerify: true))
        #expect(config.followRedirects)
        #expect(config.timeout == .seconds(3))
        #expect(config.connectTimeout == .seconds(1))
    }

    @Test func authorizationHeaders() {
        #expect(HTTPAuth.bearer(Secret("tok")).header == HTTPHeader("Authorization", "Bearer tok"))
        // RFC 7617's example.
        #expect(
            HTTPAuth.basic(BasicAuth(username: "Aladdin", password: Secret("open sesame"))).header
                == HTTPHeader("Authorization", "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="))
    }

    @Test func defaultsStayWhereNothingIsSet() throws {
        let (c, errors) = parse("headers: {}\n")
        #expect(errors == [])
        #expect(c == HTTPClientConfig(timeout: .seconds(10)))
        let (noPassword, e2) = parse("basic_auth: {username: u}\n")
        #expect(e2 == [])
        #expect(noPassword?.auth == .basic(BasicAuth(username: "u", password: Secret(""))))
    }

    @Test func errorsSayWhereAndNeverShowTheSecret() {
        let (_, errors) = parse(
            """
            headers:
              X-Ok: fine
              Host: other
            bearer_token: s3cret-token
            basic_auth: {username: u, password: s3cret-pw}
            tls_config: {ca_file: missing.pem, cert_file: c.pem}
            follow_redirects: sometimes
            timeout: 0s
            """, file: "/cfg/lookout.yml")
        #expect(
            errors == [
                "/cfg/lookout.yml:8:10: client.timeout must be greater than 0, found \"0s\"",
                "/cfg/lookout.yml:7:19: client.follow_redirects must be true or false, found \"sometimes\"",
                "/cfg/lookout.yml:3:3: client.headers: \"Host\" is set by lookout and cannot be configured",
                "/cfg/lookout.yml:5:13: client: set either a bearer token or basic_auth, not both",
                "/cfg/lookout.yml:6:23: client.tls_config.ca_file: /cfg/missing.pem does not exist",
                "/cfg/lookout.yml:6:47: client.tls_config.cert_file: /cfg/c.pem does not exist",
                "/cfg/lookout.yml:6:13: client.tls_config: cert_file and key_file go together",
            ])
        #expect(!errors.joined().contains("s3cret"))

        let (_, files) = parse(
            "bearer_token_file: token\n", file: "/cfg/lookout.yml", files: ["/cfg/token": "the-token-itself"])
        #expect(files == [])
        let (_, unreadable) = parse("bearer_token_file: missing\n", file: "/cfg/lookout.yml")
        #expect(unreadable == ["/cfg/lookout.yml:1:20: client.bearer_token_file: cannot read /cfg/missing: No such file or directory"])
        let (_, empty) = parse(
            "basic_auth: {username: u, password_file: pw}\n", file: "/cfg/lookout.yml", files: ["/cfg/pw": " \n"])
        #expect(empty == ["/cfg/lookout.yml:1:42: client.basic_auth.password_file: /cfg/pw is empty"])
        let (_, both) = parse("bearer_token: a\nbearer_token_file: b\n", file: "/cfg/lookout.yml")
        #expect(both == ["/cfg/lookout.yml:1:1: client: set bearer_token or bearer_token_file, not both"])
        let (_, authHeader) = parse("headers: {authorization: x}\nbearer_token: t\n", file: "/cfg/lookout.yml")
        #expect(authHeader == ["/cfg/lookout.yml:1:10: client: header \"authorization\" conflicts with bearer_token/basic_auth; set one of them"])
    }
}

@Suite struct HTTPURLTests {
    @Test func hostAndSchemeAreRequired() {
        #expect(HTTPURL("http://127.0.0.1:9093/")?.hostPort == "127.0.0.1:9093")
        #expect(HTTPURL("https://user:pw@hooks.example/x?y=@z")?.hostPort == "hooks.example")
        #expect(HTTPURL("https://h")?.scheme == "https")
        for bad in ["ftp://h/", "localhost:8000/health", "http://", "https:///x", "http://:80/", "http://user@/", ""] {
            #expect(HTTPURL(bad) == nil, "\(bad)")
        }
        #expect(HTTPURL.check("http://h/a b") == .failure(.whitespace))
        #expect(HTTPURL.check("http://h/a\tb") == .failure(.whitespace))
        #expect(HTTPURL.check("gopher://h/") == .failure(.notHTTP))
    }

    @Test func errorsSayWhere() {
        let doc = YAMLDocument(text: "a: ftp://h/\nb: \"http://h/x y\"\nc: https://h:8443/ok\n", file: "c.yml")
        let m = doc.root?.mapping("root", allowedKeys: ["a", "b", "c"])
        #expect(m?["a"]?.httpURL("root.a") == nil)
        #expect(m?["b"]?.httpURL("root.b") == nil)
        #expect(m?["c"]?.httpURL("root.c")?.text == "https://h:8443/ok")
        #expect(
            doc.diagnostics.map(\.description) == [
                "c.yml:1:4: root.a must be an http:// or https:// URL with a host, found \"ftp://h/\"",
                "c.yml:2:4: root.b must not contain spaces or line breaks",
            ])
    }

    @Test func credentialsAreNeverShown() {
        #expect(HTTPURL.redactingCredentials("http://user:pw@host:8000/health?x=@y") == "http://host:8000/health?x=@y")
        #expect(HTTPURL.redactingCredentials("https://host/a@b") == "https://host/a@b")
        #expect(HTTPURL.redactingCredentials("http://a@b@host/") == "http://host/")
        #expect(HTTPURL.redactingCredentials("http://host") == "http://host")
    }
}
