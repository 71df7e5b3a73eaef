#if canImport(Glibc)
import Glibc
#endif
import Series

/// Binary operators, as Prometheus 2.42's `VectorBinop`, `VectorscalarBinop`, `VectorAnd`,
/// `VectorOr` and `VectorUnless` compute them.
extension Evaluator {
    func evalBinary(
        _ op: BinaryOp, _ l: Expr, _ r: Expr, returnBool: Bool, matching: VectorMatching?, _ ctx: Context
    ) throws(EvalError) -> Value {
        let lv = try eval(l, ctx)
        let rv = try eval(r, ctx)
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

    /// The value of `a op b`, and whether a comparison holds (always true for arithmetic).
    @inline(__always)
    static func elementOp(_ op: BinaryOp, _ a: Double, _ b: Double) -> (Double, Bool) {
        switch op {
        case .add: return (a + b, true)
        case .sub: return (a - b, true)
        case .mul: return (a * b, true)
        case .div: return (a / b, true)
        case .mod: return (fmod(a, b), true)
        case .pow: return (GoMath.pow(a, b), true)
        case .atan2: return (GoMath.atan2(a, b), true)
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
        let drop = op.dropsMetricName || returnBool
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
        if lhs.isEmpty || rhs.isEmpty { return [] }
        let names = m.on ? m.labels : m.labels + ["__name__"]
        // One-to-many: the right side is the "many"; swap so the map holds the "one".
        let swapped = m.cardinality == .oneToMany
        let many = swapped ? rhs : lhs
        let one = swapped ? lhs : rhs
        var right: [Signature: Int] = [:]
        right.reserveCapacity(one.count)
        for (i, rs) in one.enumerated() {
            let sig = Signature(rs.labels, on: m.on, names: names)
            if let j = right[sig] {
                throw EvalError(
                    "found duplicate series for the match group \(sig.materialized.promString) on the \(swapped ? "left" : "right") hand-side of the operation: [\(rs.labels.promString), \(one[j].labels.promString)];many-to-many matching not allowed: matching labels must be unique on one side"
                )
            }
            right[sig] = i
        }
        var matchedOne = Set<Signature>()
        var matchedMany: [Signature: Set<Labels>] = [:]
        var out: [Sample] = []
        let dropName = op.dropsMetricName
        for ls in many {
            let sig = Signature(ls.labels, on: m.on, names: names)
            guard let j = right[sig] else { continue }
            let rs = one[j]
            let (vl, vr) = swapped ? (rs.value, ls.value) : (ls.value, rs.value)
            var (value, keep) = Self.elementOp(op, vl, vr)
            if returnBool {
                value = keep ? 1 : 0
            } else if !keep {
                continue
            }
            var labels = ls.labels
            if dropName { labels = labels.droppingMetricName }
            if m.cardinality == .oneToOne {
                if m.on {
                    labels = Labels(sorted: labels.pairs.filter { m.labels.contains($0.name) })
                } else if !m.labels.isEmpty {
                    labels = Labels(sorted: labels.pairs.filter { !m.labels.contains($0.name) })
                }
            }
            for name in m.include {
                // Included labels come from the "one" side.
                if let v = rs.labels[name] { labels = labels.setting(name, v) } else { labels = labels.removing(name) }
            }
            if returnBool { labels = labels.droppingMetricName }
            if m.cardinality == .oneToOne {
                if !matchedOne.insert(sig).inserted {
                    throw EvalError("multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)")
                }
            } else if !matchedMany[sig, default: []].insert(labels).inserted {
                throw EvalError("multiple matches for labels: grouping labels must ensure unique matches")
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
