#if canImport(Glibc)
import Glibc
#endif
import GoFormat
import Series

/// Evaluates expressions of the subset at one instant over a `History`, with Prometheus'
/// semantics (those of Prometheus 2.x, which `promtool` on this platform implements:
/// ranges and the lookback window include both ends).
public struct Evaluator {
    public let history: History
    /// How far back an instant selector looks for the latest sample (Prometheus: 5 m).
    public var lookbackMilliseconds: Int64

    /// Results of subexpressions already evaluated at the same instant over the same
    /// history, shared by the rules of one evaluation (rules often repeat selectors).
    public let cache: EvaluationCache?

    public init(history: History, lookbackMilliseconds: Int64 = History.lookbackMilliseconds, cache: EvaluationCache? = nil) {
        self.history = history
        self.lookbackMilliseconds = lookbackMilliseconds
        self.cache = cache
    }

    /// Evaluates `expr` at `t` (ms since the epoch) as a rule does: a scalar becomes a
    /// one-element vector without labels; other result types are errors.
    public func query(_ expr: Expr, at t: Int64) throws(EvalError) -> [Sample] {
        switch try evaluate(expr, at: t) {
        case .vector(let v): return v
        case .scalar(let s): return [Sample(labels: .empty, value: s)]
        case .string: throw EvalError("rule result is not a vector or scalar")
        }
    }

    public func evaluate(_ expr: Expr, at t: Int64) throws(EvalError) -> Value {
        if expr.type == .matrix { throw EvalError("rule result is not a vector or scalar") }
        return try eval(expr, t)
    }

    func eval(_ e: Expr, _ t: Int64) throws(EvalError) -> Value {
        guard let cache else { return try evalUncached(e, t) }
        switch e {
        case .vectorSelector, .call, .aggregate, .binary:
            // Valid while the history has not changed and for this instant only.
            if cache.time != t || cache.version != history.version { cache.reset(time: t, version: history.version) }
            let key = e.description
            if let v = cache.values[key] {
                cache.hits += 1
                return v
            }
            let v = try evalUncached(e, t)
            cache.values[key] = v
            return v
        default:
            return try evalUncached(e, t)
        }
    }

    func evalUncached(_ e: Expr, _ t: Int64) throws(EvalError) -> Value {
        switch e {
        case .number(let v, _): return .scalar(v)
        case .string(let s, _): return .string(s)
        case .paren(let inner, _): return try eval(inner, t)
        case .vectorSelector(let vs): return .vector(selectInstant(vs, t))
        case .matrixSelector:
            throw EvalError("a range vector can only be used as a function argument")
        case .unaryMinus(let inner, _):
            switch try eval(inner, t) {
            case .scalar(let v): return .scalar(-v)
            case .vector(var vec):
                for i in vec.indices { vec[i].value = -vec[i].value }
                try dropNames(&vec)
                return .vector(vec)
            case .string: throw EvalError("unary minus on a string")
            }
        case .call(let f, let args, _): return try evalCall(f, args, t)
        case .aggregate(let op, let param, let inner, let grouping, let without, _):
            guard case .vector(let vec) = try eval(inner, t) else { throw EvalError("aggregation over a non-vector") }
            var q = 0.0
            if let param {
                guard case .scalar(let p) = try eval(param, t) else { throw EvalError("aggregation parameter is not a scalar") }
                q = p
            }
            return .vector(aggregate(op, q, vec, grouping: grouping, without: without))
        case .binary(let op, let l, let r, let returnBool, let matching, _):
            return try evalBinary(op, l, r, returnBool: returnBool, matching: matching, t)
        }
    }

    // MARK: Selectors

    func selectInstant(_ vs: VectorSelector, _ t: Int64) -> [Sample] {
        let ids = history.select(vs.matchers)
        var out: [Sample] = []
        out.reserveCapacity(ids.count)
        for id in ids {
            if let v = history.instantValue(id, at: t, lookback: lookbackMilliseconds) {
                out.append(Sample(labels: history.labels(id), value: v))
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
            throw EvalError("vector cannot contain metrics with the same labelset")
        }
    }

    // MARK: Functions

    func scalarArg(_ e: Expr, _ t: Int64) throws(EvalError) -> Double {
        guard case .scalar(let v) = try eval(e, t) else { throw EvalError("expected a scalar argument") }
        return v
    }

    func vectorArg(_ e: Expr, _ t: Int64) throws(EvalError) -> [Sample] {
        guard case .vector(let v) = try eval(e, t) else { throw EvalError("expected an instant vector argument") }
        return v
    }

    func matrixArg(_ e: Expr) throws(EvalError) -> MatrixSelector {
        guard case .matrixSelector(let m) = e.unwrapped else { throw EvalError("expected a range vector argument") }
        return m
    }

    func evalCall(_ f: Function, _ args: [Expr], _ t: Int64) throws(EvalError) -> Value {
        switch f {
        case .time:
            return .scalar(Double(t) / 1000)
        case .abs:
            var v = try vectorArg(args[0], t)
            for i in v.indices { v[i].value = Swift.abs(v[i].value) }
            try dropNames(&v)
            return .vector(v)
        case .clamp_min, .clamp_max:
            var v = try vectorArg(args[0], t)
            let bound = try scalarArg(args[1], t)
            for i in v.indices {
                v[i].value = f == .clamp_min ? GoMath.max(bound, v[i].value) : GoMath.min(bound, v[i].value)
            }
            try dropNames(&v)
            return .vector(v)
        case .absent:
            let v = try vectorArg(args[0], t)
            if !v.isEmpty { return .vector([]) }
            return .vector([Sample(labels: Self.absentLabels(args[0].unwrapped), value: 1)])
        case .histogram_quantile:
            let q = try scalarArg(args[0], t)
            let v = try vectorArg(args[1], t)
            return .vector(try histogramQuantile(q, v))
        case .rate, .increase, .delta, .irate, .avg_over_time, .min_over_time, .max_over_time, .quantile_over_time:
            var q = 0.0
            var matrix = args[0]
            if f == .quantile_over_time {
                q = try scalarArg(args[0], t)
                matrix = args[1]
            }
            return .vector(try rangeFunction(f, try matrixArg(matrix), q: q, t))
        }
    }

    /// `absent`'s labels: those of the argument's equality matchers (not `__name__`); a
    /// label matched more than once, or not by equality, is left out.
    static func absentLabels(_ e: Expr) -> Labels {
        let matchers: [LabelMatcher]
        switch e {
        case .vectorSelector(let vs): matchers = vs.matchers
        case .matrixSelector(let ms): matchers = ms.selector.matchers
        default: return .empty
        }
        var pairs: [String: String] = [:]
        var excluded: Set<String> = []
        for m in matchers where m.name != "__name__" {
            if m.op == .equal && pairs[m.name] == nil {
                pairs[m.name] = m.value
            } else {
                excluded.insert(m.name)
            }
        }
        for name in excluded { pairs[name] = nil }
        return Labels(pairs)
    }

    func rangeFunction(_ f: Function, _ ms: MatrixSelector, q: Double, _ t: Int64) throws(EvalError) -> [Sample] {
        let ids = history.select(ms.selector.matchers)
        let rangeStart = t - ms.rangeMilliseconds
        let range = ms.rangeMilliseconds
        var scratch: ([Int64], [Double]) = ([], [])
        var out: [Sample] = []
        out.reserveCapacity(ids.count)
        var firstName: String?
        var several = false
        for id in ids {
            let value: Double? = history.withSamples(id, from: rangeStart, to: t, scratch: &scratch) { ts, vs in
                if ts.isEmpty { return nil }
                switch f {
                case .rate:
                    return RangeMath.extrapolatedRate(ts, vs, rangeStart: rangeStart, rangeEnd: t, rangeMilliseconds: range, isCounter: true, isRate: true)
                case .increase:
                    return RangeMath.extrapolatedRate(ts, vs, rangeStart: rangeStart, rangeEnd: t, rangeMilliseconds: range, isCounter: true, isRate: false)
                case .delta:
                    return RangeMath.extrapolatedRate(ts, vs, rangeStart: rangeStart, rangeEnd: t, rangeMilliseconds: range, isCounter: false, isRate: false)
                case .irate: return RangeMath.irate(ts, vs)
                case .avg_over_time: return RangeMath.avg(vs)
                case .min_over_time:
                    var m = vs[0]
                    for v in vs where v < m || m.isNaN { m = v }
                    return m
                case .max_over_time:
                    var m = vs[0]
                    for v in vs where v > m || m.isNaN { m = v }
                    return m
                case .quantile_over_time: return RangeMath.quantile(q, vs)
                default: return nil
                }
            }
            guard let value else { continue }
            let (labels, name) = history.namelessLabels(id)
            if out.isEmpty { firstName = name } else if name != firstName { several = true }
            out.append(Sample(labels: labels, value: value))
        }
        if several { try checkUnique(out) }
        return out
    }

    func histogramQuantile(_ q: Double, _ v: [Sample]) throws(EvalError) -> [Sample] {
        // Group by all labels but `le` (the name stays in the key, as in Prometheus, so two
        // metrics with the same other labels collide in the output and are reported).
        var groups: [Signature: Int] = [:]
        var order: [(labels: Labels, buckets: [(upper: Double, count: Double)])] = []
        for s in v {
            guard let le = s.labels["le"], let upper = GoFloat.parse(le) else { continue }
            let key = Signature(s.labels, on: false, names: ["le"])
            if let g = groups[key] {
                order[g].buckets.append((upper, s.value))
            } else {
                groups[key] = order.count
                order.append((key.materialized.droppingMetricName, [(upper, s.value)]))
            }
        }
        var out: [Sample] = []
        out.reserveCapacity(order.count)
        for g in order {
            out.append(Sample(labels: g.labels, value: RangeMath.bucketQuantile(q, g.buckets)))
        }
        try checkUnique(out)
        return out
    }

    // MARK: Aggregation

    func aggregate(_ op: AggregateOp, _ q: Double, _ vec: [Sample], grouping: [String], without: Bool) -> [Sample] {
        struct Group {
            var labels: Labels
            var value: Double
            var mean: Double
            var count: Int
            var values: [Double]
        }
        let names = without ? grouping + ["__name__"] : grouping
        var index: [Signature: Int] = [:]
        var groups: [Group] = []
        for s in vec {
            let key = Signature(s.labels, on: !without, names: names)
            guard let gi = index[key] else {
                index[key] = groups.count
                groups.append(
                    Group(labels: key.materialized, value: s.value, mean: s.value, count: 1, values: op == .quantile ? [s.value] : []))
                continue
            }
            switch op {
            case .sum:
                groups[gi].value += s.value
            case .avg:
                groups[gi].count += 1
                let mean = groups[gi].mean
                if mean.isInfinite {
                    if s.value.isInfinite && (mean > 0) == (s.value > 0) { break }
                    if !s.value.isInfinite && !s.value.isNaN { break }
                }
                let n = Double(groups[gi].count)
                groups[gi].mean += s.value / n - mean / n
            case .max:
                if groups[gi].value < s.value || groups[gi].value.isNaN { groups[gi].value = s.value }
            case .min:
                if groups[gi].value > s.value || groups[gi].value.isNaN { groups[gi].value = s.value }
            case .count:
                groups[gi].count += 1
            case .quantile:
                groups[gi].values.append(s.value)
            }
        }
        return groups.map { g in
            let v: Double
            switch op {
            case .avg: v = g.mean
            case .count: v = Double(g.count)
            case .quantile: v = RangeMath.quantile(q, g.values)
            default: v = g.value
            }
            return Sample(labels: g.labels, value: v)
        }
    }

    // MARK: Binary operators

    func evalBinary(
        _ op: BinaryOp, _ l: Expr, _ r: Expr, returnBool: Bool, matching: VectorMatching?, _ t: Int64
    ) throws(EvalError) -> Value {
        let lv = try eval(l, t)
        let rv = try eval(r, t)
        switch (lv, rv) {
        case (.scalar(let a), .scalar(let b)):
            let (v, keep) = Self.elementOp(op, a, b)
            if op.isComparison { return .scalar(keep ? 1 : 0) }
            return .scalar(v)
        case (.vector(let vec), .scalar(let s)):
            return .vector(try vectorScalar(op, vec, s, swap: false, returnBool: returnBool))
        case (.scalar(let s), .vector(let vec)):
            return .vector(try vectorScalar(op, vec, s, swap: true, returnBool: returnBool))
        case (.vector(let a), .vector(let b)):
            let m = matching ?? VectorMatching(cardinality: op.isSetOperator ? .manyToMany : .oneToOne, on: false, labels: [])
            switch op {
            case .and, .or, .unless: return .vector(setOperation(op, a, b, m))
            default: return .vector(try vectorVector(op, a, b, m, returnBool: returnBool))
            }
        default:
            throw EvalError("binary expression must contain only scalar and instant vector types")
        }
    }

    static func dropsName(_ op: BinaryOp) -> Bool {
        switch op {
        case .add, .sub, .mul, .div, .mod, .pow: return true
        default: return false
        }
    }

    /// The value of `a op b`, and whether a comparison holds (always true for arithmetic).
    @inline(__always)
    static func elementOp(_ op: BinaryOp, _ a: Double, _ b: Double) -> (Double, Bool) {
        switch op {
        case .add: return (a + b, true)
        case .sub: return (a - b, true)
        case .mul: return (a * b, true)
        case .div: return (a / b, true)
        case .mod: return (fmod(a, b), true)
        case .pow: return (pow(a, b), true)
        case .eql: return (a, a == b)
        case .neq: return (a, a != b)
        case .gtr: return (a, a > b)
        case .lss: return (a, a < b)
        case .gte: return (a, a >= b)
        case .lte: return (a, a <= b)
        case .and, .or, .unless: return (a, true)
        }
    }

    func vectorScalar(_ op: BinaryOp, _ vec: [Sample], _ s: Double, swap: Bool, returnBool: Bool) throws(EvalError) -> [Sample] {
        var out: [Sample] = []
        out.reserveCapacity(vec.count)
        let drop = Self.dropsName(op) || returnBool
        for var sample in vec {
            var (a, b) = (sample.value, s)
            if swap { (a, b) = (b, a) }
            var (value, keep) = Self.elementOp(op, a, b)
            // A comparison keeps the vector's value, whichever side it stands on.
            if op.isComparison && swap { value = b }
            if returnBool {
                value = keep ? 1 : 0
                keep = true
            }
            guard keep else { continue }
            sample.value = value
            out.append(sample)
        }
        if drop { try dropNames(&out) }
        return out
    }

    func vectorVector(_ op: BinaryOp, _ lhs: [Sample], _ rhs: [Sample], _ m: VectorMatching, returnBool: Bool) throws(EvalError) -> [Sample] {
        let names = m.on ? m.labels : m.labels + ["__name__"]
        var right: [Signature: Int] = [:]
        right.reserveCapacity(rhs.count)
        for (i, rs) in rhs.enumerated() {
            let sig = Signature(rs.labels, on: m.on, names: names)
            if let j = right[sig] {
                throw EvalError(
                    "found duplicate series for the match group \(sig.materialized.promString) on the right hand-side of the operation: [\(rs.labels.promString), \(rhs[j].labels.promString)];many-to-many matching not allowed: matching labels must be unique on one side"
                )
            }
            right[sig] = i
        }
        var matched = Set<Signature>()
        var out: [Sample] = []
        let dropName = Self.dropsName(op) || returnBool
        for ls in lhs {
            let sig = Signature(ls.labels, on: m.on, names: names)
            guard let j = right[sig] else { continue }
            var (value, keep) = Self.elementOp(op, ls.value, rhs[j].value)
            if returnBool {
                value = keep ? 1 : 0
            } else if !keep {
                continue
            }
            if !matched.insert(sig).inserted {
                throw EvalError("multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)")
            }
            var labels = ls.labels
            if dropName { labels = labels.droppingMetricName }
            if m.on {
                labels = Labels(sorted: labels.pairs.filter { m.labels.contains($0.name) })
            } else if !m.labels.isEmpty {
                labels = Labels(sorted: labels.pairs.filter { !m.labels.contains($0.name) })
            }
            out.append(Sample(labels: labels, value: value))
        }
        return out
    }

    func setOperation(_ op: BinaryOp, _ lhs: [Sample], _ rhs: [Sample], _ m: VectorMatching) -> [Sample] {
        let names = m.on ? m.labels : m.labels + ["__name__"]
        func sig(_ s: Sample) -> Signature { Signature(s.labels, on: m.on, names: names) }
        switch op {
        case .and:
            if lhs.isEmpty || rhs.isEmpty { return [] }
            let right = Set(rhs.map(sig))
            return lhs.filter { right.contains(sig($0)) }
        case .unless:
            if lhs.isEmpty || rhs.isEmpty { return lhs }
            let right = Set(rhs.map(sig))
            return lhs.filter { !right.contains(sig($0)) }
        default:
            if lhs.isEmpty { return rhs }
            if rhs.isEmpty { return lhs }
            let left = Set(lhs.map(sig))
            return lhs + rhs.filter { !left.contains(sig($0)) }
        }
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
}

/// Subexpression results of one evaluation instant (see `Evaluator.cache`).
public final class EvaluationCache {
    var time: Int64 = .min
    var version: UInt64 = .max
    var values: [String: Value] = [:]
    /// How many subexpressions were answered from the cache (for tests and tuning).
    public internal(set) var hits = 0

    public init() {}

    func reset(time: Int64, version: UInt64) {
        self.time = time
        self.version = version
        values.removeAll(keepingCapacity: true)
    }
}
