import LookoutCore
import Series
import Testing

@testable import Notify

@Suite struct FingerprintTests {
    /// The vectors of prometheus/common's `TestLabelsToSignature` / `TestMetricToFingerprint`.
    @Test func matchesPrometheusCommonVectors() {
        #expect(Fingerprint(Labels.empty).value == 14_695_981_039_346_656_037)
        #expect(Fingerprint(Labels.empty).description == "cbf29ce484222325")
        let labels: Labels = ["name": "garland, briggs", "fear": "love is not enough"]
        #expect(Fingerprint(labels).value == 5_799_056_148_416_392_346)
        #expect(Fingerprint(labels).description == "507a62d79ee76c9a")
        // From the benchmarks of the same file.
        #expect(Fingerprint(["first-label": "first-label-value"]).value == 5_146_282_821_936_882_169)
        #expect(
            Fingerprint(["first-label": "first-label-value", "second-label": "second-label-value"]).value
                == 3_195_800_080_984_914_717)
    }

    @Test func shortValuesArePaddedToSixteenDigits() {
        #expect(Fingerprint(value: 0xab).description == "00000000000000ab")
    }
}

@Suite struct WebhookPayloadTests {
    static let start = WallTime(millisecondsSinceEpoch: 1_790_000_000_250)

    static func alert(_ name: String, target: String, severity: String = "warning", resolvedAt: WallTime? = nil)
        -> Alert
    {
        Alert(
            labels: ["alertname": name, "target": target, "severity": severity, "endpoint": "ready"],
            annotations: ["summary": "\(target) is slow", "runbook": "https://runbooks/slow"],
            startsAt: start, endsAt: resolvedAt, generatorURL: "http://lookout:9477/graph?x=1")
    }

    @Test func groupKeyHasAlertmanagersFormat() {
        #expect(WebhookPayload.groupKey(["target": "api", "alertname": "TargetSlow"]) == "{}:{alertname=\"TargetSlow\", target=\"api\"}")
        #expect(WebhookPayload.groupKey(.empty) == "{}:{}")
    }

    @Test func payloadHasEveryFieldOfVersion4() throws {
        let firing = Self.alert("TargetSlow", target: "api")
        var other = Self.alert("TargetSlow", target: "api")
        other.labels.set("endpoint", "live")
        other.annotations.set("summary", "different")
        let resolved = other.resolved(at: Self.start + .seconds(30))
        let n = GroupNotification(
            receiver: "oncall", groupLabels: ["alertname": "TargetSlow", "target": "api"], alerts: [firing, resolved],
            truncatedAlerts: 2)
        let body = WebhookPayload.body(n, externalURL: "http://lookout:9477")
        let json = try JSON(parsing: body)
        // Alertmanager's key order: template data first, then version, groupKey, truncatedAlerts.
        #expect(
            json.objectValue?.map(\.0) == [
                "receiver", "status", "alerts", "groupLabels", "commonLabels", "commonAnnotations", "externalURL",
                "version", "groupKey", "truncatedAlerts",
            ])
        #expect(json["version"] == "4")
        #expect(json["receiver"] == "oncall")
        #expect(json["status"] == "firing")
        #expect(json["groupKey"] == "{}:{alertname=\"TargetSlow\", target=\"api\"}")
        #expect(json["truncatedAlerts"] == 2)
        #expect(json["externalURL"] == "http://lookout:9477")
        #expect(json["groupLabels"] == ["alertname": "TargetSlow", "target": "api"])
        #expect(json["commonLabels"] == ["alertname": "TargetSlow", "severity": "warning", "target": "api"])
        #expect(json["commonAnnotations"] == ["runbook": "https://runbooks/slow"])
        let a0 = try #require(json["alerts"]?[0])
        #expect(a0.objectValue?.map(\.0) == ["status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint"])
        #expect(a0["status"] == "firing")
        #expect(a0["labels"] == ["alertname": "TargetSlow", "endpoint": "ready", "severity": "warning", "target": "api"])
        #expect(a0["annotations"] == ["runbook": "https://runbooks/slow", "summary": "api is slow"])
        #expect(a0["startsAt"] == "2026-09-21T14:13:20.250Z")
        #expect(a0["endsAt"] == "0001-01-01T00:00:00Z")
        #expect(a0["generatorURL"] == "http://lookout:9477/graph?x=1")
        #expect(a0["fingerprint"]?.stringValue == firing.fingerprint.description)
        #expect(a0["fingerprint"]?.stringValue?.utf8.count == 16)
        let a1 = try #require(json["alerts"]?[1])
        #expect(a1["status"] == "resolved")
        #expect(a1["endsAt"] == "2026-09-21T14:13:50.250Z")
    }

    @Test func statusIsResolvedOnlyWhenEveryAlertIs() {
        let r = Self.alert("A", target: "t").resolved(at: Self.start + .seconds(1))
        #expect(GroupNotification(receiver: "x", groupLabels: .empty, alerts: [r]).status == "resolved")
        #expect(GroupNotification(receiver: "x", groupLabels: .empty, alerts: [r, Self.alert("B", target: "t")]).status == "firing")
    }

    @Test func alertmanagerPushBodyIsAnArrayOfPostableAlerts() throws {
        let now = Self.start + .seconds(10)
        let firing = Self.alert("TargetSlow", target: "api")
        let resolved = Self.alert("TargetDown", target: "db", severity: "critical").resolved(at: now)
        let json = try JSON(parsing: AlertmanagerPayload.body([firing, resolved], now: now, validFor: .seconds(240)))
        let items = try #require(json.arrayValue)
        #expect(items.count == 2)
        #expect(items[0].objectValue?.map(\.0) == ["labels", "annotations", "startsAt", "endsAt", "generatorURL"])
        #expect(items[0]["labels"]?["alertname"] == "TargetSlow")
        #expect(items[0]["endsAt"]?.stringValue == (now + .seconds(240)).rfc3339)
        #expect(items[1]["endsAt"]?.stringValue == now.rfc3339)
        #expect(items[1]["startsAt"]?.stringValue == Self.start.rfc3339)
    }

    @Test func signatureIsHMACSHA256InHex() {
        // RFC 4231, test case 2.
        let mac = Signature.hmacSHA256Hex(key: Array("Jefe".utf8), Array("what do ya want for nothing?".utf8))
        #expect(mac == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test func headersCarryAuthAndSignatureButStoredURLsHideCredentials() {
        var w = WebhookSettings(url: "http://user:pw@hooks.example:8080/x?y=1")
        w.basicAuth = .init(username: "alice", password: Secret("s3cret"))
        w.hmacSecret = Secret("key")
        let ep = Endpoint(webhook: w)
        let h = ep.headers(for: Array("{}".utf8))
        #expect(h.contains { $0 == ("Authorization", "Basic YWxpY2U6czNjcmV0") })
        #expect(h.contains { $0 == ("Content-Type", "application/json") })
        #expect(h.contains { $0.0 == "X-Lookout-Signature" && $0.1 == "sha256=" + Signature.hmacSHA256Hex(key: Array("key".utf8), Array("{}".utf8)) })
        #expect(ep.redactedURL == "http://hooks.example:8080/x?y=1")
        #expect(w.name == "hooks.example:8080")
        var b = WebhookSettings(url: "https://h/")
        b.bearerToken = Secret("tok")
        #expect(Endpoint(webhook: b).headers(for: []).contains { $0 == ("Authorization", "Bearer tok") })
    }

    @Test func base64MatchesKnownValues() {
        #expect(Base64.encode(Array("".utf8)) == "")
        #expect(Base64.encode(Array("f".utf8)) == "Zg==")
        #expect(Base64.encode(Array("fo".utf8)) == "Zm8=")
        #expect(Base64.encode(Array("foobar".utf8)) == "Zm9vYmFy")
    }
}
