import Agent
import LookoutCore
import Rules
import Series

/// The rule engine's work each second: ingest the exposition's series the rules read, then
/// evaluate 100 rules (the default rules and generated ones) over 10 000 series, with a
/// minute of history behind them. The data and rules are those of
/// Tests/RulesTests/ScaleTests.swift, whose results are checked there.
enum RulesBenchmarks {
    static let targets = 1000
    static let endpoints = ["live", "ready"]
    static let t0 = WallTime(secondsSinceEpoch: 1_790_000_000)

    static var all: [Benchmark] {
        [
            Benchmark(name: "rules.ingest.10k", unit: "ingest of a 10 000-series snapshot", bytesPerOperation: 0) {
                let (engine, rounds, next) = try prepared()
                var round = next
                return .sync {
                    engine.ingest(rounds[round % rounds.count], at: t0 + .seconds(Double(round)))
                    round += 1
                }
            },
            Benchmark(name: "rules.round.100x10k", unit: "ingest + evaluation of 100 rules", bytesPerOperation: 0) {
                let (engine, rounds, next) = try prepared()
                var round = next
                return .sync {
                    let now = t0 + .seconds(Double(round))
                    engine.ingest(rounds[round % rounds.count], at: now)
                    _ = engine.evaluate(at: now)
                    round += 1
                }
            },
        ]
    }

    /// An engine with the rules loaded and a minute of history; the snapshots of 61 rounds
    /// (reused cyclically: a counter then goes back once a minute, as after a restart).
    static func prepared() throws -> (RuleEngine, [[MetricFamily]], Int) {
        let engine = RuleEngine(clock: SystemClock())
        let diagnostics = engine.load(text: rules(), file: "bench.rules.yml")
        guard diagnostics.isEmpty else { throw NativeError(description: "rules: \(diagnostics.prefix(3))") }
        let rounds = (0...60).map(families(round:))
        for round in 0...60 { engine.ingest(rounds[round], at: t0 + .seconds(Double(round))) }
        _ = engine.evaluate(at: t0 + .seconds(60))
        let count = engine.groups.flatMap(\.rules).count
        guard count == 100 else { throw NativeError(description: "expected 100 rules, loaded \(count)") }
        return (engine, rounds, 61)
    }

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

    /// The default rules plus generated ones, 100 in all (as Tests/RulesTests/ScaleTests.swift):
    /// range functions, aggregations, one-to-one matching, set operators and recording rules,
    /// each over thousands of series.
    static func rules() -> String {
        var text = AgentConfig.defaultRulesText
        let defaults = text.split(separator: "\n").filter { $0.drop(while: { $0 == " " }).hasPrefix("- alert:") }.count
        text += "\n  - name: generated\n    rules:\n"
        for i in 0..<(100 - defaults) {
            let expr: String
            switch i % 5 {
            case 0: expr = "rate(requests_total{code=\\\"500\\\"}[1m]) > \(1 + i % 3)"
            case 1: expr = "sum by (target) (rate(requests_total[1m])) > \(8 + i % 4)"
            case 2: expr = "lookout_probe_duration_seconds{phase=\\\"total\\\"} * on(target, endpoint) lookout_probe_success > \(2 + i % 2)"
            case 3: expr = "avg_over_time(lookout_probe_duration_seconds{phase=\\\"total\\\"}[30s]) > 2.\(i % 9) and ignoring(phase) lookout_probe_success == 1"
            default: expr = "rate(requests_total{code=\\\"500\\\"}[1m]) / ignoring(code) rate(requests_total{code=\\\"200\\\"}[1m]) > 0.1"
            }
            if i % 19 == 4 {
                text += "      - record: generated:rule\(i)\n        expr: \"\(expr)\"\n"
            } else {
                text += "      - alert: Generated\(i)\n        expr: \"\(expr)\"\n        labels: {severity: warning}\n        annotations: {summary: \"{{ $labels.target }} {{ $value | humanize }}\"}\n"
            }
        }
        return text
    }
}
