import GoFormat
import LookoutCore
import Series

/// The types an expression can have, as PromQL names them.
public enum ValueType: String, Sendable {
    case scalar
    case vector = "instant vector"
    case matrix = "range vector"
    case string
}

public struct VectorSelector: Sendable {
    /// The metric name written before the braces, if any.
    public var name: String?
    /// All matchers, including `__name__="name"` for a name written before the braces.
    public var matchers: [LabelMatcher]
    public var range: PositionRange
}

public struct MatrixSelector: Sendable {
    public var selector: VectorSelector
    /// Range in milliseconds.
    public var rangeMilliseconds: Int64
    public var range: PositionRange
}

public enum BinaryOp: String, Sendable {
    case add = "+", sub = "-", mul = "*", div = "/", mod = "%", pow = "^"
    case eql = "==", neq = "!=", gtr = ">", lss = "<", gte = ">=", lte = "<="
    case and, or, unless

    public var isComparison: Bool {
        switch self {
        case .eql, .neq, .gtr, .lss, .gte, .lte: return true
        default: return false
        }
    }

    public var isSetOperator: Bool { self == .and || self == .or || self == .unless }

    /// Binding strength; higher binds tighter.
    var precedence: Int {
        switch self {
        case .or: return 1
        case .and, .unless: return 2
        case .eql, .neq, .gtr, .lss, .gte, .lte: return 3
        case .add, .sub: return 4
        case .mul, .div, .mod: return 5
        case .pow: return 6
        }
    }

    var isRightAssociative: Bool { self == .pow }
}

/// How the two sides of a vector/vector operation are matched.
public struct VectorMatching: Sendable {
    public enum Cardinality: Sendable { case oneToOne, manyToMany }
    public var cardinality: Cardinality
    /// `on(...)` when true, `ignoring(...)` otherwise.
    public var on: Bool
    public var labels: [String]
}

public enum AggregateOp: String, Sendable {
    case sum, avg, min, max, count, quantile
}

public enum Function: String, Sendable, CaseIterable {
    case rate, increase, irate, delta
    case avg_over_time, min_over_time, max_over_time, quantile_over_time
    case histogram_quantile, abs, absent, clamp_min, clamp_max, time

    var argumentTypes: [ValueType] {
        switch self {
        case .rate, .increase, .irate, .delta, .avg_over_time, .min_over_time, .max_over_time: return [.matrix]
        case .quantile_over_time: return [.scalar, .matrix]
        case .histogram_quantile: return [.scalar, .vector]
        case .abs, .absent: return [.vector]
        case .clamp_min, .clamp_max: return [.vector, .scalar]
        case .time: return []
        }
    }

    var returnType: ValueType { self == .time ? .scalar : .vector }
}

/// A PromQL expression of lookout's subset, with the position of every node.
public indirect enum Expr: Sendable {
    case number(Double, PositionRange)
    case string(String, PositionRange)
    case vectorSelector(VectorSelector)
    case matrixSelector(MatrixSelector)
    case call(Function, [Expr], PositionRange)
    case aggregate(AggregateOp, param: Expr?, expr: Expr, grouping: [String], without: Bool, PositionRange)
    case binary(BinaryOp, Expr, Expr, returnBool: Bool, matching: VectorMatching?, PositionRange)
    case unaryMinus(Expr, PositionRange)
    case paren(Expr, PositionRange)

    public var range: PositionRange {
        switch self {
        case .number(_, let r), .string(_, let r), .call(_, _, let r), .aggregate(_, _, _, _, _, let r),
            .binary(_, _, _, _, _, let r), .unaryMinus(_, let r), .paren(_, let r):
            return r
        case .vectorSelector(let v): return v.range
        case .matrixSelector(let m): return m.range
        }
    }

    public var type: ValueType {
        switch self {
        case .number: return .scalar
        case .string: return .string
        case .vectorSelector: return .vector
        case .matrixSelector: return .matrix
        case .call(let f, _, _): return f.returnType
        case .aggregate: return .vector
        case .binary(_, let l, let r, _, _, _): return l.type == .scalar && r.type == .scalar ? .scalar : .vector
        case .unaryMinus(let e, _): return e.type
        case .paren(let e, _): return e.type
        }
    }

    /// The expression without enclosing parentheses.
    public var unwrapped: Expr {
        if case .paren(let e, _) = self { return e.unwrapped }
        return self
    }

    /// Every selector in the expression with the range it reads (0 for instant selectors).
    public var selectors: [(matchers: [LabelMatcher], rangeMilliseconds: Int64)] {
        var out: [(matchers: [LabelMatcher], rangeMilliseconds: Int64)] = []
        collectSelectors(into: &out)
        return out
    }

    private func collectSelectors(into out: inout [(matchers: [LabelMatcher], rangeMilliseconds: Int64)]) {
        switch self {
        case .number, .string: break
        case .vectorSelector(let v): out.append((v.matchers, 0))
        case .matrixSelector(let m): out.append((m.selector.matchers, m.rangeMilliseconds))
        case .call(_, let args, _): for a in args { a.collectSelectors(into: &out) }
        case .aggregate(_, let p, let e, _, _, _):
            p?.collectSelectors(into: &out)
            e.collectSelectors(into: &out)
        case .binary(_, let l, let r, _, _, _):
            l.collectSelectors(into: &out)
            r.collectSelectors(into: &out)
        case .unaryMinus(let e, _), .paren(let e, _): e.collectSelectors(into: &out)
        }
    }
}

// MARK: Printing, as Prometheus prints expressions (rule APIs, generator URLs).

extension Expr: CustomStringConvertible {
    public var description: String {
        switch self {
        case .number(let v, _): return formatNumberLiteral(v)
        case .string(let s, _): return goQuoted(s)
        case .vectorSelector(let v): return v.description
        case .matrixSelector(let m):
            return "\(m.selector)[\(PromDuration.format(milliseconds: m.rangeMilliseconds))]"
        case .call(let f, let args, _): return "\(f.rawValue)(\(args.map(\.description).joined(separator: ", ")))"
        case .aggregate(let op, let p, let e, let grouping, let without, _):
            var s = op.rawValue
            if without {
                s += " without(\(grouping.joined(separator: ", "))) "
            } else if !grouping.isEmpty {
                s += " by(\(grouping.joined(separator: ", "))) "
            }
            s += "("
            if let p { s += "\(p), " }
            return s + "\(e))"
        case .binary(let op, let l, let r, let returnBool, let matching, _):
            var m = ""
            if let matching, matching.on || !matching.labels.isEmpty {
                m = " \(matching.on ? "on" : "ignoring")(\(matching.labels.joined(separator: ", ")))"
            }
            return "\(l) \(op.rawValue)\(returnBool ? " bool" : "")\(m) \(r)"
        case .unaryMinus(let e, _): return "-\(e)"
        case .paren(let e, _): return "(\(e))"
        }
    }
}

extension VectorSelector: CustomStringConvertible {
    public var description: String {
        var parts: [String] = []
        for m in matchers {
            if let name, m.name == "__name__", m.op == .equal, m.value == name { continue }
            parts.append(m.description)
        }
        if let name {
            return parts.isEmpty ? name : "\(name){\(parts.joined(separator: ", "))}"
        }
        return "{\(parts.joined(separator: ", "))}"
    }
}

func formatNumberLiteral(_ v: Double) -> String {
    if v.isNaN { return "NaN" }
    if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
    return GoFloat.formatF(v)
}

