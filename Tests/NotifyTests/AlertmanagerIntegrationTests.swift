import HTTPClient
import LookoutCore
import Series
import TestSupport
import Testing

@testable import Notify

/// A real Alertmanager (Debian's `prometheus-alertmanager`) on loopback: the notifier pushes
/// to it, and Alertmanager's own webhook delivers to TestServer. Its payload is also the
/// reference for lookout's own: the same group key and fingerprints.
@Suite(.serialized) struct AlertmanagerIntegrationTests {
    let clock = SystemClock()

    final class RunningAlertmanager {
        let process: ChildProcess
        let port: Int
        let log: String

        init(webhook: String, dir: TemporaryDirectory) throws {
            let config = dir.write(
                "alertmanager.yml",
                """
                route:
                  receiver: hook
                  group_by: [alertname, target]
                  group_wait: 0s
                  group_interval: 1s
                  repeat_interval: 1h
                receivers:
                  - name: hook
                    webhook_configs:
                      - url: \(webhook)
                        send_resolved: true
                """)
            port = Net.freePort()
            log = dir.path + "/alertmanager.log"
            process = try ChildProcess(
                [
                    "prometheus-alertmanager", "--config.file=\(config)", "--storage.path=\(dir.path)/data",
                    "--web.listen-address=127.0.0.1:\(port)", "--cluster.listen-address=",
                ], stdout: log, stderr: log)
        }

        var url: String { "http://127.0.0.1:\(port)" }

        /// Stops it by its PID: SIGTERM, then SIGKILL after a grace period.
        func stop() { process.terminate(grace: .seconds(5)) }
    }

    /// Timestamps travel with millisecond precision.
    func wholeMilliseconds(_ t: WallTime) -> WallTime { WallTime(millisecondsSinceEpoch: t.millisecondsSinceEpoch) }

    @Test func pushedAlertsReachAlertmanagersWebhook() async throws {
        #expect(Shell.which("prometheus-alertmanager") != nil, "prometheus-alertmanager is not installed")
        let dir = TemporaryDirectory(prefix: "lookout-am")
        let server = try TestServer()
        server.set("/am-hook", status: 200, body: "ok")
        let am = try RunningAlertmanager(webhook: server.url("/am-hook"), dir: dir)
        defer { am.stop() }
        let ready = await waitUntil(timeout: .seconds(20), every: .milliseconds(100)) {
            TestHTTP.get(am.url + "/-/ready", timeout: 1).status == 200
        }
        #expect(ready, "Alertmanager did not start: \((try? FileIO.readText(am.log)) ?? "")")
        guard ready else { return }

        var s = NotifySettings()
        s.alertmanagers = [AlertmanagerSettings(url: am.url)]
        s.outbox = dir.path + "/outbox"
        s.minBackoff = .milliseconds(100)
        let n = Notifier(settings: s, clock: clock, transport: HTTPClient(), logger: quietLogger)
        let alert = Alert(
            labels: ["alertname": "TargetDown", "target": "api", "endpoint": "live", "severity": "critical"],
            annotations: ["summary": "api is down"], startsAt: wholeMilliseconds(clock.wallNow),
            generatorURL: "http://lookout.test:9477/api/v1/alerts")
        let receiver = "alertmanager/127.0.0.1:\(am.port)"
        try await whileRunning(n) {
            n.submit(AlertRound(firing: [alert]))
            #expect(await waitUntil(timeout: .seconds(15)) { !server.received("/am-hook").isEmpty })
            // Alertmanager may notify before the notifier has taken in its 200.
            #expect(await waitUntil { counter(n, receiver, "success") == 1 })
            let firing = try #require(try server.received("/am-hook").first.map { try JSON(parsing: $0.body) })
            #expect(firing["version"] == "4")
            #expect(firing["receiver"] == "hook")
            #expect(firing["status"] == "firing")
            // Alertmanager's group key and fingerprint are the ones lookout computes.
            #expect(firing["groupKey"]?.stringValue == WebhookPayload.groupKey(["alertname": "TargetDown", "target": "api"]))
            #expect(firing["groupLabels"] == ["alertname": "TargetDown", "target": "api"])
            let a = try #require(firing["alerts"]?[0])
            #expect(a["fingerprint"]?.stringValue == alert.fingerprint.description)
            #expect(a["labels"] == JSON.labels(alert.labels.map { ($0.name, $0.value) }))
            #expect(a["annotations"] == ["summary": "api is down"])
            #expect(a["generatorURL"] == "http://lookout.test:9477/api/v1/alerts")
            #expect(a["startsAt"]?.stringValue.flatMap { WallTime(rfc3339: $0) } == alert.startsAt)
            #expect(a["endsAt"] == .string(WebhookPayload.zeroTime))
            #expect(firing.objectValue?.map(\.0) == WebhookPayload.json(
                GroupNotification(receiver: "hook", groupLabels: .empty, alerts: [alert]), externalURL: "").objectValue?.map(\.0))

            let resolvedAt = wholeMilliseconds(clock.wallNow)
            n.submit(AlertRound(resolved: [alert.resolved(at: resolvedAt)]))
            #expect(await waitUntil(timeout: .seconds(15)) {
                server.received("/am-hook").contains { $0.body.contains("\"status\":\"resolved\"") }
            })
            let resolved = try server.received("/am-hook").map { try JSON(parsing: $0.body) }.first { $0["status"] == "resolved" }
            let r = try #require(resolved?["alerts"]?[0])
            #expect(r["status"] == "resolved")
            #expect(r["endsAt"]?.stringValue.flatMap { WallTime(rfc3339: $0) } == resolvedAt)
            #expect(r["fingerprint"]?.stringValue == alert.fingerprint.description)
            #expect(await waitUntil { counter(n, receiver, "success") == 2 })
            #expect(counter(n, receiver, "dropped") == 0)
        }
    }
}
