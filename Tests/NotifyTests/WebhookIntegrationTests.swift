#if canImport(Glibc)
import Config
import Glibc
import HTTPClient
#endif
import LookoutCore
import Series
import TestSupport
import Testing

@testable import Notify

/// The notifier on the real clock, talking HTTP to TestServer as the webhook receiver.
@Suite(.serialized) struct WebhookIntegrationTimingTests {
    let clock = SystemClock()
    let dir = TemporaryDirectory(prefix: "lookout-notify-it")

    func settings(_ server: TestServer, path: String = "/hook", configure: (inout WebhookSettings) -> Void = { _ in })
        -> NotifySettings
    {
        var s = NotifySettings()
        var w = WebhookSettings(url: server.url(path), name: "oncall")
        w.groupWait = .zero
        w.groupInterval = .milliseconds(500)
        configure(&w)
        s.webhooks = [w]
        s.outbox = dir.path + "/outbox"
        s.minBackoff = .milliseconds(50)
        s.maxBackoff = .milliseconds(400)
        return s
    }

    func notifier(_ s: NotifySettings) -> Notifier {
        Notifier(settings: s, clock: clock, transport: HTTPClient(), logger: quietLogger, externalURL: "http://lookout.test:9477")
    }

    func alert(_ name: String, target: String, severity: String = "warning", endpoint: String = "ready") -> Alert {
        Alert(
            labels: ["alertname": name, "target": target, "severity": severity, "endpoint": endpoint],
            annotations: ["summary": "\(target) \(endpoint) is slow", "description": "took 2.5s"],
            startsAt: clock.wallNow, generatorURL: "http://lookout.test:9477/api/v1/alerts")
    }

    /// A receiver that answers 200 on `paths` (TestServer answers 404 to paths it was not told about).
    func receiver(_ paths: String...) throws -> TestServer {
        let server = try TestServer()
        for p in paths.isEmpty ? ["/hook"] : paths { server.set(p, status: 200, body: "ok") }
        return server
    }

    func bodies(_ server: TestServer, _ path: String = "/hook") throws -> [JSON] {
        try server.received(path).map { try JSON(parsing: $0.body) }
    }

    @Test func payloadArrivesFieldByFieldSignedAndFast() async throws {
        let server = try receiver()
        let n = notifier(settings(server) { $0.hmacSecret = Secret("s3cret key") })
        let slowLive = alert("TargetSlow", target: "api", endpoint: "live")
        let slowReady = alert("TargetSlow", target: "api", endpoint: "ready")
        try await whileRunning(n) {
            let submitted = clock.wallNow
            n.submit(AlertRound(firing: [slowLive, slowReady]))
            #expect(await waitUntil { server.received("/hook").count == 1 })
            let got = try #require(server.received("/hook").first)
            // The signature covers the exact bytes received.
            #expect(got.headers["X-Lookout-Signature"] == "sha256=" + Signature.hmacSHA256Hex(key: Array("s3cret key".utf8), Array(got.body.utf8)))
            #expect(got.headers["Content-Type"] == "application/json")
            #expect(got.headers["User-Agent"] == LookoutVersion.userAgent)
            #expect(got.method == "POST")
            let p = try JSON(parsing: got.body)
            #expect(p["version"] == "4")
            #expect(p["groupKey"] == "{}:{alertname=\"TargetSlow\", target=\"api\"}")
            #expect(p["truncatedAlerts"] == 0)
            #expect(p["status"] == "firing")
            #expect(p["receiver"] == "oncall")
            #expect(p["groupLabels"] == ["alertname": "TargetSlow", "target": "api"])
            #expect(p["commonLabels"] == ["alertname": "TargetSlow", "severity": "warning", "target": "api"])
            #expect(p["commonAnnotations"] == ["description": "took 2.5s"])
            #expect(p["externalURL"] == "http://lookout.test:9477")
            let alerts = try #require(p["alerts"]?.arrayValue)
            #expect(alerts.count == 2)
            for (a, source) in zip(alerts, [slowLive, slowReady]) {
                #expect(a["status"] == "firing")
                #expect(a["labels"] == JSON.labels(source.labels.map { ($0.name, $0.value) }))
                #expect(a["annotations"] == JSON.labels(source.annotations.map { ($0.name, $0.value) }))
                #expect(a["startsAt"]?.stringValue == source.startsAt.rfc3339)
                #expect(a["endsAt"] == "0001-01-01T00:00:00Z")
                #expect(a["generatorURL"] == "http://lookout.test:9477/api/v1/alerts")
                #expect(a["fingerprint"]?.stringValue == source.fingerprint.description)
            }
            #expect(await waitUntil { n.outboxLength == 0 && counter(n, "oncall", "success") == 1 })
            #expect(counter(n, "oncall", "dropped") == 0)
            #expect(got.time - submitted.secondsSinceEpoch < 5)
        }
    }

    /// From `submit` to the receiver having the request, with `group_wait: 0`: the median of
    /// five alerts, each in its own group, must be under a second.
    @Test func alertReachesTheWebhookWithinASecond() async throws {
        let server = try receiver()
        let n = notifier(settings(server))
        var latencies: [Double] = []
        try await whileRunning(n) {
            for i in 0..<5 {
                let submitted = clock.wallNow
                n.submit(AlertRound(firing: [alert("TargetDown", target: "t\(i)", severity: "critical")]))
                #expect(await waitUntil { server.received("/hook").count == i + 1 })
                if let got = server.received("/hook").last { latencies.append(got.time - submitted.secondsSinceEpoch) }
            }
        }
        let sorted = latencies.sorted()
        print("notify: alert to webhook with group_wait 0, ms: \(latencies.map { Int(($0 * 1000).rounded()) })")
        #expect(sorted.count == 5)
        #expect(sorted.count == 5 && sorted[2] < 1.0)
    }

    @Test func groupsAlertsAndRepeatsUnchangedGroups() async throws {
        let server = try receiver()
        let n = notifier(
            settings(server) {
                $0.groupWait = .milliseconds(300)
                $0.groupInterval = .milliseconds(400)
                $0.repeatInterval = .milliseconds(1500)
            })
        try await whileRunning(n) {
            let a = alert("TargetSlow", target: "api", endpoint: "live")
            let b = alert("TargetSlow", target: "api", endpoint: "ready")
            let other = alert("TargetSlow", target: "db")
            n.submit(AlertRound(firing: [a]))
            try await Task.sleep(for: .milliseconds(100))
            // Arrives within the group's group_wait: one notification for both.
            n.submit(AlertRound(firing: [a, b, other]))
            #expect(await waitUntil { server.received("/hook").count == 2 })
            let first = try bodies(server)
            let byTarget = Dictionary(first.map { ($0["groupLabels"]?["target"]?.stringValue ?? "", $0) }, uniquingKeysWith: { a, _ in a })
            #expect(byTarget["api"]?["alerts"]?.arrayValue?.count == 2)
            #expect(byTarget["db"]?["alerts"]?.arrayValue?.count == 1)
            // Evaluations go on re-sending the same alerts; the groups repeat after repeat_interval.
            let deadline = clock.now + .seconds(8)
            while server.received("/hook").count < 4 && clock.now < deadline {
                n.submit(AlertRound(firing: [a, b, other]))
                try await Task.sleep(for: .milliseconds(100))
            }
            let got = server.received("/hook")
            #expect(got.count == 4)
            let apiTimes = try got.filter { try JSON(parsing: $0.body)["groupLabels"]?["target"] == "api" }.map(\.time)
            #expect(apiTimes.count == 2)
            if apiTimes.count == 2 {
                let gap = apiTimes[1] - apiTimes[0]
                #expect(gap >= 1.4 && gap < 4, "repeat after \(gap) s")
            }
            let repeated = try bodies(server).filter { $0["groupLabels"]?["target"] == "api" }
            #expect(repeated.count == 2 && repeated[0]["alerts"] == repeated[1]["alerts"])
            #expect(counter(n, "oncall", "dropped") == 0)
        }
    }

    @Test func resolvedNotificationsFollowSendResolved() async throws {
        let server = try receiver("/hook", "/quiet")
        var s = settings(server)
        var quiet = WebhookSettings(url: server.url("/quiet"), name: "quiet")
        quiet.groupWait = .zero
        quiet.groupInterval = .milliseconds(500)
        quiet.sendResolved = false
        s.webhooks.append(quiet)
        let n = notifier(s)
        try await whileRunning(n) {
            let a = alert("TargetDown", target: "api", severity: "critical")
            n.submit(AlertRound(firing: [a]))
            #expect(await waitUntil { server.received("/hook").count == 1 && server.received("/quiet").count == 1 })
            let resolvedAt = clock.wallNow
            n.submit(AlertRound(resolved: [a.resolved(at: resolvedAt)]))
            #expect(await waitUntil { server.received("/hook").count == 2 })
            let p = try bodies(server)[1]
            #expect(p["status"] == "resolved")
            #expect(p["alerts"]?[0]?["status"] == "resolved")
            #expect(p["alerts"]?[0]?["endsAt"]?.stringValue == resolvedAt.rfc3339)
            #expect(p["alerts"]?[0]?["startsAt"]?.stringValue == a.startsAt.rfc3339)
            // The receiver without send_resolved hears nothing more.
            try await Task.sleep(for: .milliseconds(1200))
            #expect(server.received("/quiet").count == 1)
            #expect(server.received("/hook").count == 2)
            #expect(counter(n, "oncall", "success") == 2 && counter(n, "quiet", "success") == 1)
        }
    }

    @Test func criticalInhibitsTheWarningOfItsTargetUntilItResolves() async throws {
        let server = try receiver()
        let n = notifier(settings(server))
        try await whileRunning(n) {
            let timeout = alert("TargetTimeout", target: "api", severity: "critical", endpoint: "live")
            let slowAPI = alert("TargetSlow", target: "api", severity: "warning", endpoint: "ready")
            let slowDB = alert("TargetSlow", target: "db", severity: "warning", endpoint: "ready")
            n.submit(AlertRound(firing: [timeout, slowAPI, slowDB]))
            #expect(await waitUntil { server.received("/hook").count == 2 })
            try await Task.sleep(for: .milliseconds(700))
            let first = try bodies(server)
            #expect(first.count == 2)
            #expect(Set(first.map { "\($0["groupLabels"]?["alertname"]?.stringValue ?? "")/\($0["groupLabels"]?["target"]?.stringValue ?? "")" }) == ["TargetTimeout/api", "TargetSlow/db"])
            n.submit(AlertRound(firing: [slowAPI, slowDB], resolved: [timeout.resolved(at: clock.wallNow)]))
            #expect(await waitUntil { server.received("/hook").count == 4 })
            let later = try bodies(server).suffix(2)
            #expect(Set(later.map { "\($0["groupLabels"]?["alertname"]?.stringValue ?? "")/\($0["status"]?.stringValue ?? "")" }) == ["TargetTimeout/resolved", "TargetSlow/firing"])
            let unmuted = later.first { $0["groupLabels"]?["alertname"] == "TargetSlow" }
            #expect(unmuted?["groupLabels"]?["target"] == "api")
            #expect(await waitUntil { counter(n, "oncall", "success") == 4 })
        }
    }

    @Test func retriesAReceiverThatFailsThreeTimes() async throws {
        let server = try receiver()
        server.set("/hook", status: 200, body: "ok", failTimes: 3, failStatus: 503)
        let n = notifier(settings(server))
        try await whileRunning(n) {
            n.submit(AlertRound(firing: [alert("TargetDown", target: "api", severity: "critical")]))
            #expect(await waitUntil { counter(n, "oncall", "success") == 1 })
            let got = server.received("/hook")
            #expect(got.count == 4)
            #expect(Set(got.map(\.body)).count == 1)
            #expect(counter(n, "oncall", "retry") == 3)
            #expect(counter(n, "oncall", "dropped") == 0)
            #expect(await waitUntil { n.outboxLength == 0 })
            // Backoff 50 ms doubling with jitter: at least 25 + 50 + 100 ms between the first and the last.
            #expect(got[3].time - got[0].time >= 0.17)
        }
    }

    @Test func timeoutsAreRetriedAndClientErrorsDropped() async throws {
        let server = try receiver()
        server.set("/slow", status: 200, delay: 2)
        server.set("/bad", status: 400, body: "no")
        var s = settings(server, path: "/slow") { $0.http.timeout = .milliseconds(300) }
        var bad = WebhookSettings(url: server.url("/bad"), name: "bad")
        bad.groupWait = .zero
        s.webhooks.append(bad)
        let n = notifier(s)
        try await whileRunning(n) {
            n.submit(AlertRound(firing: [alert("TargetSlow", target: "api")]))
            #expect(await waitUntil { counter(n, "oncall", "retry") ?? 0 >= 1 && counter(n, "bad", "dropped") == 1 })
            #expect(receiverStatus(n, "oncall")?.lastError?.hasPrefix("timeout") == true)
            #expect(receiverStatus(n, "bad")?.lastError == "HTTP 400")
            server.set("/slow", status: 200)
            #expect(await waitUntil { counter(n, "oncall", "success") == 1 && n.outboxLength == 0 })
            #expect(server.received("/bad").count == 1)
        }
    }

    /// The notifier is abandoned while the receiver is down (its requests refused), with a
    /// record cut short at the end of the log as kill -9 during a write leaves it. A new
    /// notifier on the same directory delivers everything once the receiver is up.
    @Test func undeliveredNotificationsSurviveACrash() async throws {
        let outbox = dir.path + "/crash-outbox"
        var s = NotifySettings()
        var down = WebhookSettings(url: "http://127.0.0.1:\(Net.freePort())/hook", name: "oncall")
        down.groupWait = .zero
        s.webhooks = [down]
        s.outbox = outbox
        s.minBackoff = .milliseconds(50)
        s.maxBackoff = .milliseconds(200)
        let first = notifier(s)
        let task = Task { try await first.run() }
        do {
            first.submit(AlertRound(firing: ["a", "b", "c"].map { alert("TargetDown", target: $0, severity: "critical") }))
            #expect(await waitUntil { first.outboxLength == 3 && (counter(first, "oncall", "retry") ?? 0) >= 2 })
            #expect(receiverStatus(first, "oncall")?.lastError?.hasPrefix("connect") == true)
        }
        task.cancel()
        _ = await task.result
        // A torn last record: the first half of one more entry.
        let partial = OutboxCodec.encode(
            .entry(OutboxEntry(id: 99, createdAt: clock.wallNow, kind: .webhook, receiver: "oncall", url: "x", body: Array("{\"lost\":true}".utf8))))
        let fd = open(outbox + "/" + Outbox.fileName, O_WRONLY | O_APPEND)
        #expect(fd >= 0)
        _ = partial.withUnsafeBytes { write(fd, $0.baseAddress, partial.count / 2) }
        close(fd)

        let server = try receiver()
        var up = s
        up.webhooks[0].url = server.url("/hook")
        let second = notifier(up)
        try await whileRunning(second) {
            #expect(await waitUntil { server.received("/hook").count == 3 && second.outboxLength == 0 })
            let targets = try bodies(server).compactMap { $0["groupLabels"]?["target"]?.stringValue }
            #expect(targets.sorted() == ["a", "b", "c"])
            let replay = second.status().replay
            #expect(replay.restored == 3)
            #expect(replay.tornTail)
            #expect(replay.discardedBytes == partial.count / 2)
            #expect(counter(second, "oncall", "success") == 3)
        }
        // Delivered means acknowledged on disk: a third start has nothing to send.
        let third = notifier(up)
        try await whileRunning(third) {
            #expect(await waitUntil { third.status().replay.restored == 0 })
            try await Task.sleep(for: .milliseconds(300))
            #expect(server.received("/hook").count == 3)
        }
    }
}
