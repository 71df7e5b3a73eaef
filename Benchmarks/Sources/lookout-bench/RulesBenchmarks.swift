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
            defaultRound("rules.round.default.full", gather: .full),
            defaultRound("rules.round.default.indexed", gather: .indexed),
            defaultRound("rules.round.default.nogather", gather: .once),
        ]
    }

    /// One round of the default rules as the agent runs it each second (gather + ingest +
    /// evaluation) over the registry of a running default agent (sampler, its own process
    /// metrics, rules, ...) plus probes and scrapes of a few targets: gathering every family,
    /// or only those the rules read (or, as the floor, the latter gathered once up front).
    enum Gather { case full, indexed, once }

    static func defaultRound(_ name: String, gather: Gather) -> Benchmark {
        Benchmark(name: name, unit: "gather + evaluation of the default rules", bytesPerOperation: 0) {
            let registry = try await ExpositionBenchmarks.runningDefaultAgent().metricsRegistry
            registry.register(SnapshotBox(probeFamilies()))
            registry.register(scraped: FixedScrapes(targets: scrapedTargets()))
            let engine = RuleEngine(clock: SystemClock())
            let diagnostics = engine.load(text: AgentConfig.defaultRulesText, file: "lookout.rules.yml")
            guard diagnostics.isEmpty else { throw NativeError(description: "rules: \(diagnostics.prefix(3))") }
            let filter = gather == .full ? .all : engine.familyFilter
            let once = registry.gather(matching: filter)
            var round = 0
            return .sync {
                let now = t0 + .seconds(Double(round))
                engine.ingest(gather == .once ? once : registry.gather(matching: filter), at: now)
                _ = engine.evaluate(at: now)
                round += 1
            }
        }
    }

    /// What the prober exports for 5 targets with a metrics endpoint and 3 health endpoints.
    static func probeFamilies() -> [MetricFamily] {
        var duration: [(Labels, Double)] = []
        var gauges: [(Labels, Double)] = []
        var latency: [(Labels, HistogramValue)] = []
        let buckets = [0.1, 0.5, 1, 2, 5, .infinity].map { HistogramValue.Bucket(upperBound: $0, cumulativeCount: 10) }
        for t in 0..<5 {
            for e in ["metrics", "live", "ready", "health"] {
                let l: Labels = ["target": "service\(t)", "endpoint": e]
                for phase in ["resolve", "connect", "tls", "processing", "transfer", "total"] { duration.append((l.setting("phase", phase), 0.01)) }
                gauges.append((l, 1))
                latency.append((l, HistogramValue(buckets: buckets, sum: 0.2, count: 10)))
            }
        }
        return [
            .gauge("lookout_probe_duration_seconds", help: "", duration),
            .gauge("lookout_probe_success", help: "", gauges),
            .gauge("lookout_probe_timed_out", help: "", gauges.map { ($0.0, 0) }),
            .gauge("lookout_probe_http_status_code", help: "", gauges.map { ($0.0, 200) }),
            .gauge("lookout_probe_circuit_open", help: "", gauges.map { ($0.0, 0) }),
            .counter("lookout_probe_timeouts_total", help: "", gauges.map { ($0.0, 0) }),
            .histogram("lookout_probe_latency_seconds", help: "", latency),
            .gauge("lookout_scrape_valid", help: "", (0..<5).map { (["target": "service\($0)"], 1) }),
            .gauge("lookout_scrape_samples", help: "", (0..<5).map { (["target": "service\($0)"], 400) }),
        ]
    }

    /// 5 targets' scrapes: 40 families of 10 series each, and their own process metrics.
    static func scrapedTargets() -> [ScrapedTarget] {
        (0..<5).map { t in
            let target: Labels = ["target": "service\(t)"]
            var families: [MetricFamily] = (0..<40).map { f in
                .counter("app_requests_\(f)_total", help: "", (0..<10).map { (target.setting("code", "\(200 + $0)"), Double($0)) })
            }
            families.append(.counter("process_cpu_seconds_total", help: "", [(target, 12)]))
            families.append(.gauge("process_resident_memory_bytes", help: "", [(target, 1e8)]))
            return ScrapedTarget(name: "service\(t)", generation: 1, families: families)
        }
    }

    struct FixedScrapes: ScrapedMetricsSource {
        let targets: [ScrapedTarget]
        func scrapedTargets() -> (version: UInt64, targets: [ScrapedTarget]) { (1, targets) }
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
