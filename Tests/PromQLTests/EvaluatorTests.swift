import Series
import Testing
@testable import PromQL

/// Loads series in promtool's notation, one sample per `interval` from time 0.
func makeHistory(_ series: [(String, String)], interval: Int64 = 60_000) throws -> History {
    let h = History()
    for (metric, values) in series {
        let labels = try SeriesNotation.parseMetric(metric)
        for (i, item) in try SeriesNotation.parseValues(values).enumerated() {
            let t = Int64(i) * interval
            switch item {
            case .value(let v): h.append(labels, t, v)
            case .stale: h.append(labels, t, StaleNaN.value)
            case .missing: break
            }
        }
    }
    return h
}

/// Evaluates at `seconds` and returns `labels → value` with labels in Prometheus' text form.
func run(_ h: History, _ expr: String, at seconds: Double) throws -> [String: Double] {
    let e = try PromQLParser.parse(expr)
    let v = try Evaluator(history: h).query(e, at: Int64(seconds * 1000))
    var out: [String: Double] = [:]
    for s in v { out[s.labels.promString] = s.value }
    #expect(out.count == v.count, "duplicate label sets in the result of \(expr)")
    return out
}

func evalError(_ h: History, _ expr: String, at seconds: Double) -> String? {
    do {
        _ = try Evaluator(history: h).query(try PromQLParser.parse(expr), at: Int64(seconds * 1000))
        return nil
    } catch let e as EvalError {
        return e.message
    } catch {
        return "\(error)"
    }
}

@Suite struct EvaluatorTests {
    @Test func rateIncreaseAndDeltaExtrapolate() throws {
        let h = try makeHistory([
            ("c{a=\"1\"}", "0+10x10"),
            ("reset{a=\"1\"}", "0 10 20 5 15"),
            ("late{a=\"1\"}", "_ _ _ 30 40 50"),
            ("g", "5 3 8 1"),
        ])
        // Samples exactly on both range ends: no extrapolation, 50 over 300 s.
        // Prometheus multiplies by (extrapolated/sampled)/range: 0.16666666666666669, as promtool prints.
        #expect(try run(h, "rate(c[5m])", at: 600) == ["{a=\"1\"}": 50.0 * (1.0 / 300.0)])
        #expect(try run(h, "increase(c[5m])", at: 600) == ["{a=\"1\"}": 50])
        // A reset adds the value before it: 15 - 0 + 20.
        #expect(try run(h, "increase(reset[4m])", at: 240) == ["{a=\"1\"}": 35])
        // The series starts 3 intervals into the range: extrapolated by half an interval
        // at the start (no further than the counter's zero point), fully at the end.
        // sampled 120 s, 20 increase; to start 180 s > 1.1·60 → 30 s; zero point at 180 s.
        #expect(try run(h, "increase(late[5m])", at: 300) == ["{a=\"1\"}": 20.0 * (150.0 / 120.0)])
        // delta is not corrected for resets: 1 - 5, no extrapolation needed.
        #expect(try run(h, "delta(g[3m])", at: 180) == ["{}": -4])
        // A single sample in range: no result.
        #expect(try run(h, "rate(c[30s])", at: 600) == [:])
    }

    @Test func irateUsesTheLastTwoSamples() throws {
        let h = try makeHistory([("c", "0 10 40 5")])
        #expect(try run(h, "irate(c[5m])", at: 120) == ["{}": 0.5])
        // A decrease is a reset: the last value counts from zero.
        #expect(try run(h, "irate(c[5m])", at: 180) == ["{}": 5.0 / 60.0])
    }

    @Test func overTimeFunctions() throws {
        let h = try makeHistory([("g", "1 5 NaN 3 2")])
        #expect(try run(h, "min_over_time(g[1m])", at: 60) == ["{}": 1])
        #expect(try run(h, "max_over_time(g[10m])", at: 240) == ["{}": 5])
        #expect(try run(h, "avg_over_time(g[1m])", at: 240) == ["{}": 2.5])
        // NaN sorts first: [NaN, 2, 3], the median is the middle one.
        #expect(try run(h, "quantile_over_time(0.5, g[2m])", at: 240) == ["{}": 2])
        // NaN sorts first.
        #expect(try run(h, "quantile_over_time(0, g[10m])", at: 240)["{}"]!.isNaN)
        #expect(try run(h, "quantile_over_time(2, g[10m])", at: 240) == ["{}": .infinity])
    }

    @Test func lookbackAndStaleness() throws {
        let h = try makeHistory([("a", "1 _ _ _ _ _ _"), ("b", "1 2 stale 4")])
        #expect(try run(h, "a", at: 300) == ["{__name__=\"a\"}": 1])
        #expect(try run(h, "a", at: 300.001) == [:])
        #expect(try run(h, "b", at: 90) == ["{__name__=\"b\"}": 2])
        #expect(try run(h, "b", at: 150) == [:])
        #expect(try run(h, "b", at: 180) == ["{__name__=\"b\"}": 4])
        // Range selectors skip staleness markers.
        #expect(try run(h, "max_over_time(b[3m])", at: 180) == ["{}": 4])
        #expect(try run(h, "min_over_time(b[3m])", at: 180) == ["{}": 1])
    }

    @Test func histogramQuantile() throws {
        let h = try makeHistory([
            ("h_bucket{le=\"0.1\"}", "10"),
            ("h_bucket{le=\"0.5\"}", "20"),
            ("h_bucket{le=\"1\"}", "40"),
            ("h_bucket{le=\"+Inf\"}", "40"),
            ("only_inf_bucket{le=\"+Inf\"}", "5"),
            ("no_inf_bucket{le=\"1\"}", "5"),
            ("nonmono_bucket{le=\"1\"}", "10"),
            ("nonmono_bucket{le=\"2\"}", "5"),
            ("nonmono_bucket{le=\"+Inf\"}", "10"),
            ("top_bucket{le=\"1\"}", "10"),
            ("top_bucket{le=\"+Inf\"}", "20"),
        ])
        #expect(try run(h, "histogram_quantile(0.5, h_bucket)", at: 0) == ["{}": 0.5])
        #expect(try run(h, "histogram_quantile(0.75, h_bucket)", at: 0) == ["{}": 0.75])
        #expect(try run(h, "histogram_quantile(0.1, h_bucket)", at: 0) == ["{}": 0.04000000000000001])
        #expect(try run(h, "histogram_quantile(-1, h_bucket)", at: 0) == ["{}": -.infinity])
        #expect(try run(h, "histogram_quantile(0.5, only_inf_bucket)", at: 0)["{}"]!.isNaN)
        #expect(try run(h, "histogram_quantile(0.5, no_inf_bucket)", at: 0)["{}"]!.isNaN)
        // The 2 bucket is raised to 10 (monotonic), so the median falls in the first bucket.
        #expect(try run(h, "histogram_quantile(0.5, nonmono_bucket)", at: 0) == ["{}": 0.5])
        // A rank in the +Inf bucket answers the highest finite bound.
        #expect(try run(h, "histogram_quantile(0.9, top_bucket)", at: 0) == ["{}": 1])
    }

    @Test func aggregations() throws {
        let h = try makeHistory([
            ("x{job=\"a\", i=\"1\"}", "1"),
            ("x{job=\"a\", i=\"2\"}", "NaN"),
            ("x{job=\"b\", i=\"1\"}", "4"),
            ("x{job=\"b\", i=\"2\"}", "10"),
        ])
        #expect(try run(h, "sum by (job) (x)", at: 0)["{job=\"b\"}"] == 14)
        #expect(try run(h, "count without (i) (x)", at: 0) == ["{job=\"a\"}": 2, "{job=\"b\"}": 2])
        #expect(try run(h, "max by (job) (x)", at: 0) == ["{job=\"a\"}": 1, "{job=\"b\"}": 10])
        #expect(try run(h, "min(x)", at: 0) == ["{}": 1])
        #expect(try run(h, "avg by (job) (x{job=\"b\"})", at: 0) == ["{job=\"b\"}": 7])
        #expect(try run(h, "quantile by (job) (0.5, x)", at: 0)["{job=\"b\"}"] == 7)
        #expect(try run(h, "quantile(0.25, x{job=\"b\"})", at: 0) == ["{}": 5.5])
        // `by (__name__)` keeps the name; `without` always drops it.
        #expect(try run(h, "sum by (__name__) (x{job=\"b\"})", at: 0) == ["{__name__=\"x\"}": 14])
    }

    @Test func binaryOperatorsAndNames() throws {
        let h = try makeHistory([
            ("a{i=\"1\"}", "3"), ("a{i=\"2\"}", "5"),
            ("b{i=\"1\"}", "2"), ("b{i=\"2\"}", "7"),
        ])
        #expect(try run(h, "a + b", at: 0) == ["{i=\"1\"}": 5, "{i=\"2\"}": 12])
        // Comparisons filter and keep the name (and the left value).
        #expect(try run(h, "a > b", at: 0) == ["{__name__=\"a\", i=\"1\"}": 3])
        #expect(try run(h, "a > bool b", at: 0) == ["{i=\"1\"}": 1, "{i=\"2\"}": 0])
        // With the scalar on the left the vector's value is kept.
        #expect(try run(h, "4 < a", at: 0) == ["{__name__=\"a\", i=\"2\"}": 5])
        #expect(try run(h, "2 ^ 3 ^ 2", at: 0) == ["{}": 512])
        #expect(try run(h, "-a", at: 0) == ["{i=\"1\"}": -3, "{i=\"2\"}": -5])
        #expect(try run(h, "a % 2", at: 0) == ["{i=\"1\"}": 1, "{i=\"2\"}": 1])
        #expect(try run(h, "a and on(i) b{i=\"2\"}", at: 0) == ["{__name__=\"a\", i=\"2\"}": 5])
        #expect(try run(h, "a unless b{i=\"2\"}", at: 0) == ["{__name__=\"a\", i=\"1\"}": 3])
        #expect(try run(h, "b{i=\"2\"} or a", at: 0) == ["{__name__=\"b\", i=\"2\"}": 7, "{__name__=\"a\", i=\"1\"}": 3])
        // on() keeps only the matching labels.
        #expect(try run(h, "a - on(i) b", at: 0) == ["{i=\"1\"}": 1, "{i=\"2\"}": -2])
    }

    @Test func matchingErrors() throws {
        let h = try makeHistory([
            ("a{i=\"1\", j=\"x\"}", "1"), ("a{i=\"1\", j=\"y\"}", "2"),
            ("b{i=\"1\"}", "2"),
            ("c{i=\"1\"}", "1"), ("d{i=\"1\"}", "1"),
        ])
        #expect(evalError(h, "a + ignoring(j) b", at: 0)?.contains("many-to-one matching must be explicit") == true)
        #expect(
            evalError(h, "b + ignoring(j) a", at: 0)?.contains(
                "found duplicate series for the match group {i=\"1\"} on the right hand-side of the operation") == true)
        #expect(evalError(h, "{__name__=~\"c|d\"} * 2", at: 0) == "vector cannot contain metrics with the same labelset")
        #expect(evalError(h, "rate({__name__=~\"c|d\"}[5m])", at: 0) == nil)
        #expect(evalError(h, "abs({__name__=~\"c|d\"})", at: 0) == "vector cannot contain metrics with the same labelset")
        // Comparison without bool keeps names, so no collision.
        #expect(evalError(h, "{__name__=~\"c|d\"} > 0", at: 0) == nil)
    }

    @Test func absentAndFunctions() throws {
        let h = try makeHistory([("x{a=\"1\"}", "-2")])
        #expect(try run(h, "absent(x)", at: 0) == [:])
        #expect(try run(h, "absent(nope{job=\"j\", i=~\"x\", k=\"1\", k=\"2\"})", at: 0) == ["{job=\"j\"}": 1])
        #expect(try run(h, "absent(sum(nope))", at: 0) == ["{}": 1])
        #expect(try run(h, "abs(x)", at: 0) == ["{a=\"1\"}": 2])
        #expect(try run(h, "clamp_min(x, 0)", at: 0) == ["{a=\"1\"}": 0])
        #expect(try run(h, "clamp_max(x, -5)", at: 0) == ["{a=\"1\"}": -5])
        #expect(try run(h, "time()", at: 61.5) == ["{}": 61.5])
        #expect(try run(h, "x{a=\"\"}", at: 0) == [:])
        #expect(try run(h, "x{b=\"\"}", at: 0) == ["{__name__=\"x\", a=\"1\"}": -2])
    }
}

@Suite struct EvaluationCacheTests {
    @Test func sharedSubexpressionsAreEvaluatedOnceWhileTheHistoryIsUnchanged() throws {
        let h = try makeHistory([("c{i=\"1\"}", "0+10x10"), ("c{i=\"2\"}", "0+20x10")])
        let cache = EvaluationCache()
        let e = Evaluator(history: h, cache: cache)
        let a = try PromQLParser.parse("rate(c[5m]) > 0.1")
        let b = try PromQLParser.parse("sum(rate(c[5m]))")
        let first = try e.query(a, at: 600_000)
        let second = try e.query(b, at: 600_000)
        #expect(cache.hits == 1)
        #expect(first.count == 2)
        #expect(second.first?.value == 0.5)
        // Another instant: nothing reused.
        _ = try e.query(b, at: 540_000)
        #expect(cache.hits == 1)
        // A new sample changes the history: results are computed again, and see it.
        h.append(["__name__": "c", "i": "3"], 540_000, 5)
        _ = try e.query(a, at: 540_000)
        #expect(cache.hits == 1)
        #expect(try e.query(PromQLParser.parse("count(c)"), at: 540_000).first?.value == 3)
        // The same results as without a cache.
        #expect(try Evaluator(history: h).query(b, at: 600_000) == second)
    }

    /// Keys printed when the expression was parsed find the same cached results as keys
    /// printed on each evaluation, across expressions written differently.
    @Test func keysMadeOnceShareResultsAsPrintedOnes() throws {
        let h = try makeHistory([("c{i=\"1\"}", "0+10x10"), ("c{i=\"2\"}", "0+20x10")])
        let a = try PromQLParser.parse("rate(c[5m]) > 0.1 unless on(i) c{i=\"2\"} == 999")
        let b = try PromQLParser.parse("sum(   rate( c [5m] ) )")
        let ka = SubexpressionKeys(a), kb = SubexpressionKeys(b)
        // a: its three binaries, the call and the instant selector (not the range one);
        // b: the aggregation and the call.
        #expect(ka.count == 5 && kb.count == 2)
        let keyed = EvaluationCache(), printed = EvaluationCache()
        let ek = Evaluator(history: h, cache: keyed), ep = Evaluator(history: h, cache: printed)
        let ra = try ek.query(a, at: 600_000, keys: ka)
        let rb = try ek.query(b, at: 600_000, keys: kb)
        #expect(ra == (try ep.query(a, at: 600_000)))
        #expect(rb == (try ep.query(b, at: 600_000)))
        #expect(keyed.hits == printed.hits && keyed.hits == 1)
        #expect(rb.first?.value == 0.5)
    }
}
