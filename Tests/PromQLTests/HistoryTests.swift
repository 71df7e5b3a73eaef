import LookoutCore
import Series
import Testing
@testable import PromQL

@Suite struct HistoryTests {
    let t0 = WallTime(secondsSinceEpoch: 1_790_000_000)

    func policy(_ exprs: String...) throws -> RetentionPolicy {
        RetentionPolicy(expressions: try exprs.map { try PromQLParser.parse($0) })
    }

    func families(total: Double, latency: HistogramValue, includeGauge: Bool = true) -> [MetricFamily] {
        var out: [MetricFamily] = [
            .counter("req_total", help: "", [(Labels(["path": "/a"]), total)]),
            .histogram("lat_seconds", help: "", [(Labels(["path": "/a"]), latency)]),
            MetricFamily(
                name: "sum_seconds", help: "", type: .summary,
                metrics: [Metric(labels: [:], value: .summary(SummaryValue(quantiles: [.init(quantile: 0.99, value: 3)], sum: 10, count: 4)))]),
        ]
        if includeGauge { out.append(.gauge("up_gauge", help: "", [(["x": "1"], 1), (["x": "2"], 1)])) }
        return out
    }

    let latency = HistogramValue(
        buckets: [.init(upperBound: 0.1, cumulativeCount: 1), .init(upperBound: 1, cumulativeCount: 3), .init(upperBound: .infinity, cumulativeCount: 4)],
        sum: 2.5, count: 4)

    @Test func ingestNamesSeriesAsTheTextFormatDoes() throws {
        let h = History()
        h.ingest(families(total: 7, latency: latency), at: t0)
        let names = h.allLabels.map(\.promString)
        #expect(names.contains("{__name__=\"req_total\", path=\"/a\"}"))
        #expect(names.contains("{__name__=\"lat_seconds_bucket\", le=\"0.1\", path=\"/a\"}"))
        #expect(names.contains("{__name__=\"lat_seconds_bucket\", le=\"1\", path=\"/a\"}"))
        #expect(names.contains("{__name__=\"lat_seconds_bucket\", le=\"+Inf\", path=\"/a\"}"))
        #expect(names.contains("{__name__=\"lat_seconds_sum\", path=\"/a\"}"))
        #expect(names.contains("{__name__=\"lat_seconds_count\", path=\"/a\"}"))
        #expect(names.contains("{__name__=\"sum_seconds\", quantile=\"0.99\"}"))
        #expect(names.contains("{__name__=\"sum_seconds_count\"}"))
        #expect(h.seriesCount == 11)
        let v = try run(h, "histogram_quantile(0.5, lat_seconds_bucket)", at: t0.secondsSinceEpoch)
        #expect(v == ["{path=\"/a\"}": 0.1 + 0.9 * 0.5])
    }

    @Test func aSeriesMissingFromAnIngestIsStale() throws {
        let h = History()
        h.ingest(families(total: 7, latency: latency), at: t0)
        #expect(try run(h, "up_gauge", at: t0.secondsSinceEpoch).count == 2)
        h.ingest(families(total: 8, latency: latency, includeGauge: false), at: t0 + .seconds(1))
        #expect(try run(h, "up_gauge", at: (t0 + .seconds(1)).secondsSinceEpoch).isEmpty)
        #expect(try run(h, "req_total", at: (t0 + .seconds(1)).secondsSinceEpoch).count == 1)
        // Back again: visible again.
        h.ingest(families(total: 9, latency: latency), at: t0 + .seconds(2))
        #expect(try run(h, "up_gauge", at: (t0 + .seconds(2)).secondsSinceEpoch).count == 2)
        // The staleness marker is one sample, written once.
        let samples = h.samples(of: ["__name__": "up_gauge", "x": "1"])
        #expect(samples.count == 3)
        #expect(StaleNaN.isStale(samples[1].v))
    }

    @Test func keepsOnlyWhatTheRulesRead() throws {
        let h = History(policy: try policy("rate(req_total[1m]) > 0", "lat_seconds_count > 1", "up_gauge{x=\"2\"}"))
        for i in 0..<120 {
            h.ingest(families(total: Double(i), latency: latency), at: t0 + .seconds(Double(i)))
        }
        let kept = h.allLabels.map(\.promString)
        #expect(kept == [
            "{__name__=\"lat_seconds_count\", path=\"/a\"}", "{__name__=\"req_total\", path=\"/a\"}",
            "{__name__=\"up_gauge\", x=\"2\"}",
        ])
        // The range selector needs 1 m: 61 samples at 1 s; instant selectors only the latest.
        #expect(h.samples(of: ["__name__": "req_total", "path": "/a"]).count == 61)
        #expect(h.samples(of: ["__name__": "up_gauge", "x": "2"]).count == 1)
        #expect(h.samples(of: ["__name__": "lat_seconds_count", "path": "/a"]).count == 1)
        let now = (t0 + .seconds(119)).secondsSinceEpoch
        #expect(try run(h, "rate(req_total[1m])", at: now) == ["{path=\"/a\"}": 1])
        #expect(h.stats.evictedSamples == 0)
    }

    @Test func limitsAreEnforcedAndCounted() throws {
        let h = History(policy: .everything, limits: History.Limits(maxSeries: 3, maxSamplesPerSeries: 4))
        for i in 0..<6 {
            h.ingest([.gauge("g", help: "", [(["i": "1"], Double(i)), (["i": "2"], 1), (["i": "3"], 1), (["i": "4"], 1)])],
                at: t0 + .seconds(Double(i)))
        }
        #expect(h.seriesCount == 3)
        #expect(h.stats.seriesLimitDrops == 6)
        #expect(h.samples(of: ["__name__": "g", "i": "1"]).map(\.v) == [2, 3, 4, 5])
        #expect(h.stats.evictedSamples == 6)
        #expect(h.stats.samples == 12)
    }

    @Test func outOfOrderSamplesAreRefused() {
        let h = History()
        #expect(h.append(["__name__": "x"], 1000, 1))
        #expect(!h.append(["__name__": "x"], 1000, 2))
        #expect(!h.append(["__name__": "x"], 500, 2))
        #expect(h.stats.outOfOrderSamples == 2)
    }

    @Test func seriesGoneForLongerThanTheyCanBeReadAreDropped() throws {
        let h = History(policy: try policy("up_gauge"))
        h.ingest([.gauge("up_gauge", help: "", [(["x": "1"], 1)])], at: t0)
        #expect(h.seriesCount == 1)
        h.ingest([], at: t0 + .seconds(1))
        h.ingest([], at: t0 + .seconds(301))
        #expect(h.seriesCount == 1)
        h.ingest([], at: t0 + .seconds(320))
        #expect(h.seriesCount == 0)
    }

    @Test func changingThePolicyDropsAndReRetains() throws {
        let h = History(policy: try policy("max_over_time(a[10s])", "b"))
        for i in 0..<20 {
            h.ingest([.gauge("a", help: "", [([:], Double(i))]), .gauge("b", help: "", [([:], 1)])], at: t0 + .seconds(Double(i)))
        }
        #expect(h.samples(of: ["__name__": "a"]).count == 11)
        h.setPolicy(try policy("a"))
        #expect(h.allLabels == [["__name__": "a"]])
        h.ingest([.gauge("a", help: "", [([:], 1)])], at: t0 + .seconds(30))
        #expect(h.samples(of: ["__name__": "a"]).count == 1)
    }

    @Test func seriesNotation() throws {
        func values(_ s: String) throws -> [SeriesNotation.Item] { try SeriesNotation.parseValues(s) }
        #expect(try values("1x3") == [.value(1), .value(1), .value(1), .value(1)])
        #expect(try values("-2+4x3") == [.value(-2), .value(2), .value(6), .value(10)])
        #expect(try values("1-2x2 _x2 stale _ 5") == [.value(1), .value(-1), .value(-3), .missing, .missing, .stale, .missing, .value(5)])
        // Repeated addition, as promtool does: 0.1+0.1+0.1 is not 0.3.
        #expect(try values("0.1+0.1x2").last == .value(0.1 + 0.1 + 0.1))
        #expect(try values("Inf -Inf 1e3") == [.value(.infinity), .value(-.infinity), .value(1000)])
        // No hexadecimal numbers: `0x3` is 0 and three more zeros, `0+0x5` six zeros.
        #expect(try values("0x3") == Array(repeating: .value(0), count: 4))
        #expect(try values("0+0x5") == Array(repeating: .value(0), count: 6))
        #expect(try values("1+1x2 10-5x1") == [.value(1), .value(2), .value(3), .value(10), .value(5)])
        #expect(throws: SeriesNotation.Error.self) { try values("1+x3") }
        #expect(throws: SeriesNotation.Error.self) { try values("abc") }
        #expect(try SeriesNotation.parseMetric("foo{b=\"2\", a=\"1\"}") == ["__name__": "foo", "a": "1", "b": "2"])
        #expect(try SeriesNotation.parseMetric("{__name__=\"x\"}") == ["__name__": "x"])
        #expect(try SeriesNotation.parseMetric("{}") == Labels.empty)
        #expect(throws: SeriesNotation.Error.self) { try SeriesNotation.parseMetric("foo{a=~\"1\"}") }
    }
}

@Suite struct HistoryClockTests {
    @Test func aClockSetBackStartsTheHistoryOver() throws {
        let h = History()
        let t0 = WallTime(secondsSinceEpoch: 1_790_000_000)
        for i in 0..<10 { h.ingest([.counter("c_total", help: "", [(Labels.empty, Double(i))])], at: t0 + .seconds(Double(i))) }
        #expect(h.samples(of: ["__name__": "c_total"]).count == 10)
        let back = t0 - .seconds(3600)
        h.ingest([.counter("c_total", help: "", [(Labels.empty, 10)])], at: back)
        #expect(h.samples(of: ["__name__": "c_total"]).map(\.t) == [back.millisecondsSinceEpoch])
        #expect(h.stats.outOfOrderSamples == 0)
        #expect(try run(h, "c_total", at: back.secondsSinceEpoch) == ["{__name__=\"c_total\"}": 10])
    }
}
