import Exposition
import LookoutCore

/// Every benchmark, by name. Each module's benchmarks live in a file of their own.
let allBenchmarks: [Benchmark] = [
    Benchmark(name: "registry.merge.10k", unit: "gather of 10 000 series", bytesPerOperation: 0) {
        let families = SyntheticSeries.families(series: 10_000)
        let registry = Registry([SnapshotBox(families)])
        return { _ = registry.gather() }
    },
] + ProfilesBenchmarks.all

/// A realistic set of families: counters, gauges and histograms with a few labels each.
enum SyntheticSeries {
    static func families(series: Int) -> [MetricFamily] {
        var out: [MetricFamily] = []
        var made = 0
        var f = 0
        while made < series {
            let n = min(50, series - made)
            let metrics = (0..<n).map { i in
                Metric(labels: ["handler": "/api/v\(f % 3)/item\(i)", "method": i % 2 == 0 ? "GET" : "POST", "code": "200"], Double(i * 17 + f))
            }
            out.append(MetricFamily(name: "app_requests_\(f)_total", help: "Requests handled.", type: .counter, metrics: metrics))
            made += n
            f += 1
        }
        return out
    }
}
