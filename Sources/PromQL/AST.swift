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

/// The `@` modifier: a fixed time, or the query's `start()` / `end()` (for a rule, both are
/// the evaluation time).
public enum AtModifier: Sendable, Hashable {
    /// Milliseconds since the epoch.
    case timestamp(Int64)
    case start
    case end
}

public struct VectorSelector: Sendable {
    /// The metric name written before the braces, if any.
    public var name: String?
    /// All matchers, including `__name__="name"` for a name written before the braces.
    public var matchers: [LabelMatcher]
    /// `offset`, in milliseconds (negative offsets look ahead).
    public var offsetMilliseconds: Int64 = 0
    public var at: AtModifier?
    public var range: PositionRange
}

public struct MatrixSelector: Sendable {
    /// The selector, with the matrix's offset and `@`.
    public var selector: VectorSelector
    /// Range in milliseconds.
    public var rangeMilliseconds: Int64
    public var range: PositionRange
}

/// `expr[range:step]`, with its own `offset` and `@`.
public struct Subquery: Sendable {
    public var expr: Expr
    public var rangeMilliseconds: Int64
    /// 0: the evaluator's default step (the rules' evaluation interval).
    public var stepMilliseconds: Int64
    public var offsetMilliseconds: Int64 = 0
    public var at: AtModifier?
    public var range: PositionRange
}

public enum BinaryOp: String, Sendable {
    case add = "+", sub = "-", mul = "*", div = "/", mod = "%", pow = "^", atan2
    case eql = "==", neq = "!=", gtr = ">", lss = "<", gte = ">=", lte = "<="
    case and, or, unless

    public var isComparison: Bool {
        switch self {
        case .eql, .neq, .gtr, .lss, .gte, .lte: return true
        default: return false
        }
    }

    public var isSetOperator: Bool { self == .and || self == .or || self == .unless }

    /// Arithmetic drops the metric name; comparisons, `atan2` and set operators keep it.
    var dropsMetricName: Bool {
        switch self {
        case .add, .sub, .mul, .div, .mod, .pow: return true
        default: return false
        }
    }

    /// Binding strength; higher binds tighter.
    var precedence: Int {
        switch self {
        case .or: return 1
        case .and, .unless: return 2
        case .eql, .neq, .gtr, .lss, .gte, .lte: return 3
        case .add, .sub: return 4
        case .mul, .div, .mod, .atan2: return 5
        case .pow: return 6
        }
    }

    var isRightAssociative: Bool { self == .pow }
}

/// How the two sides of a vector/vector operation are matched.
public struct VectorMatching: Sendable {
    public enum Cardinality: Sendable {
        case oneToOne, manyToOne, oneToMany, manyToMany
    }

    public var cardinality: Cardinality
    /// `on(...)` when true, `ignoring(...)` otherwise.
    public var on: Bool
    public var labels: [String]
    /// The labels of `group_left(...)` / `group_right(...)`, copied from the "one" side.
    public var include: [String] = []

    public init(cardinality: Cardinality, on: Bool, labels: [String], include: [String] = []) {
        self.cardinality = cardinality
        self.on = on
        self.labels = labels
        self.include = include
    }
}

public enum AggregateOp: String, Sendable, CaseIterable {
    case sum, avg, count, min, max, group, stddev, stdvar, topk, bottomk, count_values, quantile

    /// The type of the parameter written before the vector, if the operator takes one.
    var parameterType: ValueType? {
        switch self {
        case .topk, .bottomk, .quantile: return .scalar
        case .count_values: return .string
        default: return nil
        }
    }
}

/// The functions of Prometheus 2.42 that work on float samples.
public enum Function: String, Sendable, CaseIterable {
    case abs, absent, absent_over_time, acos, acosh, asin, asinh, atan, atanh, avg_over_time, ceil, changes, clamp
    case clamp_max, clamp_min, cos, cosh, count_over_time, days_in_month, day_of_month, day_of_week, day_of_year
    case deg, delta, deriv, exp, floor, histogram_quantile, holt_winters, hour, idelta, increase, irate
    case label_replace, label_join, last_over_time, ln, log10, log2, max_over_time, min_over_time, minute, month, pi
    case predict_linear, present_over_time, quantile_over_time, rad, rate, resets, round, scalar, sgn, sin, sinh
    case sort, sort_desc, sqrt, stddev_over_time, stdvar_over_time, sum_over_time, tan, tanh, time, timestamp
    case vector, year

    /// Argument types; with `variadic` the last one may repeat (-1: without limit) or be
    /// left out (1: optional).
    var argumentTypes: [ValueType] {
        switch self {
        case .absent_over_time, .avg_over_time, .changes, .count_over_time, .delta, .deriv, .idelta, .increase,
            .irate, .last_over_time, .max_over_time, .min_over_time, .present_over_time, .rate, .resets,
            .stddev_over_time, .stdvar_over_time, .sum_over_time:
            return [.matrix]
        case .quantile_over_time: return [.scalar, .matrix]
        case .holt_winters: return [.matrix, .scalar, .scalar]
        case .predict_linear: return [.matrix, .scalar]
        case .histogram_quantile: return [.scalar, .vector]
        case .clamp: return [.vector, .scalar, .scalar]
        case .clamp_max, .clamp_min, .round: return [.vector, .scalar]
        case .label_replace: return [.vector, .string, .string, .string, .string]
        case .label_join: return [.vector, .string, .string, .string]
        case .pi, .time: return []
        case .vector: return [.scalar]
        default: return [.vector]
        }
    }

    /// 0: fixed arity; 1: the last argument is optional; -1: it repeats without limit.
    var variadic: Int {
        switch self {
        case .days_in_month, .day_of_month, .day_of_week, .day_of_year, .hour, .minute, .month, .year, .round: return 1
        case .label_join: return -1
        default: return 0
        }
    }

    public var returnType: ValueType {
        switch self {
        case .pi, .time, .scalar: return .scalar
        default: return .vector
        }
    }

    /// Functions whose argument is a range vector, computed per series.
    var takesMatrix: Bool { argumentTypes.contains(.matrix) }

    /// Functions whose result depends on the evaluation time itself.
    var readsEvaluationTime: Bool {
        switch self {
        case .days_in_month, .day_of_month, .day_of_week, .day_of_year, .hour, .minute, .month, .year,
            .predict_linear, .time, .timestamp:
            return true
        default: return false
        }
    }
}

/// A PromQL expression, with the position of every node.
public indirect enum Expr: Sendable {
    case number(Double, PositionRange)
    case string(String, PositionRange)
    case vectorSelector(VectorSelector)
    case matrixSelector(MatrixSelector)
    case subquery(Subquery)
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
        case .subquery(let s): return s.range
        }
    }

    public var type: ValueType {
        switch self {
        case .number: return .scalar
        case .string: return .string
        case .vectorSelector: return .vector
        case .matrixSelector, .subquery: return .matrix
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

    /// The direct subexpressions.
    public var children: [Expr] {
        switch self {
        case .number, .string, .vectorSelector, .matrixSelector: return []
        case .subquery(let s): return [s.expr]
        case .call(_, let args, _): return args
        case .aggregate(_, let p, let e, _, _, _): return p.map { [$0, e] } ?? [e]
        case .binary(_, let l, let r, _, _, _): return [l, r]
        case .unaryMinus(let e, _), .paren(let e, _): return [e]
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
            var vs = m.selector
            let modifiers = Self.modifiers(at: vs.at, offset: vs.offsetMilliseconds)
            vs.at = nil
            vs.offsetMilliseconds = 0
            return "\(vs)[\(PromDuration.format(milliseconds: m.rangeMilliseconds))]\(modifiers)"
        case .subquery(let s):
            let step = s.stepMilliseconds == 0 ? "" : PromDuration.format(milliseconds: s.stepMilliseconds)
            return "\(s.expr)[\(PromDuration.format(milliseconds: s.rangeMilliseconds)):\(step)]"
                + Self.modifiers(at: s.at, offset: s.offsetMilliseconds)
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
                if matching.cardinality == .manyToOne || matching.cardinality == .oneToMany {
                    m += " group_\(matching.cardinality == .manyToOne ? "left" : "right")(\(matching.include.joined(separator: ", ")))"
                }
            }
            return "\(l) \(op.rawValue)\(returnBool ? " bool" : "")\(m) \(r)"
        case .unaryMinus(let e, _): return "-\(e)"
        case .paren(let e, _): return "(\(e))"
        }
    }

    /// ` @ 100.000 offset 5m`, as Prometheus prints the modifiers.
    static func modifiers(at: AtModifier?, offset: Int64) -> String {
        var s = ""
        switch at {
        case .timestamp(let ms)?: s += " @ " + GoFloat.formatFixed(Double(ms) / 1000, verb: "f", precision: 3)
        case .start?: s += " @ start()"
        case .end?: s += " @ end()"
        case nil: break
        }
        if offset > 0 {
            s += " offset \(PromDuration.format(milliseconds: offset))"
        } else if offset < 0 {
            s += " offset -\(PromDuration.format(milliseconds: -offset))"
        }
        return s
    }
}

extension VectorSelector: CustomStringConvertible {
    public var description: String {
        var parts: [String] = []
        for m in matchers {
            if let name, m.name == "__name__", m.op == .equal, m.value == name { continue }
            parts.append(m.description)
        }
        let modifiers = Expr.modifiers(at: at, offset: offsetMilliseconds)
        if let name {
            return (parts.isEmpty ? name : "\(name){\(parts.joined(separator: ", "))}") + modifiers
        }
        return "{\(parts.joined(separator: ", "))}" + modifiers
    }
}

func formatNumberLiteral(_ v: Double) -> String {
    if v.isNaN { return "NaN" }
    if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
    return GoFloat.formatF(v)
}
