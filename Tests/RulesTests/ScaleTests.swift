import LookoutCore
import PromQL
import Series
import TestSupport
import Testing
@testable import Rules

/// 100 rules over 10 000 series: the results at that size are checked here; the time per
/// evaluation is printed (run with `swift test -c release --filter ScaleHeavyTests` to measure),
/// never asserted.
@Suite(.serialized) struct ScaleHeavyTests {
    static let targets = 1000
    static let endpoints = ["live", "ready"]

    /// 10 000 series: per target and endpoint the probe's total and connect duration,
    /// timed_out and success (8 000), and per target two request counters (2 000).
    static func families(round: Int) -> [MetricFamily] {
        var duration: [(Labels, Double)] = []
        var timedOut: [(Labels, Double)] = []
        var success: [(Labels, Double)] = []
        var requests: [(Labels, Double)] = []
        duration.reserveCapacity(targets * 4)
        for t in 0..<targets {
            let target = "t\(t)"
            for e in endpoints {
                // Every 50th target is slow, every 100th times out, every 250th fails.
                let slow = t % 50 == 0, timeout = t % 100 == 1, down = t % 250 == 2
                let d = timeout ? 5.0 : (slow ? 3.0 : 0.05 + Double(t % 7) * 0.01)
                duration.append((["target": target, "endpoint": e, "phase": "total"], d))
                duration.append((["target": target, "endpoint": e, "phase": "connect"], 0.001))
                timedOut.append((["target": target, "endpoint": e], timeout ? 1 : 0))
                success.append((["target": target, "endpoint": e], timeout || down ? 0 : 1))
            }
            for code in ["200", "500"] {
                let perSecond = code == "200" ? Double(t % 10 + 1) : (t % 20 == 0 ? 2 : 0.01)
                requests.append((["target": target, "code": code], perSecond * Double(round)))
            }
        }
        return [
            .gauge("lookout_probe_duration_seconds", help: "", duration),
            .gauge("lookout_probe_timed_out", help: "", timedOut),
            .gauge("lookout_probe_success", help: "", success),
            .counter("requests_total", help: "", requests),
        ]
    }

    /// The default rules plus generated ones, 100 in all: range functions, aggregations, one-to-one
    /// matching, set operators and recording rules, each over thousands of series.
    /// With `distinct`, every rule's selectors differ (a matcher that matches every series),
    /// so no rule can reuse another's subexpression results: the cost without sharing.
    static func rules(distinct: Bool) throws -> String {
        var text = try FileIO.readText(Repo.path("alerts/lookout.rules.yml"))
        let defaults = text.split(separator: "\n").filter { $0.trimmingPrefix(while: { $0 == " " }).hasPrefix("- alert:") }.count
        text += "\n  - name: generated\n    rules:\n"
        for i in 0..<(100 - defaults) {
            var expr: String
            switch i % 5 {
            case 0: expr = "rate(requests_total{code=\\\"500\\\"}[1m]) > \(1 + i % 3)"
            case 1: expr = "sum by (target) (rate(requests_total[1m])) > \(8 + i % 4)"
            case 2: expr = "lookout_probe_duration_seconds{phase=\\\"total\\\"} * on(target, endpoint) lookout_probe_success > \(2 + i % 2)"
            case 3: expr = "avg_over_time(lookout_probe_duration_seconds{phase=\\\"total\\\"}[30s]) > 2.\(i % 9) and ignoring(phase) lookout_probe_success == 1"
            default: expr = "rate(requests_total{code=\\\"500\\\"}[1m]) / ignoring(code) rate(requests_total{code=\\\"200\\\"}[1m]) > 0.1"
            }
            if distinct { expr = expr.replacingOccurrences("{", "{unused!=\\\"\(i)\\\", ") }
            if i % 19 == 4 {
                text += "      - record: generated:rule\(i)\n        expr: \"\(expr)\"\n"
            } else {
                text += "      - alert: Generated\(i)\n        expr: \"\(expr)\"\n        labels: {severity: warning}\n        annotations: {summary: \"{{ $labels.target }} {{ $value | humanize }}\"}\n"
            }
        }
        return text
    }

    @Test(arguments: [false, true])
    func hundredRulesOverTenThousandSeries(distinct: Bool) throws {
        let clock = SystemClock()
        let engine = RuleEngine(clock: clock)
        let text = try Self.rules(distinct: distinct)
        let diags = engine.load(text: text, file: "scale.yml")
        #expect(diags.isEmpty, "\(diags.prefix(3))")
        #expect(engine.groups.flatMap(\.rules).count == 100)
        let t0 = WallTime(secondsSinceEpoch: 1_790_000_000)
        // A minute of history at 1 s, enough for the 1 m ranges.
        var ingestTime = Duration.zero
        for round in 0...60 {
            let f = Self.families(round: round)
            let start = clock.now
            engine.ingest(f, at: t0 + .seconds(Double(round)))
            ingestTime += clock.now - start
        }
        #expect(engine.historyStats.series == 8000)
        // Then, as the run loop does each second: ingest a snapshot, evaluate.
        var evalTimes: [Duration] = []
        var rounds: [AlertRound] = []
        for round in 61...65 {
            let now = t0 + .seconds(Double(round))
            engine.ingest(Self.families(round: round), at: now)
            let start = clock.now
            rounds.append(engine.evaluate(at: now))
            evalTimes.append(clock.now - start)
        }
        let alerts = engine.alerts
        let byName = Dictionary(grouping: alerts, by: { $0.labels["alertname"] ?? "" }).mapValues(\.count)
        // 20 slow targets × 2 endpoints; 10 timeouts × 2; 4 failing × 2.
        #expect(byName["TargetSlow"] == 40)
        #expect(byName["TargetTimeout"] == 20)
        #expect(byName["TargetDown"] == 8)
        #expect(byName["TargetVerySlow"] == nil)
        // rate(500s) = 2/s on every 20th target: above 1 (i % 3 == 0) but not above 2 or 3.
        #expect(byName["Generated0"] == 50)
        #expect(byName["Generated15"] == 50)
        #expect(byName["Generated5"] == nil)
        #expect(byName["Generated1"] == 200)
        // Everything fired at the first evaluation (no `for`) and is handed out as firing, once
        // per round; nothing resolved.
        let firingLabels = Set(alerts.filter { $0.state == .firing }.map(\.labels))
        #expect(Set(rounds[0].firing.map(\.labels)) == firingLabels)
        #expect(rounds.allSatisfy { $0.firing.count == firingLabels.count && $0.resolved.isEmpty })
        let failures = engine.groups.flatMap(\.rules).filter { $0.health != .ok }
        #expect(failures.isEmpty, "\(failures.map { "\($0.name): \($0.lastError)" })")
        let best = evalTimes.min()!
        print(
            "scale: 100 rules over 10000 series\(distinct ? " (no shared subexpressions)" : ""): evaluation \(best.milliseconds) ms (best of \(evalTimes.count)),"
                + " ingest of 10000 series \((ingestTime / 61).milliseconds) ms per snapshot, \(alerts.count) alerts")
    }
}
