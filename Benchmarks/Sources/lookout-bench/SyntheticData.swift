import Exposition
import LookoutCore
import Series

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

    /// `series` series (a histogram counts as one) of the kinds an exposition mixes: a
    /// quarter each counters, gauges, histograms of 12 buckets, and summaries.
    static func mixedFamilies(series: Int) -> [MetricFamily] {
        let parsed = try! ScrapeParser.parse(RealisticExposition.text(families: series / 40 + 1), format: .text)
        var out: [MetricFamily] = []
        var made = 0
        for var f in parsed where made < series {
            if f.metrics.count > series - made { f.metrics.removeLast(f.metrics.count - (series - made)) }
            made += f.metrics.count
            out.append(f)
        }
        return out
    }
}

/// A large exposition like a busy service's: HELP and TYPE lines, four label pairs per
/// counter, histograms of 12 buckets, summaries, long label values. Benchmarks/compare
/// generates the same bytes (its `realistic_exposition`), so the microbenchmark and the
/// side-by-side scrape parse the same input.
enum RealisticExposition {
    static let services = ["api", "auth", "billing", "catalog", "checkout", "search", "users", "orders"]
    static let methods = ["GET", "POST", "PUT", "DELETE"]
    static let codes = ["200", "201", "400", "404", "500", "503"]
    static let bounds = ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"]
    static let fractions = ["0", "25", "5", "75"]

    /// At least `bytes` bytes (whole families).
    static func text(bytes: Int) -> [UInt8] { generate { out, _ in out.count >= bytes } }

    /// Exactly `families` families.
    static func text(families: Int) -> [UInt8] { generate { _, f in f >= families } }

    static func generate(until done: ([UInt8], Int) -> Bool) -> [UInt8] {
        var out: [UInt8] = []
        var f = 0
        func w(_ s: String) { out.append(contentsOf: s.utf8) }
        while !done(out, f) {
            let svc = services[f % services.count]
            switch f % 4 {
            case 0:
                let name = "app_\(svc)_requests_\(f)_total"
                w("# HELP \(name) Requests handled by \(svc), by method, route and status.\n# TYPE \(name) counter\n")
                for i in 0..<64 {
                    w("\(name){method=\"\(methods[i % 4])\",route=\"/api/v\(i % 3 + 1)/\(svc)/items/\(i)\",code=\"\(codes[i % 6])\",instance=\"\(svc)-\(i % 8).prod.example.com:8080\"} \((i * 7919 + f * 104_729) % 10_000_000)\n")
                }
            case 1:
                let name = "app_\(svc)_queue_depth_\(f)"
                w("# HELP \(name) Items waiting in each queue partition.\n# TYPE \(name) gauge\n")
                for i in 0..<64 {
                    w("\(name){queue=\"\(svc)-queue-\(i)\",partition=\"\(i % 16)\"} \((i * 31 + f) % 1000).\(fractions[i % 4])\n")
                }
            case 2:
                let name = "app_\(svc)_request_duration_seconds_\(f)"
                w("# HELP \(name) Time to handle a request.\n# TYPE \(name) histogram\n")
                for i in 0..<16 {
                    let labels = "method=\"\(methods[i % 4])\",route=\"/api/v\(i % 3 + 1)/\(svc)/items/\(i)\""
                    let base = (i + f) % 50 + 1
                    for (k, le) in bounds.enumerated() {
                        w("\(name)_bucket{\(labels),le=\"\(le)\"} \(base * (k + 1))\n")
                    }
                    w("\(name)_sum{\(labels)} \(base * 6).\(fractions[i % 4])\n")
                    w("\(name)_count{\(labels)} \(base * bounds.count)\n")
                }
            default:
                let name = "app_\(svc)_response_size_bytes_\(f)"
                w("# HELP \(name) Size of responses.\n# TYPE \(name) summary\n")
                for i in 0..<16 {
                    let labels = "route=\"/api/v\(i % 3 + 1)/\(svc)/items/\(i)\""
                    let base = (i * 13 + f) % 900 + 100
                    w("\(name){\(labels),quantile=\"0.5\"} \(base)\n")
                    w("\(name){\(labels),quantile=\"0.9\"} \(base * 3)\n")
                    w("\(name){\(labels),quantile=\"0.99\"} \(base * 7)\n")
                    w("\(name)_sum{\(labels)} \(base * 1000)\n")
                    w("\(name)_count{\(labels)} \(base * 2)\n")
                }
            }
            f += 1
        }
        return out
    }
}
