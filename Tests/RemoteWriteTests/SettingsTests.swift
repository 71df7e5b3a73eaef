import Config
import HTTPClient
import LookoutCore
import Series
import TestSupport
import Testing

@testable import RemoteWrite

@Suite struct RemoteWriteSettingsTests {
    static func parse(_ text: String, file: String = "/etc/lookout/lookout.yml") -> (RemoteWriteSettings?, [String]) {
        let doc = YAMLDocument(text: text, file: file)
        let s = RemoteWriteSettings.parse(doc.root!)
        return (s, doc.diagnostics.map(\.description))
    }

    @Test func theDocumentedBlockParses() throws {
        let (s, errors) = Self.parse(
            """
            interval: 15s
            wal: data/wal
            max_wal_bytes: 256MiB
            external_labels: { cluster: eu1, instance: host-a }
            endpoints:
              - url: https://mimir.example/api/v1/push
                remote_timeout: 30s
                write_relabel: { keep: '^(lookout_.*|up)$' }
                queue: { max_samples_per_send: 2000, batch_send_deadline: 5s, min_backoff: 30ms, max_backoff: 5s }
                headers: { X-Scope-OrgID: team-a }
                bearer_token: s3cret
              - url: http://127.0.0.1:9090/api/v1/write
                write_relabel: { drop: 'lookout_thread_.*' }
                basic_auth: { username: u, password: p }
                tls_config: { insecure_skip_verify: true }
            """)
        #expect(errors == [])
        let settings = try #require(s)
        #expect(settings.interval == .seconds(15))
        #expect(settings.wal == "/etc/lookout/data/wal" && !settings.walIsDefault)
        #expect(settings.maxWALBytes == 256 << 20)
        #expect(settings.externalLabels == [Label(name: "cluster", value: "eu1"), Label(name: "instance", value: "host-a")])
        #expect(settings.endpoints.count == 2)
        let a = settings.endpoints[0]
        #expect(a.url == "https://mimir.example/api/v1/push")
        #expect(a.remoteTimeout == .seconds(30))
        #expect(a.keeps("lookout_sampler_ticks_total") && a.keeps("up") && !a.keeps("process_cpu_seconds_total"))
        #expect(a.queue.maxSamplesPerSend == 2000)
        #expect(a.queue.batchSendDeadline == .seconds(5))
        #expect(a.queue.minBackoff == .milliseconds(30))
        #expect(a.queue.maxBackoff == .seconds(5))
        #expect(HTTPClientRequest(url: a.url, config: a.http).headers == [HTTPHeader("X-Scope-OrgID", "team-a"), HTTPHeader("Authorization", "Bearer s3cret")])
        let b = settings.endpoints[1]
        #expect(!b.keeps("lookout_thread_cpu_seconds_total") && b.keeps("up"))
        #expect(HTTPClientRequest(url: b.url, config: b.http).basicAuth?.username == "u")
        #expect(b.http.tls?.insecureSkipVerify == true)
    }

    @Test func defaults() throws {
        let (s, errors) = Self.parse("endpoints: [ { url: 'http://127.0.0.1:9090/api/v1/write' } ]")
        #expect(errors == [])
        let settings = try #require(s)
        #expect(settings.interval == .seconds(15))
        #expect(settings.maxWALBytes == 256 << 20)
        #expect(settings.wal == "data/wal")
        #expect(settings.endpoints[0].remoteTimeout == .seconds(30))
        #expect(settings.endpoints[0].queue == QueueSettings())
        #expect(settings.endpoints[0].relabel == nil)
    }

    @Test func badValuesAreReportedWithTheirPosition() {
        let (_, errors) = Self.parse(
            """
            interval: soon
            max_wal_bytes: 1KiB
            external_labels: { "bad-name": x }
            endpoints:
              - url: ftp://example/write
              - url: http://a/write
                remote_timeout: -1s
                write_relabel: { keep: 'a', drop: 'b' }
                queue: { max_samples_per_send: 0, min_backoff: 10s, max_backoff: 1s, flush: 1 }
                headers: { Content-Encoding: gzip }
              - url: http://b/write
                write_relabel: { keep: '(' }
              - url: http://b/write
            """)
        let expected = [
            "/etc/lookout/lookout.yml:1:11: remote_write.interval",
            "/etc/lookout/lookout.yml:2:16: remote_write.max_wal_bytes must be at least 64KiB",
            "/etc/lookout/lookout.yml:3:20: remote_write.external_labels: \"bad-name\" is not a valid label name",
            "/etc/lookout/lookout.yml:5:10: remote_write.endpoints[0].url must be an http:// or https:// URL",
            "/etc/lookout/lookout.yml:7:21: remote_write.endpoints[1].remote_timeout",
            "/etc/lookout/lookout.yml:8:20: remote_write.endpoints[1].write_relabel: set keep or drop, not both",
            "/etc/lookout/lookout.yml:9:36: remote_write.endpoints[1].queue.max_samples_per_send must be between 1 and 1000000",
            "/etc/lookout/lookout.yml:9:12: remote_write.endpoints[1].queue: min_backoff 10s is longer than max_backoff 1s",
            "/etc/lookout/lookout.yml:9:74: unknown key \"flush\" in remote_write.endpoints[1].queue",
            "/etc/lookout/lookout.yml:10:16: remote_write.endpoints[1].headers: \"Content-Encoding\" is set by lookout",
            "/etc/lookout/lookout.yml:12:28: remote_write.endpoints[2].write_relabel.keep: invalid regex",
            "/etc/lookout/lookout.yml:13:5: remote_write.endpoints[3]: duplicate url \"http://b/write\"",
        ]
        for e in expected {
            #expect(errors.contains { $0.contains(e) }, "missing: \(e)\nall: \(errors.joined(separator: "\n"))")
        }
    }

    @Test func endpointsAreRequired() {
        let (_, errors) = Self.parse("interval: 15s\n")
        #expect(errors.contains { $0.contains("1:1: remote_write needs endpoints") })
        let (_, empty) = Self.parse("endpoints: []\n")
        #expect(empty.contains { $0.contains("remote_write.endpoints must list at least one endpoint") })
    }
}
