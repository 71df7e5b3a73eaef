#if canImport(Glibc)
import Glibc
#endif
import GoFormat
import Series

/// The functions, as Prometheus 2.42's `promql/functions.go` computes them.
extension Evaluator {
    // MARK: Functions over instant vectors and scalars

    func evalCall(_ f: Function, _ args: [Expr], _ ctx: Context) throws(EvalError) -> Value {
        switch f {
        case .time: return .scalar(Double(ctx.time) / 1000)
        case .pi: return .scalar(Double.pi)
        case .scalar:
            let v = try vectorArg(args[0], ctx)
            return .scalar(v.count == 1 ? v[0].value : .nan)
        case .vector:
            return .vector([Sample(labels: .empty, value: try scalarArg(args[0], ctx))])
        case .timestamp:
            // A selector's samples keep their own timestamps; anything else was computed at
            // the evaluation time.
            var v: [Sample]
            if case .vectorSelector(let vs) = args[0].unwrapped {
                v = selectInstantTimes(vs, ctx)
            } else {
                v = try vectorArg(args[0], ctx)
                for i in v.indices { v[i].value = Double(ctx.time) / 1000 }
            }
            try dropNames(&v)
            return .vector(v)
        case .absent:
            let v = try vectorArg(args[0], ctx)
            if !v.isEmpty { return .vector([]) }
            return .vector([Sample(labels: Self.absentLabels(args[0].unwrapped), value: 1)])
        case .days_in_month, .day_of_month, .day_of_week, .day_of_year, .hour, .minute, .month, .year:
            if args.isEmpty {
                return .vector([Sample(labels: .empty, value: GoTime(unixSeconds: ctx.time / 1000).field(f))])
            }
            var v = try vectorArg(args[0], ctx)
            for i in v.indices { v[i].value = GoTime(unixSeconds: GoMath.int64(v[i].value)).field(f) }
            try dropNames(&v)
            return .vector(v)
        case .clamp, .clamp_min, .clamp_max:
            var v = try vectorArg(args[0], ctx)
            let a = try scalarArg(args[1], ctx)
            let b = f == .clamp ? try scalarArg(args[2], ctx) : 0
            if f == .clamp && b < a { return .vector([]) }
            for i in v.indices {
                switch f {
                case .clamp: v[i].value = GoMath.max(a, GoMath.min(b, v[i].value))
                case .clamp_min: v[i].value = GoMath.max(a, v[i].value)
                default: v[i].value = GoMath.min(a, v[i].value)
                }
            }
            try dropNames(&v)
            return .vector(v)
        case .round:
            var v = try vectorArg(args[0], ctx)
            let toNearest = args.count > 1 ? try scalarArg(args[1], ctx) : 1
            // Prometheus multiplies by the inverse: fewer rounding surprises.
            let inverse = 1 / toNearest
            for i in v.indices { v[i].value = Glibc.floor(v[i].value * inverse + 0.5) / inverse }
            try dropNames(&v)
            return .vector(v)
        case .histogram_quantile:
            let q = try scalarArg(args[0], ctx)
            let v = try vectorArg(args[1], ctx)
            return .vector(try histogramQuantile(q, v))
        case .label_replace:
            let v = try vectorArg(args[0], ctx)
            return .vector(try labelReplace(
                v, dst: try stringArg(args[1], ctx), replacement: try stringArg(args[2], ctx),
                src: try stringArg(args[3], ctx), regex: try stringArg(args[4], ctx)))
        case .label_join:
            let v = try vectorArg(args[0], ctx)
            var strings: [String] = []
            for a in args.dropFirst() { strings.append(try stringArg(a, ctx)) }
            return .vector(try labelJoin(v, dst: strings[0], separator: strings[1], sources: Array(strings.dropFirst(2))))
        case .sort, .sort_desc:
            let v = try vectorArg(args[0], ctx)
            return .vector(GoSort.byValue(v, descending: f == .sort_desc))
        default:
            guard let op = Self.simpleFunction(f) else { throw EvalError("function \(f.rawValue) is not implemented") }
            var v = try vectorArg(args[0], ctx)
            for i in v.indices { v[i].value = op(v[i].value) }
            try dropNames(&v)
            return .vector(v)
        }
    }

    /// Functions that map each value on its own (and drop the metric name).
    static func simpleFunction(_ f: Function) -> ((Double) -> Double)? {
        switch f {
        case .abs: return { Swift.abs($0) }
        case .ceil: return { Glibc.ceil($0) }
        case .floor: return { Glibc.floor($0) }
        case .exp: return GoMath.exp
        case .sqrt: return { $0.squareRoot() }
        case .ln: return GoMath.log
        case .log2: return GoMath.log2
        case .log10: return GoMath.log10
        case .sin: return GoMath.sin
        case .cos: return GoMath.cos
        case .tan: return GoMath.tan
        case .asin: return GoMath.asin
        case .acos: return GoMath.acos
        case .atan: return GoMath.atan
        case .sinh: return GoMath.sinh
        case .cosh: return GoMath.cosh
        case .tanh: return GoMath.tanh
        case .asinh: return GoMath.asinh
        case .acosh: return GoMath.acosh
        case .atanh: return GoMath.atanh
        case .deg: return { $0 * 180 / Double.pi }
        case .rad: return { $0 * Double.pi / 180 }
        case .sgn: return { $0 < 0 ? -1 : ($0 > 0 ? 1 : $0) }
        default: return nil
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

    func compiledRegex(_ pattern: String) throws(EvalError) -> GoRegexp {
        if let r = cache?.regexes[pattern] { return r }
        do {
            let r = try GoRegexp("^(?:" + pattern + ")$")
            cache?.regexes[pattern] = r
            return r
        } catch {
            throw EvalError("invalid regular expression in label_replace(): \(pattern)")
        }
    }

    func labelReplace(_ v: [Sample], dst: String, replacement: String, src: String, regex: String) throws(EvalError) -> [Sample] {
        let re = try compiledRegex(regex)
        guard MetricNames.isValidLabelName(dst) else {
            throw EvalError("invalid destination label name in label_replace(): \(dst)")
        }
        var out = v
        for i in out.indices {
            let value = out[i].labels[src] ?? ""
            guard let match = re.firstMatch(in: value) else { continue }
            let result = re.expand(replacement, in: value, match: match)
            out[i].labels = result.isEmpty ? out[i].labels.removing(dst) : out[i].labels.setting(dst, result)
        }
        try checkUnique(out)
        return out
    }

    func labelJoin(_ v: [Sample], dst: String, separator: String, sources: [String]) throws(EvalError) -> [Sample] {
        for s in sources where !MetricNames.isValidLabelName(s) {
            throw EvalError("invalid source label name in label_join(): \(s)")
        }
        guard MetricNames.isValidLabelName(dst) else { throw EvalError("invalid destination label name in label_join(): \(dst)") }
        var out = v
        for i in out.indices {
            let joined = sources.map { out[i].labels[$0] ?? "" }.joined(separator: separator)
            out[i].labels = joined.isEmpty ? out[i].labels.removing(dst) : out[i].labels.setting(dst, joined)
        }
        try checkUnique(out)
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

    // MARK: Functions over range vectors

    /// A range function: evaluated per series of the range vector (a matrix selector or a
    /// subquery) over the samples in `[end - range, end]`; series without samples there give
    /// no result. The metric name is dropped, except by `last_over_time`.
    func evalRangeFunction(_ f: Function, _ args: [Expr], _ callRange: PositionRange, _ ctx: Context) throws(EvalError) -> [Sample] {
        let matrixIndex = f.argumentTypes.firstIndex(of: .matrix)!
        let matrixArg = args[matrixIndex].unwrapped
        var subquery: (series: [StepSeries], end: Int64)?
        var clipEnd: Int64?
        var rangeMs: Int64
        var end: Int64
        switch matrixArg {
        case .matrixSelector(let ms):
            rangeMs = ms.rangeMilliseconds
            end = ctx.reference(ms.selector.at, offset: ms.selector.offsetMilliseconds)
            if f == .predict_linear, ms.selector.at != nil, let first = ctx.subqueryStart {
                // Prometheus 2.42 fixes an `@` inside a subquery relative to the subquery's
                // first step, so under predict_linear (whose result depends on the step)
                // the window moves with the steps, over the samples up to the `@` time only.
                clipEnd = end
                end &+= ctx.time &- first
            }
        case .subquery(let sq):
            let result = try evalSubquery(sq, ctx)
            subquery = result
            rangeMs = sq.rangeMilliseconds
            end = result.end
        default:
            throw EvalError("expected a range vector argument")
        }
        var params: [Double] = []
        for (i, a) in args.enumerated() where i != matrixIndex { params.append(try scalarArg(a, ctx)) }
        let start = end &- rangeMs
        let computation = RangeMath.Computation(
            function: f, params: params, rangeStart: start, rangeEnd: end, rangeMilliseconds: rangeMs, time: ctx.time)

        var out: [Sample] = []
        var firstName: String?
        var several = false
        var failure: EvalError?
        func emit(_ value: Double?, labels: Labels, nameless: Labels, name: String) {
            guard let value else { return }
            let outLabels = f == .last_over_time ? labels : nameless
            if let tracker = ctx.tracker, !tracker.record(.rangeFunction, callRange, outLabels, from: labels) {
                failure = .sameLabelset
            }
            if out.isEmpty { firstName = name } else if name != firstName { several = true }
            out.append(Sample(labels: outLabels, value: value))
        }
        if let subquery {
            for s in subquery.series {
                let value: Double? = try RangeMath.window(s.ts, s.vs, from: start, to: end) { ts, vs throws(EvalError) in
                    ts.isEmpty ? nil : try computation.apply(ts, vs)
                }
                emit(value, labels: s.labels, nameless: s.labels.droppingMetricName, name: s.labels["__name__"] ?? "")
            }
        } else if case .matrixSelector(let ms) = matrixArg {
            var scratch: ([Int64], [Double]) = ([], [])
            for id in history.select(ms.selector.matchers) {
                let value: Double? = try history.withSamples(id, from: start, to: clipEnd ?? end, scratch: &scratch) { ts, vs throws(EvalError) in
                    ts.isEmpty ? nil : try computation.apply(ts, vs)
                }
                let (nameless, name) = history.namelessLabels(id)
                emit(value, labels: history.labels(id), nameless: nameless, name: name)
            }
        }
        if f == .absent_over_time {
            return out.isEmpty ? [Sample(labels: Self.absentLabels(matrixArg), value: 1)] : []
        }
        if let failure { throw failure }
        if several { try checkUnique(out) }
        return out
    }
}

extension Labels {
    func removing(_ name: String) -> Labels {
        guard self[name] != nil else { return self }
        return Labels(sorted: pairs.filter { $0.name != name })
    }
}

/// Prometheus' `sort` and `sort_desc`: by value, NaN last in both.
enum GoSort {
    static func byValue(_ v: [Sample], descending: Bool) -> [Sample] {
        var out = v
        if descending {
            sort(&out) { a, b in a.value.isNaN ? false : (b.value.isNaN || a.value > b.value) }
        } else {
            sort(&out) { a, b in a.value.isNaN ? false : (b.value.isNaN || a.value < b.value) }
        }
        return out
    }

    /// A stable sort: insertion sort for short inputs, as Go's `sort.Sort` does (ties keep
    /// their order there too), the standard library's otherwise.
    static func sort<T>(_ a: inout [T], by less: (T, T) -> Bool) {
        if a.count > 12 {
            let sorted = a.enumerated().sorted { x, y in less(x.element, y.element) || (!less(y.element, x.element) && x.offset < y.offset) }
            a = sorted.map(\.element)
            return
        }
        var i = 1
        while i < a.count {
            var j = i
            while j > 0 && less(a[j], a[j - 1]) {
                a.swapAt(j, j - 1)
                j -= 1
            }
            i += 1
        }
    }
}
