import LookoutCore
import Testing
import TestSupport

@testable import Probing

struct Missing: Error, CustomStringConvertible {
    var description: String { "No such file or directory" }
}

@Suite struct TargetSettingsTests {
    /// Parses one target (the document's root) and returns it with the diagnostics.
    func parse(_ yaml: String, file: String = "/etc/lookout/lookout.yml", secrets: [String: String] = [:])
        -> (TargetSettings?, [String])
    {
        let doc = YAMLDocument(text: yaml, file: file)
        let t = doc.root.flatMap {
            TargetSettings.parse($0, index: 0) { path in
                guard let s = secrets[path] else { throw Missing() }
                return s
            }
        }
        return (t, doc.diagnostics.map(\.description))
    }

    @Test func fullTarget() throws {
        let (t, errors) = parse(
            """
            name: api
            metrics: http://127.0.0.1:8000/metrics
            health:
              live: http://127.0.0.1:8000/health/live
              ready:
                url: http://127.0.0.1:8000/health/ready
                expect_status: [200, 204]
              health:
                url: http://127.0.0.1:8000/health
                json_field: status
                json_value: UP
              detailed:
                url: http://127.0.0.1:8000/health/detailed
                body_regex: '"database":\\s*"ok"'
            interval: 10s
            timeout: 3s
            connect_timeout: 500ms
            body_size_limit: 1MiB
            sample_limit: 1000
            follow_redirects: true
            headers:
              X-Tenant: blue
            bearer_token_file: secrets/token
            """, secrets: ["/etc/lookout/secrets/token": "s3cret\n"])
        #expect(errors == [])
        let target = try #require(t)
        #expect(target.name == "api")
        #expect(target.metrics == "http://127.0.0.1:8000/metrics")
        #expect(target.health[.live] == EndpointSettings(url: "http://127.0.0.1:8000/health/live"))
        #expect(target.health[.ready]?.expectedStatuses == [200, 204])
        #expect(target.health[.health]?.bodyCheck == .jsonField(path: "status", equals: "UP"))
        guard case .regex(let p)? = target.health[.detailed]?.bodyCheck else {
            Issue.record("detailed has no regex")
            return
        }
        #expect(p.matches(#"{"database": "ok"}"#))
        #expect(target.interval == .seconds(10))
        #expect(target.timeout == .seconds(3))
        #expect(target.connectTimeout == .milliseconds(500))
        #expect(target.bodySizeLimit == 1 << 20)
        #expect(target.sampleLimit == 1000)
        #expect(target.followRedirects)
        #expect(target.headers == [HTTPHeader("X-Tenant", "blue")])
        #expect(target.auth == .bearer(Secret("s3cret")))
        #expect(target.endpoints.map(\.kind) == [.metrics, .live, .ready, .health, .detailed])
    }

    @Test func defaults() throws {
        let (t, errors) = parse("name: a\nhealth:\n  live: http://h/live\n")
        #expect(errors == [])
        let target = try #require(t)
        #expect(target.interval == .seconds(15))
        #expect(target.timeout == .seconds(5))
        #expect(target.connectTimeout == .seconds(2))
        #expect(target.bodySizeLimit == 10 << 20)
        #expect(target.sampleLimit == 50_000)
        #expect(!target.followRedirects)
        #expect(target.auth == nil)
        #expect(target.headers.isEmpty)
    }

    @Test func healthBodyParsing() throws {
        let (t, errors) = parse(
            """
            name: a
            health:
              live: http://h/live
              health: {url: "http://h/health", parse: spring}
              detailed: http://h/detailed
            """)
        #expect(errors == [])
        let target = try #require(t)
        let byKind = Dictionary(uniqueKeysWithValues: target.endpoints.map { ($0.kind, $0.settings) })
        #expect(byKind[.live]?.bodyFormat(for: .live) == HealthBodyFormat.none)
        #expect(byKind[.health]?.bodyFormat(for: .health) == .spring)
        #expect(byKind[.detailed]?.bodyFormat(for: .detailed) == .auto)

        let (_, bad) = parse("name: a\nhealth:\n  detailed: {url: \"http://h/d\", parse: yaml}\n", file: "cfg.yml")
        #expect(
            bad == [
                "cfg.yml:3:40: targets[0].health.detailed.parse must be one of auto, spring, microprofile, health+json, none, found \"yaml\""
            ])
    }

    @Test func basicAuth() throws {
        let (t, errors) = parse(
            """
            name: a
            health: {live: "http://h/live"}
            basic_auth:
              username: prober
              password_file: /run/secrets/pw
            """, secrets: ["/run/secrets/pw": "  p@ss  \n"])
        #expect(errors == [])
        #expect(t?.auth == .basic(BasicCredentials(username: "prober", password: Secret("p@ss"))))

        let (inline, e2) = parse("name: a\nhealth: {live: \"http://h/live\"}\nbasic_auth: {username: u, password: pw}\n")
        #expect(e2 == [])
        #expect(inline?.auth == .basic(BasicCredentials(username: "u", password: Secret("pw"))))
    }

    @Test func errorsSayWhere() {
        let (_, errors) = parse(
            """
            name: api
            health:
              live: ftp://h/live
              ready:
                url: http://h/ready
                expect_status: [200, 999]
                body_regex: "("
              health:
                url: http://h/health
                json_field: status
              detailed:
                url: http://h/detailed
                body_regex: up
                json_field: status
                json_value: UP
              other: http://h/other
            follow_redirects: maybe
            headers:
              "Bad Header": x
              User-Agent: me
            bearer_token: a
            bearer_token_file: /nope
            """, file: "cfg.yml")
        #expect(errors.contains("cfg.yml:3:9: targets[0].health.live must be an http:// or https:// URL, found \"ftp://h/live\""))
        #expect(errors.contains("cfg.yml:6:26: targets[0].health.ready.expect_status[1] must be between 100 and 599, found 999"))
        #expect(errors.contains { $0.hasPrefix("cfg.yml:7:17: targets[0].health.ready.body_regex: invalid regex \"(\"") })
        #expect(errors.contains("cfg.yml:9:5: targets[0].health.health: json_field needs json_value (the value the field must have)"))
        #expect(errors.contains("cfg.yml:14:17: targets[0].health.detailed: set body_regex or json_field, not both"))
        #expect(errors.contains { $0.hasPrefix("cfg.yml:16:3: unknown key \"other\" in targets[0].health") })
        #expect(errors.contains("cfg.yml:17:19: targets[0].follow_redirects must be true or false, found \"maybe\""))
        #expect(errors.contains("cfg.yml:19:3: targets[0].headers: \"Bad Header\" is not a valid header name"))
        #expect(errors.contains("cfg.yml:20:3: targets[0].headers: \"User-Agent\" is set by lookout and cannot be configured"))
        #expect(errors.contains("cfg.yml:1:1: targets[0]: set bearer_token or bearer_token_file, not both"))
        #expect(errors.count == 10, "\(errors)")
    }

    @Test func secretFileErrorsNameTheFileNotTheSecret() {
        let (_, errors) = parse(
            "name: a\nhealth: {live: \"http://h/live\"}\nbearer_token_file: missing.txt\n", file: "/cfg/lookout.yml")
        #expect(errors.count == 1)
        #expect(errors.first == "/cfg/lookout.yml:3:20: targets[0].bearer_token_file: cannot read /cfg/missing.txt: No such file or directory")

        let (_, empty) = parse(
            "name: a\nhealth: {live: \"http://h/live\"}\nbasic_auth: {username: u, password_file: /pw}\n",
            secrets: ["/pw": "\n"])
        #expect(empty.count == 1)
        #expect(empty.first?.contains("/pw is empty") == true)
    }

    @Test func realSecretFileIsReadRelativeToTheConfig() throws {
        let dir = TemporaryDirectory()
        dir.write("token", "from-file\n")
        dir.write("ca.pem", "-----BEGIN CERTIFICATE-----\n")
        let config = dir.write(
            "lookout.yml",
            """
            name: a
            health: {live: "https://h/live"}
            bearer_token_file: token
            tls_config: {ca_file: ca.pem, insecure_skip_verify: false}
            """)
        let doc = YAMLDocument(text: try FileIO.readText(config), file: config)
        let t = TargetSettings.parse(doc.root!, index: 0)
        #expect(doc.diagnostics.isEmpty)
        #expect(t?.auth == .bearer(Secret("from-file")))
        #expect(t?.tls == TLSOptions(caFile: dir.path + "/ca.pem"))

        let bad = YAMLDocument(text: "name: a\nhealth: {live: \"https://h/live\"}\ntls_config: {ca_file: nope.pem, cert_file: ca.pem}\n", file: config)
        _ = TargetSettings.parse(bad.root!, index: 0)
        #expect(bad.diagnostics.map(\.description) == [
            "\(config):3:23: targets[0].tls_config.ca_file: \(dir.path)/nope.pem does not exist",
            "\(config):3:13: targets[0].tls_config: cert_file and key_file go together",
        ])
    }

    @Test func conflictsAndLimits() {
        let (_, errors) = parse(
            """
            name: a
            health: {live: "http://h/live"}
            interval: 5s
            timeout: 10s
            connect_timeout: 20s
            bearer_token: t
            basic_auth: {username: u, password: p}
            """, file: "c.yml")
        #expect(errors.contains("c.yml:1:1: targets[0] (a): timeout 10s is longer than interval 5s"))
        #expect(errors.contains("c.yml:1:1: targets[0] (a): connect_timeout 20s is longer than timeout 10s"))
        #expect(errors.contains("c.yml:1:1: targets[0]: set bearer_token or basic_auth, not both"))

        let (_, noEndpoints) = parse("name: a\n", file: "c.yml")
        #expect(noEndpoints == ["c.yml:1:1: targets[0] (a) has no endpoints: set metrics and/or health"])

        let (_, authHeader) = parse(
            "name: a\nhealth: {live: \"http://h/live\"}\nheaders: {Authorization: x}\nbearer_token: t\n", file: "c.yml")
        #expect(authHeader == ["c.yml:3:10: targets[0]: header \"Authorization\" conflicts with bearer_token/basic_auth; set one of them"])
    }
}
