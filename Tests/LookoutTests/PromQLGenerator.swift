import TestSupport

/// Random series and random PromQL expressions over them, typed so that most expressions
/// are valid (some are not on purpose: many-to-many matches, bad arguments): every
/// aggregation, binary operator, matching mode, float function and modifier of 2.42.
struct PromQLGenerator {
    var rng: SplitMix

    init(seed: UInt64) { rng = SplitMix(seed: seed) }

    mutating func pick<T>(_ xs: [T]) -> T { xs[Int.random(in: 0..<xs.count, using: &rng)] }
    mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &rng) < p }
    mutating func int(_ r: ClosedRange<Int>) -> Int { Int.random(in: r, using: &rng) }

    // MARK: Series

    /// The series: `ma{a,b}`, `mb{a}`, `mc{a,c}` gauges, `cnt{a}` counters with resets,
    /// and classic histogram buckets `h_bucket{a,le}`; 31 values, one a minute.
    mutating func series() -> [(labels: String, values: String)] {
        var out: [(String, String)] = []
        for (a, b) in [("x", "1"), ("y", "1"), ("x", "2"), ("z", "2")] {
            out.append(("ma{a=\"\(a)\", b=\"\(b)\"}", gauge()))
        }
        for a in ["x", "y", "w"] { out.append(("mb{a=\"\(a)\"}", gauge())) }
        for (a, c) in [("x", "p"), ("y", "q"), ("z", "p")] { out.append(("mc{a=\"\(a)\", c=\"\(c)\"}", gauge())) }
        for a in ["x", "y"] { out.append(("cnt{a=\"\(a)\"}", counter())) }
        for a in ["x", "y"] {
            var counts = [Double](repeating: 0, count: 31)
            for le in ["0.1", "0.5", "1", "5", "+Inf"] {
                for i in 0..<31 { counts[i] += Double(int(0...3) + i / 3) }
                var running = 0.0
                let values = counts.map { c -> String in
                    running = max(running, c)
                    return String(Int(running))
                }
                out.append(("h_bucket{a=\"\(a)\", le=\"\(le)\"}", values.joined(separator: " ")))
            }
        }
        return out
    }

    mutating func gauge() -> String {
        var items: [String] = []
        var v = Double(int(-10...20))
        for _ in 0..<31 {
            switch int(0...99) {
            case 0..<4: items.append("_")
            case 4..<6: items.append("stale")
            case 6: items.append(pick(["NaN", "Inf", "-Inf"]))
            default:
                v += Double(int(-3...3)) * pick([1, 0.5, 0.25])
                items.append(Self.number(v))
            }
        }
        return items.joined(separator: " ")
    }

    mutating func counter() -> String {
        var items: [String] = []
        var v = Double(int(0...10))
        for _ in 0..<31 {
            if chance(0.05) {
                v = Double(int(0...3))
            } else {
                v += Double(int(0...6))
            }
            items.append(chance(0.04) ? "_" : Self.number(v))
        }
        return items.joined(separator: " ")
    }

    static func number(_ v: Double) -> String {
        v == v.rounded() ? String(Int(v)) : String(v)
    }

    // MARK: Expressions

    static let labelsOf: [String: [String]] = ["ma": ["a", "b"], "mb": ["a"], "mc": ["a", "c"], "cnt": ["a"], "h_bucket": ["a", "le"]]

    mutating func metric() -> String { pick(["ma", "ma", "mb", "mc", "cnt"]) }

    mutating func selector(_ name: String? = nil) -> String {
        let name = name ?? metric()
        switch int(0...9) {
        case 0: return "\(name){a=\"x\"}"
        case 1: return "\(name){a=~\"x|y\"}"
        case 2: return "\(name){a!=\"y\"}"
        case 3: return "\(name){a!~\"z.*\"}"
        case 4: return "{__name__=~\"\(name)|mb\"}"
        case 5 where chance(0.3): return pick(["nope{a=\"x\"}", "nope{a=~\"x\", b=\"1\", b=\"2\"}", "{a=\"x\", __name__!=\"mc\"}"])
        default: return name
        }
    }

    mutating func modifiers() -> String {
        var s = ""
        if chance(0.12) { s += " @ " + pick(["600", "1200.5", "start()", "end()", "60"]) }
        if chance(0.15) { s += " offset " + pick(["1m", "5m", "90s", "-2m", "10m"]) }
        return s
    }

    mutating func grouping(_ labels: [String]) -> String {
        let subset = labels.filter { _ in chance(0.5) }
        switch int(0...3) {
        case 0: return ""
        case 1: return " by (\(subset.joined(separator: ", ")))"
        case 2: return " without (\(subset.joined(separator: ", ")))"
        default: return " by (a)"
        }
    }

    mutating func scalar(_ depth: Int) -> String {
        switch depth <= 0 ? int(0...1) : int(0...6) {
        case 0: return pick(["1", "2", "0.5", "-1", "3", "10", "0", "1e1", "0.25"])
        case 1: return pick(["time()", "pi()", "-2.5", "4"])
        case 2: return "scalar(\(vector(depth - 1)))"
        case 3: return "\(scalar(depth - 1)) \(pick(["+", "-", "*", "/", "%", "^", "atan2"])) \(scalar(depth - 1))"
        case 4: return "\(scalar(depth - 1)) \(pick(["==", "!=", ">", "<", ">=", "<="])) bool \(scalar(depth - 1))"
        case 5: return "(\(scalar(depth - 1)))"
        default: return "-\(scalar(depth - 1))"
        }
    }

    mutating func matrix(_ depth: Int) -> String {
        if depth > 0 && chance(0.25) {
            let range = pick(["5m", "10m", "3m"])
            let step = pick(["", "1m", "30s", "2m", "90s"])
            return "(\(vector(depth - 1)))[\(range):\(step)]\(modifiers())"
        }
        return "\(selector())[\(pick(["1m", "2m", "5m", "10m", "90s", "3m"]))]\(modifiers())"
    }

    static let rangeFunctions = [
        "rate", "increase", "delta", "irate", "idelta", "deriv", "changes", "resets", "avg_over_time", "min_over_time",
        "max_over_time", "sum_over_time", "count_over_time", "stddev_over_time", "stdvar_over_time", "last_over_time",
        "present_over_time", "absent_over_time",
    ]
    static let simpleFunctions = [
        "abs", "ceil", "floor", "exp", "sqrt", "ln", "log2", "log10", "sgn", "sin", "cos", "tan", "asin", "acos", "atan",
        "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "deg", "rad", "sort", "sort_desc", "timestamp", "absent",
    ]
    static let timeFunctions = ["hour", "minute", "month", "year", "day_of_month", "day_of_week", "day_of_year", "days_in_month"]

    mutating func vector(_ depth: Int) -> String {
        if depth <= 0 { return selector() + modifiers() }
        switch int(0...15) {
        case 0, 1:
            return selector() + modifiers()
        case 2, 3:
            return aggregation(depth)
        case 4:
            // Vector and scalar, either side.
            let op = pick(["+", "-", "*", "/", "%", "^", "atan2", "==", "!=", ">", "<", ">=", "<="])
            let b = ["==", "!=", ">", "<", ">=", "<="].contains(op) && chance(0.4) ? " bool" : ""
            return chance(0.5)
                ? "\(vector(depth - 1)) \(op)\(b) \(scalar(depth - 1))" : "\(scalar(depth - 1)) \(op)\(b) \(vector(depth - 1))"
        case 5, 6:
            return vectorMatch(depth)
        case 7:
            let op = pick(["and", "or", "unless"])
            let m = pick(["", "", " on(a)", " ignoring(b)", " on()", " ignoring(c)"])
            return "\(vector(depth - 1)) \(op)\(m) \(vector(depth - 1))"
        case 8:
            return "\(pick(Self.simpleFunctions))(\(vector(depth - 1)))"
        case 9:
            return rangeFunction(depth)
        case 10:
            return rangeFunction(depth)
        case 11:
            switch int(0...5) {
            case 0: return "round(\(vector(depth - 1))\(chance(0.5) ? ", \(pick(["0.5", "2", "0.3", "-1"]))" : ""))"
            case 1: return "clamp(\(vector(depth - 1)), \(scalar(0)), \(scalar(0)))"
            case 2: return "\(pick(["clamp_min", "clamp_max"]))(\(vector(depth - 1)), \(scalar(0)))"
            case 3:
                let f = pick(Self.timeFunctions)
                return chance(0.3) ? "\(f)()" : "\(f)(\(vector(depth - 1)) * \(pick(["1e6", "86400", "3600", "1"])))"
            case 4: return "vector(\(scalar(depth - 1)))"
            default:
                let inner = chance(0.5) ? "rate(h_bucket[5m])" : "h_bucket"
                let by = pick([" by (le)", " by (le, a)", " without (a)", ""])
                return "histogram_quantile(\(pick(["0.5", "0.9", "0.99", "0", "1", "-1", "1.5"])), sum\(by) (\(inner)))"
            }
        case 12:
            let regex = pick(["(.*)", "x|y", "(.)(.*)", "", "y", "([a-z])", "(", "(?P<n>.)", "[[:alpha:]]+"])
            let replacement = pick(["$1", "v-$1", "$2$1", "", "fixed", "${1}_s"])
            return "label_replace(\(vector(depth - 1)), \"\(pick(["a", "d", "b"]))\", \"\(replacement)\", \"\(pick(["a", "b", "c", "nope"]))\", \"\(regex)\")"
        case 13:
            return "label_join(\(vector(depth - 1)), \"\(pick(["j", "a", "1bad"]))\", \"\(pick(["-", "", ","]))\", \"a\", \"\(pick(["b", "c", "a"]))\")"
        case 14:
            return "-\(vector(depth - 1))"
        default:
            return "(\(vector(depth - 1)))"
        }
    }

    mutating func aggregation(_ depth: Int) -> String {
        let labels = ["a", "b", "c", "le"]
        let g = grouping(labels)
        let inner = vector(depth - 1)
        switch int(0...11) {
        case 0: return "topk\(g) (\(pick(["1", "2", "3", "0", "scalar(mb{a=\"x\"})"])), \(inner))"
        case 1: return "bottomk\(g) (\(pick(["1", "2", "3", "-1"])), \(inner))"
        case 2: return "quantile\(g) (\(pick(["0", "0.25", "0.5", "0.9", "1", "-0.5", "1.5"])), \(inner))"
        case 3: return "count_values\(g) (\"\(pick(["v", "a", "1bad"]))\", \(inner))"
        default:
            let op = pick(["sum", "min", "max", "avg", "group", "stddev", "stdvar", "count"])
            return chance(0.5) ? "\(op)\(g) (\(inner))" : "\(op)(\(inner))\(g)"
        }
    }

    mutating func vectorMatch(_ depth: Int) -> String {
        let op = pick(["+", "-", "*", "/", ">", "<=", "==", "!=", "^", "%", "atan2"])
        let b = ["==", "!=", ">", "<="].contains(op) && chance(0.4) ? " bool" : ""
        // Pairs of metrics where many-to-one matching on `a` usually works.
        switch int(0...4) {
        case 0:
            return "\(selector("ma")) \(op)\(b) on(a) group_left\(pick(["", "(c)", "()"])) \(pick(["mb", "mc", "max by (a) (ma)"]))"
        case 1:
            return "\(pick(["mb", "mc", "sum by (a) (ma)"])) \(op)\(b) on(a) group_right\(pick(["", "(c)"])) \(selector("ma"))"
        case 2:
            return "\(selector("mc")) \(op)\(b) ignoring(c) \(pick(["mb", "mc", "ma"]))"
        case 3:
            return "\(selector("ma")) \(op)\(b) ignoring(b) group_left \(pick(["mb", "mc"]))"
        default:
            return "\(vector(depth - 1)) \(op)\(b) \(vector(depth - 1))"
        }
    }

    mutating func rangeFunction(_ depth: Int) -> String {
        switch int(0...9) {
        case 0: return "quantile_over_time(\(pick(["0", "0.5", "0.9", "1", "2"])), \(matrix(depth - 1)))"
        case 1: return "predict_linear(\(matrix(depth - 1)), \(pick(["60", "3600", "-600", "0"])))"
        case 2: return "holt_winters(\(matrix(depth - 1)), \(pick(["0.5", "0.1", "0.9", "1"])), \(pick(["0.5", "0.2", "0.8", "0"])))"
        default:
            let f = pick(Self.rangeFunctions)
            let counterLike = ["rate", "increase", "irate", "resets"].contains(f)
            if counterLike && chance(0.6) { return "\(f)(cnt[\(pick(["2m", "5m", "10m", "3m"]))]\(modifiers()))" }
            return "\(f)(\(matrix(depth - 1)))"
        }
    }

    /// One expression: an instant vector or a scalar.
    mutating func expression() -> String {
        chance(0.1) ? scalar(2) : vector(int(1...3))
    }
}
