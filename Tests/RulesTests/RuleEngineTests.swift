import LookoutCore
import PromQL
import Series
import Synchronization
import TestSupport
import Testing
@testable import Rules

/// What a prober would export for one endpoint.
struct Probe: Sendable {
    var duration: Double = 0.05
    var timedOut = false
    var success = true
}

final class ProbeBoard: Sendable {
    let probes = Mutex<[String: Probe]>(["api": Probe()])
    let rounds = Mutex<[AlertRound]>([])

    func set(_ target: String, _ p: Probe) { probes.withLock { $0[target] = p } }

    func families() -> [MetricFamily] {
        let p = probes.withLock { $0 }.sorted { $0.key < $1.key }
        return [
            .gauge(
                "lookout_probe_duration_seconds", help: "",
                p.flatMap { t, v in
                    [
                        (Labels(["target": t, "endpoint": "ready", "phase": "total"]), v.duration),
                        (Labels(["target": t, "endpoint": "ready", "phase": "connect"]), 0.001),
                    ]
                }),
            .gauge("lookout_probe_timed_out", help: "", p.map { (Labels(["target": $0.key, "endpoint": "ready"]), $0.value.timedOut ? 1 : 0) }),
            .gauge("lookout_probe_success", help: "", p.map { (Labels(["target": $0.key, "endpoint": "ready"]), $0.value.success ? 1 : 0) }),
            .counter("process_cpu_seconds_total", help: "", [(Labels.empty, 1.5)]),
            .gauge("lookout_build_info", help: "", [(Labels(["version": "0.1.0"]), 1)]),
            .gauge("unrelated_metric", help: "", [(Labels(["x": "1"]), 1)]),
        ]
    }
}

/// One interval of `RuleEngine.run` on a manual clock: the loop wakes, reads, evaluates,
/// and sleeps again.
func stepRunLoop(_ clock: ManualClock) async {
    let started = clock.sleepsStarted
    clock.advance(by: .seconds(1))
    let deadline = SystemClock().now + .seconds(10)
    while clock.sleepsStarted <= started || clock.sleeperCount < 1 {
        if SystemClock().now > deadline { break }
        try? await Task.sleep(for: .milliseconds(1))
    }
}

@Suite struct RuleEngineTests {
    static let defaultRules = (try? FileIO.readText(Repo.path("alerts/lookout.rules.yml"))) ?? ""

    func firing(_ e: RuleEngine) -> [String] {
        e.alerts.filter { $0.state == .firing }.map { "\($0.labels["alertname"]!)/\($0.labels["target"] ?? "")" }.sorted()
    }

    /// The default rules in the run loop on a manual clock: a 3 s probe makes TargetSlow
    /// fire at the next evaluation (1 s interval), 6 s TargetVerySlow, a 5 s timeout
    /// TargetTimeout, and back to 50 ms everything resolves. Every round hands out its alerts.
    @Test func defaultRulesInTheRunLoop() async throws {
        let clock = ManualClock()
        let board = ProbeBoard()
        let engine = RuleEngine(
            clock: clock, options: RuleEngine.Options(settings: RuleSettings(), externalURL: "http://agent:9477"),
            gather: { board.families() }, onRound: { round in board.rounds.withLock { $0.append(round) } })
        #expect(engine.load(text: Self.defaultRules, file: "lookout.rules.yml").isEmpty)
        let task = Task { try await engine.run() }
        defer { task.cancel() }
        #expect(await clock.waitForSleepers(1))

        func step() async { await stepRunLoop(clock) }

        func names(_ alerts: [Alert]) -> [String] { alerts.map { $0.labels["alertname"] ?? "" } }
        func lastRound() -> AlertRound { board.rounds.withLock { $0.last } ?? AlertRound() }

        #expect(firing(engine).isEmpty)
        board.set("api", Probe(duration: 3))
        await step()
        #expect(firing(engine) == ["TargetSlow/api"])
        var round = lastRound()
        #expect(names(round.firing) == ["TargetSlow"])
        #expect(round.resolved.isEmpty)
        #expect(round.firing.first?.annotations["summary"] == "api ready is slow: the last probe took 3s")
        #expect(round.firing.first?.generatorURL.hasPrefix("http://agent:9477/graph?g0.expr=max+without%28phase%29") == true)
        #expect(round.firing.first?.endsAt == nil)

        board.set("api", Probe(duration: 6))
        await step()
        #expect(firing(engine) == ["TargetVerySlow/api"])
        round = lastRound()
        #expect(names(round.firing) == ["TargetVerySlow"])
        #expect(names(round.resolved) == ["TargetSlow"])
        #expect(round.resolved.first?.endsAt == clock.wallNow)

        board.set("api", Probe(duration: 5, timedOut: true, success: false))
        await step()
        #expect(firing(engine) == ["TargetTimeout/api"])

        board.set("api", Probe(duration: 0.3, timedOut: false, success: false))
        await step()
        #expect(firing(engine) == ["TargetDown/api"])

        board.set("api", Probe())
        await step()
        #expect(firing(engine).isEmpty)
        let rounds = board.rounds.withLock { $0 }
        #expect(rounds.flatMap { names($0.resolved) }.sorted() == ["TargetDown", "TargetSlow", "TargetTimeout", "TargetVerySlow"])
        #expect(rounds.allSatisfy { $0.resolved.allSatisfy(\.isResolved) && !$0.firing.contains(where: \.isResolved) })

        // Cancelled, the loop ends as it does on shutdown: run() returns.
        task.cancel()
        let result = await task.result
        #expect(throws: Never.self) { try result.get() }
    }

    @Test func theHistoryKeepsOnlyWhatTheRulesRead() {
        let clock = ManualClock()
        let board = ProbeBoard()
        let engine = RuleEngine(clock: clock)
        engine.load(text: Self.defaultRules, file: "lookout.rules.yml")
        for i in 0..<400 {
            engine.ingest(board.families(), at: clock.wallNow + .seconds(Double(i)))
        }
        // unrelated_metric and the connect phase are not kept; the CPU counter keeps 5 m,
        // the instant series their latest sample.
        #expect(engine.historySamples(["__name__": "unrelated_metric", "x": "1"]).isEmpty)
        #expect(engine.historySamples(["__name__": "lookout_probe_duration_seconds", "target": "api", "endpoint": "ready", "phase": "connect"]).isEmpty)
        #expect(engine.historySamples(["__name__": "lookout_probe_duration_seconds", "target": "api", "endpoint": "ready", "phase": "total"]).count == 1)
        #expect(engine.historySamples(["__name__": "process_cpu_seconds_total"]).count == 301)
        #expect(engine.historyStats.series == 5)
    }

    @Test func metrics() throws {
        let clock = ManualClock()
        let engine = RuleEngine(clock: clock)
        engine.load(
            text: """
                groups:
                  - name: g
                    rules:
                      - alert: Slow
                        expr: x > 1
                        labels: {severity: warning}
                      - alert: Pending
                        expr: x > 1
                        for: 1h
                        labels: {severity: critical}
                      - record: broken
                        expr: '{__name__=~"x|y"} * 2'
                """, file: "m.yml")
        engine.ingest([.gauge("x", help: "", [(Labels(["i": "1"]), 2), (Labels(["i": "2"]), 3)]), .gauge("y", help: "", [(Labels(["i": "1"]), 1)])], at: clock.wallNow)
        engine.evaluate(at: clock.wallNow)
        let families = Dictionary(uniqueKeysWithValues: engine.collect().map { ($0.name, $0) })
        let alerts = try #require(families["lookout_alerts"])
        let values = Dictionary(uniqueKeysWithValues: alerts.metrics.map { ($0.labels.description, $0.value.singleValue!) })
        #expect(values == [
            "{alertname=\"Pending\", severity=\"critical\", state=\"firing\"}": 0,
            "{alertname=\"Pending\", severity=\"critical\", state=\"pending\"}": 2,
            "{alertname=\"Slow\", severity=\"warning\", state=\"firing\"}": 2,
            "{alertname=\"Slow\", severity=\"warning\", state=\"pending\"}": 0,
        ])
        let failures = try #require(families["lookout_rule_evaluation_failures_total"])
        #expect(failures.metrics.map(\.labels) == [["group": "g"]])
        #expect(failures.metrics.first?.value.singleValue == 1)
        guard case .histogram(let h)? = families["lookout_rule_evaluation_duration_seconds"]?.metrics.first?.value else {
            Issue.record("duration histogram expected")
            return
        }
        #expect(h.count == 3)
        #expect(families["lookout_rule_history_series"]?.metrics.first?.value.singleValue == 3)
        let broken = try #require(engine.groups.first?.rules.last)
        #expect(broken.health == .err)
        #expect(broken.lastError == "vector cannot contain metrics with the same labelset")
    }

    @Test func recordingRulesFeedLaterRulesAndGroupsKeepTheirIntervals() throws {
        let clock = ManualClock(wall: WallTime(secondsSinceEpoch: 1_790_000_000))
        let engine = RuleEngine(clock: clock)
        let diags = engine.load(
            text: """
                groups:
                  - name: fast
                    rules:
                      - record: job:req:rate10s
                        expr: sum by (job) (rate(req_total[10s]))
                      - alert: Busy
                        expr: job:req:rate10s > 5
                  - name: slow
                    interval: 5s
                    rules:
                      - record: total:req
                        expr: sum(req_total)
                """, file: "r.yml")
        #expect(diags.isEmpty)
        for i in 0...20 {
            let now = clock.wallNow + .seconds(Double(i))
            engine.ingest([.counter("req_total", help: "", [(Labels(["job": "a", "i": "1"]), Double(i * 10))])], at: now)
            engine.evaluate(at: now)
        }
        #expect(firing(engine) == ["Busy/"])
        #expect(engine.alerts.first?.value == 10)
        // Recorded every second; the 5 s group at 0, 5, 10, 15, 20.
        #expect(engine.historySamples(["__name__": "job:req:rate10s", "job": "a"]).count == 1)
        let slow = engine.groups[1]
        #expect(slow.lastEvaluation == clock.wallNow + .seconds(20))
        let fast = engine.groups[0]
        #expect(fast.interval == .seconds(1))
        #expect(slow.interval == .seconds(5))
        #expect(engine.nextEvaluation == clock.wallNow + .seconds(21))
    }

    @Test func reloadKeepsTheStateOfUnchangedRules() throws {
        let clock = ManualClock()
        let engine = RuleEngine(clock: clock)
        let text = """
            groups:
              - name: g
                rules:
                  - alert: High
                    expr: x > 1
                    for: 10s
                  - alert: Other
                    expr: x > 0
            """
        engine.load(text: text, file: "r.yml")
        let t0 = clock.wallNow
        for i in 0...10 {
            engine.ingest([.gauge("x", help: "", [(Labels.empty, 2)])], at: t0 + .seconds(Double(i)))
            engine.evaluate(at: t0 + .seconds(Double(i)))
        }
        #expect(firing(engine) == ["High/", "Other/"])
        // Same rules: state kept, including activeAt.
        #expect(engine.load(text: text, file: "r.yml").isEmpty)
        #expect(firing(engine) == ["High/", "Other/"])
        #expect(engine.alerts.first { $0.labels["alertname"] == "High" }?.activeAt == t0)
        // A broken file changes nothing and says what is wrong.
        let bad = engine.load(text: text.replacingOccurrences("x > 0", "x >"), file: "r.yml")
        #expect(bad.count == 1)
        #expect(bad.first?.description == "r.yml:8:18: group \"g\", rule \"Other\": could not parse expression: unexpected end of input; expected an expression")
        #expect(firing(engine) == ["High/", "Other/"])
        // A changed rule (new labels) starts over; the unchanged one keeps firing.
        let changed = text.replacingOccurrences("alert: Other\n        expr: x > 0", "alert: Other\n        expr: x > 0\n        labels: {severity: critical}")
        #expect(engine.load(text: changed, file: "r.yml").isEmpty)
        #expect(firing(engine) == ["High/"])
        engine.ingest([.gauge("x", help: "", [(Labels.empty, 2)])], at: t0 + .seconds(11))
        engine.evaluate(at: t0 + .seconds(11))
        #expect(firing(engine) == ["High/", "Other/"])
        // Settings: files or the default text, and the interval.
        var settings = RuleSettings()
        settings.interval = .seconds(2)
        #expect(engine.update(settings: settings, defaultText: text, defaultFile: "r.yml").isEmpty)
        #expect(engine.groups.first?.interval == .seconds(2))
        #expect(firing(engine) == ["High/"])
        settings.files = ["/nonexistent/rules.yml"]
        #expect(engine.update(settings: settings, defaultText: text).first?.description.hasPrefix("/nonexistent/rules.yml:1:1: cannot read rule file") == true)
    }

    /// One round, one result: an alert is handed out as firing every round while it fires
    /// (never while pending), as resolved once, in the round it stops; an alert whose rule a
    /// reload removes resolves in the next round.
    @Test func eachRoundHandsOutFiringAndResolvedAlerts() throws {
        let clock = ManualClock()
        let engine = RuleEngine(clock: clock, options: RuleEngine.Options(externalURL: "http://agent"))
        let high = """
            groups:
              - name: g
                rules:
                  - alert: High
                    expr: x > 1
                    for: 2s
                    annotations: {summary: "x is {{ $value }}"}
            """
        let both = high + "\n      - alert: Any\n        expr: x > 0\n"
        #expect(engine.load(text: both, file: "r.yml").isEmpty)
        let t0 = clock.wallNow
        func round(_ i: Int, x: Double) -> AlertRound {
            let now = t0 + .seconds(Double(i))
            engine.ingest([.gauge("x", help: "", [(Labels.empty, x)])], at: now)
            return engine.evaluate(at: now)
        }
        func names(_ alerts: [Alert]) -> [String] { alerts.map { $0.labels["alertname"] ?? "" } }

        var r = round(0, x: 2)
        #expect(names(r.firing) == ["Any"])
        #expect(r.resolved.isEmpty)
        r = round(1, x: 2)
        #expect(names(r.firing) == ["Any"])
        r = round(2, x: 2)
        #expect(names(r.firing) == ["High", "Any"])
        #expect(r.firing[0].startsAt == t0 + .seconds(2))
        #expect(r.firing[0].endsAt == nil)
        #expect(r.firing[0].annotations["summary"] == "x is 2")
        #expect(r.firing[0].generatorURL.hasPrefix("http://agent/graph?g0.expr=x+%3E+1") == true)
        r = round(3, x: 0.5)
        #expect(names(r.firing) == ["Any"])
        #expect(names(r.resolved) == ["High"])
        #expect(r.resolved[0].startsAt == t0 + .seconds(2))
        #expect(r.resolved[0].endsAt == t0 + .seconds(3))
        #expect(r.resolved[0].annotations["summary"] == "x is 2")
        r = round(4, x: 0.5)
        #expect(names(r.firing) == ["Any"])
        #expect(r.resolved.isEmpty)

        #expect(engine.load(text: high, file: "r.yml").isEmpty)
        r = round(5, x: 0.5)
        #expect(r.firing.isEmpty)
        #expect(names(r.resolved) == ["Any"])
        #expect(r.resolved[0].endsAt == t0 + .seconds(5))
        #expect(round(6, x: 0.5) == AlertRound())
    }

    @Test func theHistoryIsBoundedAndCountsDrops() throws {
        let clock = ManualClock()
        let engine = RuleEngine(clock: clock, options: RuleEngine.Options(historyLimits: History.Limits(maxSeries: 10, maxSamplesPerSeries: 8)))
        engine.load(text: "groups:\n  - name: g\n    rules:\n      - record: r\n        expr: sum(rate(x[1m]))\n", file: "r.yml")
        for i in 0..<30 {
            let now = clock.wallNow + .seconds(Double(i))
            engine.ingest([.counter("x", help: "", (0..<20).map { (Labels(["i": String($0)]), Double(i)) })], at: now)
            engine.evaluate(at: now)
        }
        let stats = engine.historyStats
        #expect(stats.series == 10)
        #expect(stats.seriesLimitDrops == 300)
        #expect(stats.evictedSamples == 10 * 22)
        let dropped = engine.collect().first { $0.name == "lookout_rule_history_dropped_samples_total" }
        #expect(dropped?.metrics.map(\.value.singleValue) == [300, 220, 0])
    }
}

extension String {
    func replacingOccurrences(_ a: String, _ b: String) -> String {
        var out = ""
        var rest = Substring(self)
        while let r = rest.firstRange(of: a) {
            out += rest[..<r.lowerBound] + b
            rest = rest[r.upperBound...]
        }
        return out + rest
    }
}

@Suite struct RuleEngineScheduleTests {
    @Test func aWallClockSetBackDoesNotStopEvaluation() {
        let clock = ManualClock()
        let engine = RuleEngine(clock: clock)
        engine.load(text: "groups:\n  - name: g\n    interval: 10s\n    rules:\n      - record: r\n        expr: vector_x\n", file: "r.yml")
        let t0 = clock.wallNow
        engine.evaluate(at: t0)
        #expect(engine.nextEvaluation == t0 + .seconds(10))
        // Not due 5 s later.
        engine.evaluate(at: t0 + .seconds(5))
        #expect(engine.groups[0].lastEvaluation == t0)
        // The clock goes back an hour: evaluated at once, and scheduled from there.
        let back = t0 - .seconds(3600)
        engine.evaluate(at: back)
        #expect(engine.groups[0].lastEvaluation == back)
        #expect(engine.nextEvaluation == back + .seconds(10))
        // Far behind (the machine slept): evaluated, the missed ticks skipped.
        engine.evaluate(at: back + .seconds(100))
        #expect(engine.nextEvaluation == back + .seconds(110))
    }

    /// The fleet rules, written for a central Prometheus, run in the engine from the agent's
    /// own series: recording rules feed the quantile, the quantile feeds the group_left
    /// comparison, and the outlier fires after its 15 minutes, as its promtool test says.
    @Test func theFleetRulesRun() {
        let clock = ManualClock(wall: WallTime(millisecondsSinceEpoch: 0))
        let engine = RuleEngine(clock: clock, options: RuleEngine.Options(defaultInterval: .seconds(60)))
        #expect(engine.load(files: [Repo.path("alerts/lookout-fleet.rules.yml")]).isEmpty)
        // Cores per instance of the group "api" (e is the outlier) and of an idle group.
        let cores: [(instance: String, group: String, cores: Double)] = [
            ("a", "api", 0.01), ("b", "api", 0.012), ("c", "api", 0.011), ("d", "api", 0.013), ("e", "api", 0.5),
            ("a", "cron", 0.0001), ("b", "cron", 0.0001), ("c", "cron", 0.01),
        ]
        var outlierFiredAt: Int?
        for minute in 0...25 {
            let counters = cores.map { c in
                (Labels(["job": "lookout", "instance": c.instance + ":9477", "group": c.group, "mode": "user"]), c.cores * 60 * Double(minute))
            }
            let success = ["a", "b", "c"].map { i in
                (Labels(["job": "lookout", "instance": i + ":9477", "target": "api", "endpoint": "ready"]), i == "c" ? 0.0 : 1.0)
            }
            let families: [MetricFamily] = [
                .counter("lookout_process_cpu_seconds_total", help: "", counters),
                .gauge("lookout_probe_success", help: "", success),
                .gauge("up", help: "", [(Labels(["job": "lookout", "instance": "a:9477"]), 1)]),
            ]
            let now = WallTime(millisecondsSinceEpoch: Int64(minute) * 60_000)
            engine.ingest(families, at: now)
            let round = engine.evaluate(at: now)
            if outlierFiredAt == nil, let a = round.firing.first(where: { $0.labels["alertname"] == "ProcessGroupCPUOutlier" }) {
                outlierFiredAt = minute
                #expect(a.labels["instance"] == "e:9477")
                #expect(a.annotations["summary"] == "api on e:9477 uses 0.50 cores, over 10x the fleet median")
            }
        }
        // Pending from the first minute with a 5 m rate (minute 1), firing 15 minutes later.
        #expect(outlierFiredAt == 16)
        let firing = engine.alerts.filter { $0.state == .firing }.map { $0.labels["alertname"] ?? "" }
        // Two of three sidecars reach the api: 67% < 90% for more than 5 minutes.
        #expect(firing.sorted() == ["FleetProbeSuccessLow", "ProcessGroupCPUOutlier"])
        #expect(engine.groups.flatMap(\.rules).allSatisfy { $0.health == .ok })
    }
}
