import Series

/// Families like the agent exposes (names from DESIGN.md), with every type and awkward values.
enum Fixtures {
    static let latencyBounds: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 2.5, 5, 10]

    static func histogram(_ observations: [Double], bounds: [Double] = latencyBounds) -> HistogramValue {
        var acc = HistogramAccumulator(upperBounds: bounds)
        for o in observations { acc.observe(o) }
        return acc.value
    }

    /// A realistic set that `promtool check metrics` accepts in text format.
    static var agent: [MetricFamily] {
        [
            .counter(
                "lookout_host_cpu_seconds_total", help: "CPU time spent by all CPUs, by mode, from /proc/stat.",
                unit: "seconds",
                [
                    (["cpu": "0", "mode": "idle"], 123456.78), (["cpu": "0", "mode": "user"], 4321.5),
                    (["cpu": "1", "mode": "idle"], 120000), (["cpu": "1", "mode": "user"], 5000.25),
                ]),
            .histogram(
                "lookout_probe_latency_seconds", help: "Latency of health probes.", unit: "seconds",
                [
                    (Labels(["endpoint": "live", "target": "api"]), histogram([0.003, 0.02, 0.2, 0.7, 3])),
                    (Labels(["endpoint": "ready", "target": "api"]), histogram([0.1, 0.1, 12])),
                ]),
            .gauge(
                "lookout_probe_success", help: "Whether the last probe succeeded (1) or not (0).",
                [(["endpoint": "live", "target": "api"], 1), (["endpoint": "ready", "target": "api"], 0)]),
            .gauge(
                "lookout_probe_duration_seconds", help: "Phases of the last probe.", unit: "seconds",
                [
                    (["endpoint": "live", "phase": "connect", "target": "api"], 0.000123),
                    (["endpoint": "live", "phase": "total", "target": "api"], 1.5e-3),
                ]),
            MetricFamily(
                name: "lookout_rule_evaluation_duration_seconds", help: "Rule evaluation time.", type: .summary,
                unit: "seconds",
                metrics: [
                    Metric(
                        labels: ["group": "lookout"],
                        value: .summary(
                            SummaryValue(
                                quantiles: [.init(quantile: 0.5, value: 0.0012), .init(quantile: 0.99, value: 0.0031)],
                                sum: 12.5, count: 4200)))
                ]),
            .gauge(
                "lookout_build_info", help: "Build information; the value is 1.",
                [(["version": "0.1.0 \"dev\" \\ build\nline two"], 1)]),
            .counter(
                "process_cpu_seconds_total", help: "Total user and system CPU time spent in seconds.", unit: "seconds",
                [([:], 12.34)]),
            .gauge("process_start_time_seconds", help: "Start time of the process since unix epoch in seconds.", unit: "seconds",
                [([:], 1_700_000_000.25)]),
            MetricFamily(
                name: "scraped_requests_in_flight", help: "Re-exposed \\ from a target\nwith \"quotes\".", type: .untyped,
                metrics: [Metric(labels: ["target": "api"], value: .single(3), timestampMilliseconds: 1_700_000_000_123)]),
        ]
    }

    /// Every type, for round trips through both text formats.
    static var allTypes: [MetricFamily] {
        agent + [
            .gauge("weird_values", help: "Specials.", [
                (["v": "nan"], .nan), (["v": "pinf"], .infinity), (["v": "ninf"], -.infinity),
                (["v": "big"], 1.7976931348623157e308), (["v": "tiny"], 2.2250738585072014e-308), (["v": "neg"], -0.5),
                (["v": "huge_int"], 1e15), (["v": "third"], 1.0 / 3),
            ]),
            .gauge("empty_value_label", help: "", [(["a": ""], 1)]),
        ]
    }

    /// OpenMetrics-only types (they do not survive text 0.0.4 unchanged).
    static var openMetricsOnly: [MetricFamily] {
        [
            MetricFamily(
                name: "lookout_target_info", help: "Target facts.", type: .info,
                metrics: [Metric(labels: ["target": "api", "version": "1.2"], 1)]),
            MetricFamily(
                name: "lookout_circuit_state", help: "Circuit breaker state.", type: .stateset,
                metrics: [
                    Metric(labels: ["lookout_circuit_state": "closed", "target": "api"], 1),
                    Metric(labels: ["lookout_circuit_state": "open", "target": "api"], 0),
                ]),
            MetricFamily(
                name: "lookout_queue_wait_seconds", help: "Jobs waiting, by wait.", type: .gaugeHistogram, unit: "seconds",
                metrics: [Metric(labels: [:], value: .histogram(histogram([0.2, 0.3, 4], bounds: [0.1, 1, 10])))]),
        ]
    }

    static func text(_ s: String) -> [UInt8] { Array(s.utf8) }
}

extension Array where Element == UInt8 {
    var string: String { String(decoding: self, as: UTF8.self) }
}

/// Equality that treats NaN as equal to NaN, for comparing parsed families.
func sameFamilies(_ a: [MetricFamily], _ b: [MetricFamily]) -> Bool {
    guard a.count == b.count else { return false }
    for (x, y) in zip(a, b) {
        guard x.name == y.name, x.help == y.help, x.type == y.type, x.unit == y.unit, x.metrics.count == y.metrics.count
        else { return false }
        for (m, n) in zip(x.metrics, y.metrics) {
            guard m.labels == n.labels, m.timestampMilliseconds == n.timestampMilliseconds else { return false }
            switch (m.value, n.value) {
            case (.single(let u), .single(let v)): guard same(u, v) else { return false }
            case (.histogram(let h), .histogram(let k)):
                guard same(h.sum, k.sum), same(h.count, k.count), h.buckets.count == k.buckets.count else { return false }
                for (b, c) in zip(h.buckets, k.buckets) {
                    guard same(b.upperBound, c.upperBound), same(b.cumulativeCount, c.cumulativeCount) else { return false }
                }
            case (.summary(let s), .summary(let t)):
                guard same(s.sum, t.sum), same(s.count, t.count), s.quantiles.count == t.quantiles.count else { return false }
                for (q, r) in zip(s.quantiles, t.quantiles) {
                    guard same(q.quantile, r.quantile), same(q.value, r.value) else { return false }
                }
            default: return false
            }
        }
    }
    return true
}

func same(_ a: Double, _ b: Double) -> Bool { a == b || (a.isNaN && b.isNaN) }
