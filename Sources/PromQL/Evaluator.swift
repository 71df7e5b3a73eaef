#if canImport(Glibc)
import Glibc
#endif
import GoFormat
import Series

/// Evaluates expressions at one instant over a `History`, with the semantics of
/// Prometheus 2.42 (whose `promtool` is the yardstick): ranges and the lookback window
/// include both ends, staleness markers end a series at once, subqueries are evaluated at
/// steps aligned to multiples of their step, `@` fixes a selector's time.
public struct Evaluator {
    public let history: History
    /// How far back an instant selector looks for the latest sample (Prometheus: 5 m).
    public var lookbackMilliseconds: Int64
    /// The step of subqueries written without one (`[1h:]`): Prometheus uses the global
    /// evaluation interval; lookout the rules' interval.
    public var defaultSubqueryStepMilliseconds: Int64

    /// Results of subexpressions already evaluated at the same instant over the same
    /// history, shared by the rules of one evaluation (rules often repeat selectors).
    public let cache: EvaluationCache?
    /// The cache keys of the expression being evaluated, made when it was parsed; without
    /// them a key is the subexpression printed anew.
    var keys: SubexpressionKeys?

    public init(
        history: History, lookbackMilliseconds: Int64 = History.lookbackMilliseconds,
        defaultSubqueryStepMilliseconds: Int64 = 60_000, cache: EvaluationCache? = nil
    ) {
        self.history = history
        self.lookbackMilliseconds = lookbackMilliseconds
        self.defaultSubqueryStepMilliseconds = defaultSubqueryStepMilliseconds
        self.cache = cache
    }

    /// Evaluates `expr` at `t` (ms since the epoch) as a rule does: a scalar becomes a
    /// one-element vector without labels; other result types are errors.
    /// `query(expr, at:)` with the cache keys of `expr`, made once by `SubexpressionKeys(expr)`.
    public func query(_ expr: Expr, at t: Int64, keys: SubexpressionKeys) throws(EvalError) -> [Sample] {
        var keyed = self
        keyed.keys = keys
        return try keyed.query(expr, at: t)
    }

    public func query(_ expr: Expr, at t: Int64) throws(EvalError) -> [Sample] {
        switch try evaluate(expr, at: t) {
        case .vector(let v): return v
        case .scalar(let s): return [Sample(labels: .empty, value: s)]
        case .string: throw EvalError("rule result is not a vector or scalar")
        }
    }

    public func evaluate(_ expr: Expr, at t: Int64) throws(EvalError) -> Value {
        if expr.type == .matrix { throw EvalError("rule result is not a vector or scalar") }
        return try eval(expr, Context(time: t, queryTime: t, tracker: nil, subqueryStart: nil))
    }

    /// Where an evaluation stands: its time, the query's time (`start()` and `end()`), and,
    /// inside a subquery, the checks Prometheus makes across the subquery's steps.
    struct Context {
        var time: Int64
        let queryTime: Int64
        let tracker: RangeTracker?
        /// The first step of the innermost subquery (nil outside subqueries).
        let subqueryStart: Int64?

        func at(_ time: Int64) -> Context {
            Context(time: time, queryTime: queryTime, tracker: tracker, subqueryStart: subqueryStart)
        }

        /// The time a selector or subquery with these modifiers reads at.
        func reference(_ at: AtModifier?, offset: Int64) -> Int64 {
            let base: Int64
            switch at {
            case .timestamp(let ms)?: base = ms
            case .start?, .end?: base = queryTime
            case nil: base = time
            }
            return base &- offset
        }
    }

    func eval(_ e: Expr, _ ctx: Context) throws(EvalError) -> Value {
        guard let cache, ctx.tracker == nil else { return try evalUncached(e, ctx) }
        switch e {
        case .vectorSelector, .call, .aggregate, .binary:
            // Valid while the history has not changed and for this instant only.
            if cache.time != ctx.time || cache.version != history.version {
                cache.reset(time: ctx.time, version: history.version)
            }
            let key = keys?.key(e) ?? e.description
            if let v = cache.values[key] {
                cache.hits += 1
                return v
            }
            let v = try evalUncached(e, ctx)
            cache.values[key] = v
            return v
        default:
            return try evalUncached(e, ctx)
        }
    }

    func evalUncached(_ e: Expr, _ ctx: Context) throws(EvalError) -> Value {
        switch e {
        case .number(let v, _): return .scalar(v)
        case .string(let s, _): return .string(s)
        case .paren(let inner, _): return try eval(inner, ctx)
        case .vectorSelector(let vs): return .vector(selectInstant(vs, ctx))
        case .matrixSelector, .subquery:
            throw EvalError("a range vector can only be used as a function argument")
        case .unaryMinus(let inner, let range):
            switch try eval(inner, ctx) {
            case .scalar(let v): return .scalar(-v)
            case .vector(var vec):
                if let tracker = ctx.tracker {
                    for s in vec where !tracker.record(.unaryMinus, range, s.labels.droppingMetricName, from: s.labels) {
                        throw EvalError.sameLabelset
                    }
                }
                for i in vec.indices { vec[i].value = -vec[i].value }
                try dropNames(&vec)
                return .vector(vec)
            case .string: throw EvalError("unary minus on a string")
            }
        case .call(let f, let args, let range):
            if f.takesMatrix { return .vector(try evalRangeFunction(f, args, range, ctx)) }
            return try evalCall(f, args, ctx)
        case .aggregate(let op, let param, let inner, let grouping, let without, _):
            var p: Value?
            if let param { p = try eval(param, ctx) }
            guard case .vector(let vec) = try eval(inner, ctx) else { throw EvalError("aggregation over a non-vector") }
            return .vector(try aggregate(op, p, vec, grouping: grouping, without: without))
        case .binary(let op, let l, let r, let returnBool, let matching, _):
            return try evalBinary(op, l, r, returnBool: returnBool, matching: matching, ctx)
        }
    }

    // MARK: Selectors

    func selectInstant(_ vs: VectorSelector, _ ctx: Context) -> [Sample] {
        let ref = ctx.reference(vs.at, offset: vs.offsetMilliseconds)
        let ids = history.select(vs.matchers)
        var out: [Sample] = []
        out.reserveCapacity(ids.count)
        for id in ids {
            if let s = history.instantSample(id, at: ref, lookback: lookbackMilliseconds) {
                out.append(Sample(labels: history.labels(id), value: s.value))
            }
        }
        return out
    }

    /// The samples of an instant selector with their own timestamps (for `timestamp()`).
    func selectInstantTimes(_ vs: VectorSelector, _ ctx: Context) -> [Sample] {
        let ref = ctx.reference(vs.at, offset: vs.offsetMilliseconds)
        var out: [Sample] = []
        for id in history.select(vs.matchers) {
            if let s = history.instantSample(id, at: ref, lookback: lookbackMilliseconds) {
                out.append(Sample(labels: history.labels(id), value: Double(s.time) / 1000))
            }
        }
        return out
    }

    /// Drops `__name__` from every sample; if that makes two samples equal, that is the
    /// error Prometheus reports. Only inputs with more than one name can collide.
    func dropNames(_ vec: inout [Sample]) throws(EvalError) {
        var firstName: String?
        var several = false
        for i in vec.indices {
            let name = vec[i].labels["__name__"]
            if i == 0 {
                firstName = name
            } else if name != firstName {
                several = true
            }
            if name != nil { vec[i].labels = vec[i].labels.droppingMetricName }
        }
        if several { try checkUnique(vec) }
    }

    func checkUnique(_ vec: [Sample]) throws(EvalError) {
        guard vec.count > 1 else { return }
        var seen = Set<Labels>(minimumCapacity: vec.count)
        for s in vec where !seen.insert(s.labels).inserted {
            throw EvalError.sameLabelset
        }
    }

    // MARK: Arguments

    func scalarArg(_ e: Expr, _ ctx: Context) throws(EvalError) -> Double {
        switch try eval(e, ctx) {
        case .scalar(let v): return v
        default: throw EvalError("expected a scalar argument")
        }
    }

    func vectorArg(_ e: Expr, _ ctx: Context) throws(EvalError) -> [Sample] {
        guard case .vector(let v) = try eval(e, ctx) else { throw EvalError("expected an instant vector argument") }
        return v
    }

    func stringArg(_ e: Expr, _ ctx: Context) throws(EvalError) -> String {
        guard case .string(let s) = try eval(e, ctx) else { throw EvalError("expected a string argument") }
        return s
    }

    // MARK: Subqueries

    /// One series of a subquery's result.
    struct StepSeries {
        var labels: Labels
        var ts: [Int64]
        var vs: [Double]
    }

    /// Evaluates a subquery's expression at every step of its range: steps are multiples of
    /// the step from the first one at or after the range's start, up to its end (the
    /// reference time), as Prometheus aligns them.
    func evalSubquery(_ sq: Subquery, _ ctx: Context) throws(EvalError) -> (series: [StepSeries], end: Int64) {
        let end = ctx.reference(sq.at, offset: sq.offsetMilliseconds)
        let step = sq.stepMilliseconds > 0 ? sq.stepMilliseconds : max(1, defaultSubqueryStepMilliseconds)
        let from = end &- sq.rangeMilliseconds
        var start = step &* (from / step)
        if start < from { start &+= step }
        let inner = Context(time: start, queryTime: ctx.queryTime, tracker: RangeTracker(), subqueryStart: start)
        var index: [Labels: Int] = [:]
        var series: [StepSeries] = []
        var t = start
        while t <= end {
            let result: [Sample]
            switch try eval(sq.expr, inner.at(t)) {
            case .vector(let v): result = v
            case .scalar(let s): result = [Sample(labels: .empty, value: s)]
            case .string: throw EvalError("subquery is only allowed on instant vector")
            }
            for s in result {
                if let i = index[s.labels] {
                    series[i].ts.append(t)
                    series[i].vs.append(s.value)
                } else {
                    index[s.labels] = series.count
                    series.append(StepSeries(labels: s.labels, ts: [t], vs: [s.value]))
                }
            }
            let (next, overflow) = t.addingReportingOverflow(step)
            if overflow { break }
            t = next
        }
        return (series, end)
    }
}

extension EvalError {
    static let sameLabelset = EvalError("vector cannot contain metrics with the same labelset")
}

/// The checks Prometheus makes over the whole range of a subquery rather than step by step:
/// a unary minus or a range function whose results from two different series have the same
/// labels fails, even when the two never have a value at the same step.
final class RangeTracker {
    enum Node: Hashable { case unaryMinus, rangeFunction }

    private struct Key: Hashable {
        let node: Node
        let range: PositionRange
        let labels: Labels
    }

    private var sources: [Key: Labels] = [:]

    /// Records that `source` gave `output` at a step; false when another series gave it before.
    func record(_ node: Node, _ range: PositionRange, _ output: Labels, from source: Labels) -> Bool {
        let key = Key(node: node, range: range, labels: output)
        if let previous = sources[key] { return previous == source }
        sources[key] = source
        return true
    }
}

/// Go's `math.Max`/`math.Min`: infinities first, then NaN, then signed zeros.
enum GoMath {
    static func max(_ x: Double, _ y: Double) -> Double {
        if x == .infinity || y == .infinity { return .infinity }
        if x.isNaN || y.isNaN { return .nan }
        if x == 0 && x == y { return x.sign == .minus ? y : x }
        return x > y ? x : y
    }

    static func min(_ x: Double, _ y: Double) -> Double {
        if x == -.infinity || y == -.infinity { return -.infinity }
        if x.isNaN || y.isNaN { return .nan }
        if x == 0 && x == y { return x.sign == .minus ? x : y }
        return x < y ? x : y
    }

    /// Go's `int64(f)` on amd64: truncation, and the "integer indefinite" value for NaN and
    /// values out of range.
    static func int64(_ f: Double) -> Int64 {
        if f.isNaN || f >= 9.223372036854775807e18 || f < -9.223372036854775808e18 { return .min }
        return Int64(f)
    }
}

/// Subexpression results of one evaluation instant (see `Evaluator.cache`), and compiled
/// regular expressions of `label_replace`.
public final class EvaluationCache {
    var time: Int64 = .min
    var version: UInt64 = .max
    var values: [String: Value] = [:]
    var regexes: [String: GoRegexp] = [:]
    /// How many subexpressions were answered from the cache (for tests and tuning).
    public internal(set) var hits = 0

    public init() {}

    func reset(time: Int64, version: UInt64) {
        self.time = time
        self.version = version
        values.removeAll(keepingCapacity: true)
    }
}

/// The evaluation cache's keys for the subexpressions of one expression: their PromQL text,
/// printed once (when a rule loads) instead of on every evaluation. A subexpression is
/// found by its kind and its place in the text; a place two of them share is left out
/// (printed anew), so a key is never another subexpression's.
public struct SubexpressionKeys: Sendable {
    struct Site: Hashable {
        var kind: UInt8
        var range: PositionRange
    }

    private var keys: [Site: String] = [:]

    public init(_ expr: Expr) {
        var ambiguous = Set<Site>()
        collect(expr, &ambiguous)
        for site in ambiguous { keys[site] = nil }
    }

    private mutating func collect(_ e: Expr, _ ambiguous: inout Set<Site>) {
        if let site = Self.site(e) {
            let text = e.description
            if let known = keys[site], known != text { ambiguous.insert(site) } else { keys[site] = text }
        }
        for child in e.children { collect(child, &ambiguous) }
    }

    /// The kinds the evaluator caches.
    static func site(_ e: Expr) -> Site? {
        switch e {
        case .vectorSelector(let v): return Site(kind: 0, range: v.range)
        case .call(_, _, let r): return Site(kind: 1, range: r)
        case .aggregate(_, _, _, _, _, let r): return Site(kind: 2, range: r)
        case .binary(_, _, _, _, _, let r): return Site(kind: 3, range: r)
        default: return nil
        }
    }

    func key(_ e: Expr) -> String? {
        guard let site = Self.site(e) else { return nil }
        return keys[site]
    }

    /// How many subexpressions have a key (for tests).
    public var count: Int { keys.count }
}
