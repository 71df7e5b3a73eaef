import Config
import HTTPClient
import LookoutCore
import Logging
import Series
import TestSupport
import Testing

@testable import Notify

/// Runs `notifier` while `body` runs, then cancels it and waits for it to stop.
func whileRunning(_ notifier: Notifier, _ body: () async throws -> Void) async throws {
    let task = Task { try await notifier.run() }
    do {
        try await body()
    } catch {
        task.cancel()
        _ = await task.result
        throw error
    }
    task.cancel()
    _ = await task.result
}

func value(_ families: [MetricFamily], _ name: String, _ labels: Labels = .empty) -> MetricValue? {
    families.first { $0.name == name }?.metrics.first { $0.labels == labels }?.value
}

func counter(_ n: Notifier, _ receiver: String, _ result: String) -> Double? {
    value(n.collect(), "lookout_notifications_total", ["receiver": receiver, "result": result])?.singleValue
}

func receiverStatus(_ n: Notifier, _ name: String) -> NotifierStatus.Receiver? {
    n.status().receivers.first { $0.name == name }
}

let quietLogger: Logger = {
    var l = Logger(label: "notify-test")
    l.logLevel = .critical
    return l
}()

/// The notifier's loop on a ManualClock with an in-memory transport: every timing exact.
@Suite struct NotifierClockTests {
    let clock = ManualClock()
    let dir = TemporaryDirectory(prefix: "lookout-notify")

    func settings(groupWait: Duration = .seconds(5), configure: (inout NotifySettings) -> Void = { _ in }) -> NotifySettings {
        var s = NotifySettings()
        var w = WebhookSettings(url: "http://127.0.0.1:1/hook", name: "oncall")
        w.groupWait = groupWait
        w.groupInterval = .seconds(60)
        w.hmacSecret = Secret("k")
        s.webhooks = [w]
        s.outbox = dir.path + "/outbox"
        s.minBackoff = .seconds(1)
        s.maxBackoff = .seconds(8)
        configure(&s)
        return s
    }

    func notifier(_ s: NotifySettings, _ t: RecordingTransport) -> Notifier {
        Notifier(settings: s, clock: clock, transport: t, logger: quietLogger, externalURL: "http://lookout:9477", jitter: { 1 })
    }

    func alert(_ name: String, target: String = "api", severity: String = "warning") -> Alert {
        Alert(
            labels: ["alertname": name, "target": target, "severity": severity],
            annotations: ["summary": "x"], startsAt: clock.wallNow, generatorURL: "http://lookout:9477/alerts")
    }

    /// Waits (real time) until the loop has caught up and waits, and `condition` holds.
    func idle(_ n: Notifier, _ condition: @escaping () -> Bool = { true }) async -> Bool {
        await waitUntil(timeout: .seconds(30), every: .milliseconds(2)) {
            n.isQuiet { clock.sleeperCount } && condition()
        }
    }

    @Test func sendsWhenGroupWaitHasPassedOnTheClock() async throws {
        let t = RecordingTransport()
        let n = notifier(settings(), t)
        try await whileRunning(n) {
            n.submit(AlertRound(firing: [alert("TargetSlow")]))
            try #require(await idle(n))
            clock.advance(by: .milliseconds(4999))
            try #require(await idle(n))
            #expect(t.count == 0)
            #expect(n.outboxLength == 0)
            clock.advance(by: .milliseconds(1))
            try #require(await idle(n) { t.count == 1 && n.outboxLength == 0 && counter(n, "oncall", "success") == 1 })
            let r = try #require(t.requests.first)
            #expect(r.url == "http://127.0.0.1:1/hook")
            #expect(r.timeout == .seconds(10))
            #expect(r.header("Content-Type") == "application/json")
            #expect(r.header("X-Lookout-Signature") == "sha256=" + Signature.hmacSHA256Hex(key: Array("k".utf8), r.body))
            let json = try JSON(parsing: r.body)
            #expect(json["receiver"] == "oncall")
            #expect(json["externalURL"] == "http://lookout:9477")
            #expect(json["alerts"]?.arrayValue?.count == 1)
            // Made and delivered at the same instant of the manual clock.
            guard case .histogram(let h) = value(n.collect(), "lookout_notification_latency_seconds") else {
                Issue.record("no latency histogram")
                return
            }
            #expect(h.count == 1 && h.sum == 0)
        }
    }

    /// The rules hand over a round every second, most of them empty: those do not wake the loop.
    @Test func anEmptyRoundDoesNotWakeTheLoop() async throws {
        let t = RecordingTransport()
        let n = notifier(settings(), t)
        try await whileRunning(n) {
            try #require(await idle(n))
            let before = n.shared.withLock { $0.loop.produced }
            n.submit(AlertRound())
            #expect(n.shared.withLock { $0.loop.produced } == before)
            n.submit(AlertRound(firing: [alert("TargetSlow")]))
            #expect(n.shared.withLock { $0.loop.produced } == before + 1)
            try #require(await idle(n))
            n.submit(AlertRound(resolved: [alert("TargetSlow")]))
            #expect(n.shared.withLock { $0.loop.produced } == before + 2)
        }
    }

    @Test func retriesWithExponentialBackoffUntilA2xx() async throws {
        let t = RecordingTransport(script: [.status(503), .failed(.connect, "refused"), .status(429)])
        let n = notifier(settings(groupWait: .zero), t)
        try await whileRunning(n) {
            n.submit(AlertRound(firing: [alert("TargetDown", severity: "critical")]))
            for (attempt, wait) in [(1, 1), (2, 2), (3, 4)] {
                try #require(await idle(n) { t.count == attempt && receiverStatus(n, "oncall")?.consecutiveFailures == attempt })
                #expect(n.outboxLength == 1)
                clock.advance(by: .seconds(wait) - .milliseconds(1))
                try #require(await idle(n))
                #expect(t.count == attempt)
                clock.advance(by: .milliseconds(1))
            }
            try #require(await idle(n) { t.count == 4 && n.outboxLength == 0 })
            #expect(Set(t.requests.map(\.text)).count == 1)
            #expect(counter(n, "oncall", "retry") == 3)
            #expect(counter(n, "oncall", "success") == 1)
            #expect(counter(n, "oncall", "dropped") == 0)
            guard case .histogram(let h) = value(n.collect(), "lookout_notification_latency_seconds") else {
                Issue.record("no latency histogram")
                return
            }
            #expect(h.count == 1 && h.sum == 7)
            let status = try #require(receiverStatus(n, "oncall"))
            #expect(status.lastError == "HTTP 429")
            #expect(status.consecutiveFailures == 0)
            #expect(status.lastSuccess != nil)
        }
    }

    @Test func aRefusedNotificationIsDroppedAndTheNextOneGoes() async throws {
        let t = RecordingTransport(script: [.status(400)])
        let n = notifier(settings(groupWait: .zero), t)
        try await whileRunning(n) {
            n.submit(AlertRound(firing: [alert("TargetSlow", target: "a"), alert("TargetSlow", target: "b")]))
            try #require(await idle(n) { t.count == 2 && n.outboxLength == 0 })
            #expect(counter(n, "oncall", "dropped") == 1)
            #expect(counter(n, "oncall", "success") == 1)
            #expect(counter(n, "oncall", "retry") == 0)
        }
    }

    /// Resolved alerts are taken as the round gives them; an alert a round does not mention
    /// is not taken as resolved (the rules say when an alert resolves).
    @Test func resolvedAlertsAreTakenAsGiven() async throws {
        let t = RecordingTransport()
        let n = notifier(settings(groupWait: .zero), t)
        try await whileRunning(n) {
            let slow = alert("TargetSlow")
            n.submit(AlertRound(firing: [slow]))
            try #require(await idle(n) { t.count == 1 })
            clock.advance(by: .seconds(10))
            n.submit(AlertRound())
            try #require(await idle(n))
            clock.advance(by: .seconds(50))
            try #require(await idle(n))
            #expect(t.count == 1)
            let resolvedAt = clock.wallNow - .seconds(5)
            n.submit(AlertRound(resolved: [slow.resolved(at: resolvedAt)]))
            try #require(await idle(n))
            clock.advance(by: .seconds(60))
            try #require(await idle(n) { t.count == 2 })
            let json = try JSON(parsing: t.requests[1].body)
            #expect(json["status"] == "resolved")
            #expect(json["alerts"]?[0]?["endsAt"]?.stringValue == resolvedAt.rfc3339)
        }
    }

    @Test func inhibitedWarningWaitsForTheCriticalToResolve() async throws {
        let t = RecordingTransport()
        let n = notifier(settings(groupWait: .zero), t)
        try await whileRunning(n) {
            let critical = alert("TargetTimeout", severity: "critical")
            let warning = alert("TargetSlow", severity: "warning")
            n.submit(AlertRound(firing: [critical, warning]))
            try #require(await idle(n) { t.count == 1 })
            #expect(try JSON(parsing: t.requests[0].body)["groupLabels"]?["alertname"] == "TargetTimeout")
            // The warning's group has flushed too, and said nothing.
            clock.advance(by: .seconds(60))
            try #require(await idle(n))
            #expect(t.count == 1)
            n.submit(AlertRound(firing: [warning], resolved: [critical.resolved(at: clock.wallNow)]))
            try #require(await idle(n))
            clock.advance(by: .seconds(60))
            try #require(await idle(n) { t.count == 3 })
            let names = try t.requests.suffix(2).map { try JSON(parsing: $0.body) }.map {
                "\($0["groupLabels"]?["alertname"]?.stringValue ?? "") \($0["status"]?.stringValue ?? "")"
            }
            #expect(names.sorted() == ["TargetSlow firing", "TargetTimeout resolved"])
        }
    }

    @Test func alertmanagerBatchesReplaceUndeliveredOnes() async throws {
        let t = RecordingTransport(fallback: .failed(.connect, "refused"))
        let s = settings {
            $0.webhooks = []
            $0.alertmanagers = [AlertmanagerSettings(url: "http://127.0.0.1:9093")]
            $0.resendDelay = .seconds(10)
            $0.minBackoff = .seconds(100)
            $0.maxBackoff = .seconds(100)
        }
        let n = notifier(s, t)
        try await whileRunning(n) {
            n.submit(AlertRound(firing: [alert("A", severity: "critical")]))
            try #require(await idle(n) { t.count == 1 && receiverStatus(n, "alertmanager/127.0.0.1:9093")?.consecutiveFailures == 1 })
            #expect(t.requests[0].url == "http://127.0.0.1:9093/api/v2/alerts")
            let oneAlert = n.status().bytes
            n.submit(AlertRound(firing: [alert("A", severity: "critical"), alert("B", severity: "critical")]))
            // The batch with both alerts replaces the one with A.
            try #require(await idle(n) { n.outboxLength == 1 && n.status().bytes != oneAlert })
            for _ in 0..<3 {
                clock.advance(by: .seconds(10))
                try #require(await idle(n))
                #expect(n.outboxLength == 1)
                #expect(t.count == 1)
            }
            t.answer([], then: .status(200))
            clock.advance(by: .seconds(70))
            try #require(await idle(n) { n.outboxLength == 0 && t.count == 2 })
            let batch = try JSON(parsing: t.requests[1].body)
            #expect(batch.arrayValue?.compactMap { $0["labels"]?["alertname"]?.stringValue } == ["A", "B"])
            #expect(counter(n, "alertmanager/127.0.0.1:9093", "success") == 1)
            #expect(counter(n, "alertmanager/127.0.0.1:9093", "dropped") == 0)
        }
    }

    @Test func reloadAddsAndRemovesReceivers() async throws {
        let t = RecordingTransport(fallback: .status(503))
        let n = notifier(settings(groupWait: .zero), t)
        try await whileRunning(n) {
            n.submit(AlertRound(firing: [alert("TargetSlow")]))
            try #require(await idle(n) { t.count == 1 && n.outboxLength == 1 })
            var next = settings(groupWait: .seconds(2))
            next.webhooks[0] = WebhookSettings(url: "http://127.0.0.1:2/new", name: "new")
            next.webhooks[0].groupWait = .seconds(2)
            t.answer([], then: .status(200))
            n.update(settings: next)
            // The old receiver's undelivered notification is dropped; the new one gets the firing alert after its group_wait.
            try #require(await idle(n) { n.outboxLength == 0 && counter(n, "oncall", "dropped") == 1 })
            clock.advance(by: .seconds(2))
            try #require(await idle(n) { t.count == 2 })
            #expect(t.requests[1].url == "http://127.0.0.1:2/new")
            #expect(receiverStatus(n, "oncall")?.configured == false)
        }
    }

    @Test func submissionsBeforeTheLoopRunsKeepOnlyTheLatestStateOfEachAlert() async throws {
        let t = RecordingTransport()
        let n = notifier(settings(groupWait: .zero), t)
        let a = alert("TargetSlow", target: "a")
        for _ in 0..<1000 { n.submit(AlertRound(firing: [a, alert("TargetSlow", target: "b")])) }
        // b fired and resolved before anyone could hear of it.
        n.submit(AlertRound(firing: [a], resolved: [alert("TargetSlow", target: "b").resolved(at: clock.wallNow)]))
        #expect(n.shared.withLock { $0.updates.count } == 2)
        try await whileRunning(n) {
            try #require(await idle(n) { t.count == 1 })
            let body: JSON = try JSON(parsing: t.requests[0].body)
            #expect(body["groupLabels"]?["target"] == "a")
        }
    }

    @Test func metricsHaveTheContractNames() async throws {
        let n = notifier(settings(), RecordingTransport())
        try await whileRunning(n) {
            // As long as `idle` allows: in a busy parallel test pass the loop may start late.
            #expect(await waitUntil(timeout: .seconds(30)) { counter(n, "oncall", "success") == 0 })
            let families = n.collect()
            #expect(families.map(\.name) == [
                "lookout_notifications_total", "lookout_notification_outbox_length", "lookout_notification_latency_seconds",
            ])
            #expect(families.map(\.type) == [.counter, .gauge, .histogram])
            for f in families { #expect(n.collect(matching: FamilyNameFilter(names: [f.name])).map(\.name) == [f.name]) }
            #expect(n.collect(matching: FamilyNameFilter(names: ["process_cpu_seconds_total"])).isEmpty)
            #expect(families[0].metrics.map { $0.labels["result"] ?? "" } == ["dropped", "retry", "success"])
            let status = n.status()
            #expect(status.durable)
            #expect(status.length == 0)
            #expect(status.oldestAgeSeconds == nil)
        }
    }

    /// No receiver, no outbox on disk; the first receiver a reload brings opens it.
    @Test func theOutboxDirectoryIsMadeOnlyOnceAReceiverIsConfigured() async throws {
        let none = settings(groupWait: .zero) { $0.webhooks = [] }
        let t = RecordingTransport()
        let n = notifier(none, t)
        try await whileRunning(n) {
            n.submit(AlertRound(firing: [alert("TargetSlow")]))
            try #require(await idle(n))
            #expect(!FileIO.exists(dir.path + "/outbox"))
            #expect(!n.status().durable)
            n.update(settings: settings(groupWait: .zero))
            try #require(await idle(n) { t.count == 1 })
            #expect(FileIO.exists(dir.path + "/outbox/outbox.log"))
            #expect(n.status().durable)
        }
    }

    @Test func unusableOutboxDirectoryFallsBackToMemory() async throws {
        dir.write("blocker", "a file where the outbox directory should be")
        let s = settings(groupWait: .zero) { $0.outbox = dir.path + "/blocker/outbox" }
        let t = RecordingTransport()
        let n = notifier(s, t)
        try await whileRunning(n) {
            n.submit(AlertRound(firing: [alert("TargetSlow")]))
            try #require(await idle(n) { t.count == 1 })
            #expect(!n.status().durable)
            #expect(n.status().error?.contains("blocker") == true)
        }
    }
}
