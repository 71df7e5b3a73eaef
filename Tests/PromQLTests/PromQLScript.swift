#if canImport(Glibc)
import Glibc
#endif
import GoFormat
import LookoutCore
import Series

@testable import PromQL

/// Prometheus' PromQL test scripts (`promql/testdata/*.test`, read by `promql/test.go`):
/// `load <step>` with series in promtool's notation, `clear`, and `eval`, `eval_ordered`
/// and `eval_fail` of an expression at one instant with the expected result.
struct PromQLScript {
    struct Evaluation: CustomStringConvertible {
        enum Mode { case unordered, ordered, fail }

        var file: String
        var line: Int
        var mode: Mode
        /// Milliseconds since the epoch.
        var time: Int64
        var expr: String
        /// Expected samples in their order; a scalar is one sample with nil labels.
        var expected: [(labels: Labels?, value: Double)] = []

        var description: String { "\(file):\(line): \(expr)" }
    }

    enum Command {
        case load(stepMilliseconds: Int64, series: [(labels: Labels, values: [SeriesNotation.Item])])
        case clear
        case eval(Evaluation)
    }

    struct Error: Swift.Error, CustomStringConvertible {
        var description: String
    }

    var commands: [Command] = []

    init(text: String, file: String) throws(Error) {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var i = 0
        func fail(_ message: String) -> Error { Error(description: "\(file):\(i + 1): \(message)") }
        func isIndented(_ l: String) -> Bool { l.first == " " || l.first == "\t" }
        func body() -> [String] {
            var out: [String] = []
            while i + 1 < lines.count, isIndented(lines[i + 1]) {
                i += 1
                let t = lines[i].trimmingSpaces()
                if !t.isEmpty && !t.hasPrefix("#") { out.append(t) }
            }
            return out
        }
        while i < lines.count {
            let line = lines[i].trimmingSpaces()
            if line.isEmpty || line.hasPrefix("#") {
                i += 1
                continue
            }
            let words = line.split(separator: " ", maxSplits: 1).map(String.init)
            switch words[0] {
            case "clear":
                commands.append(.clear)
            case "load":
                guard words.count == 2, let step = try? PromDuration.parseMilliseconds(words[1].trimmingSpaces()) else {
                    throw fail("invalid load step")
                }
                var series: [(Labels, [SeriesNotation.Item])] = []
                for def in body() {
                    let (metric, rest) = try Self.splitMetric(def, fail)
                    do {
                        series.append((try SeriesNotation.parseMetric(metric), try SeriesNotation.parseValues(rest)))
                    } catch {
                        throw fail("\(error)")
                    }
                }
                commands.append(.load(stepMilliseconds: step, series: series))
            case "eval", "eval_ordered", "eval_fail":
                // eval instant at <time> <expr>
                let mode: Evaluation.Mode = words[0] == "eval" ? .unordered : (words[0] == "eval_ordered" ? .ordered : .fail)
                let parts = (words.count == 2 ? words[1] : "").split(separator: " ", maxSplits: 3).map(String.init)
                guard parts.count == 4, parts[0] == "instant", parts[1] == "at",
                    let time = try? PromDuration.parseMilliseconds(parts[2])
                else {
                    throw fail("expected eval instant at <time> <expr>")
                }
                let evalLine = i + 1
                var e = Evaluation(file: file, line: evalLine, mode: mode, time: time, expr: parts[3])
                for def in body() {
                    if let v = Self.parseNumber(def) {
                        e.expected.append((nil, v))
                        continue
                    }
                    let (metric, rest) = try Self.splitMetric(def, fail)
                    let values: [SeriesNotation.Item]
                    let labels: Labels
                    do {
                        labels = try SeriesNotation.parseMetric(metric)
                        values = try SeriesNotation.parseValues(rest)
                    } catch {
                        throw fail("\(error)")
                    }
                    guard values.count == 1, case .value(let v) = values[0] else {
                        throw fail("expected one value per series in an instant evaluation")
                    }
                    e.expected.append((labels, v))
                }
                commands.append(.eval(e))
            default:
                throw fail("unknown command \"\(words[0])\"")
            }
            i += 1
        }
    }

    /// `test.go`'s `parseNumber`: Go's `ParseInt(s, 0, 64)`, then `ParseFloat`.
    static func parseNumber(_ s: String) -> Double? {
        if let i = Int64(s) { return Double(i) }
        return GoFloat.parse(s)
    }

    /// Splits `name{labels} values` into the metric and the values, braces and quotes aware.
    static func splitMetric(_ line: String, _ fail: (String) -> Error) throws(Error) -> (String, String) {
        let b = Array(line.utf8)
        var i = 0
        while i < b.count, b[i] != UInt8(ascii: "{"), b[i] != UInt8(ascii: " "), b[i] != UInt8(ascii: "\t") { i += 1 }
        if i < b.count, b[i] == UInt8(ascii: "{") {
            var quote: UInt8?
            while i < b.count {
                let c = b[i]
                if let q = quote {
                    if c == UInt8(ascii: "\\") {
                        i += 1
                    } else if c == q {
                        quote = nil
                    }
                } else if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") || c == UInt8(ascii: "`") {
                    quote = c
                } else if c == UInt8(ascii: "}") {
                    break
                }
                i += 1
            }
            guard i < b.count else { throw fail("unclosed label set in \"\(line)\"") }
            i += 1
        }
        return (String(decoding: b[..<i], as: UTF8.self), String(decoding: b[i...], as: UTF8.self))
    }

    /// `test.go`'s `almostEqual`: NaN equals NaN; otherwise a relative error below 1e-6.
    static func almostEqual(_ a: Double, _ b: Double) -> Bool {
        if a.isNaN && b.isNaN { return true }
        if a == b { return true }
        let diff = Swift.abs(a - b)
        let minNormal = Double(bitPattern: 0x0010_0000_0000_0000)
        let epsilon = 0.000001
        if a == 0 || b == 0 || diff < minNormal { return diff < epsilon * minNormal }
        return diff / (Swift.abs(a) + Swift.abs(b)) < epsilon
    }

    /// Runs every command in order; returns each evaluation with nil when it passed, or why not.
    func run() -> [(evaluation: Evaluation, failure: String?)] {
        var history = History()
        var out: [(Evaluation, String?)] = []
        for c in commands {
            switch c {
            case .clear:
                history = History()
            case .load(let step, let series):
                // A series defined twice in one load keeps its last definition (`loadCmd.set`).
                var last: [Labels: Int] = [:]
                for (k, s) in series.enumerated() { last[s.labels] = k }
                for (k, (labels, values)) in series.enumerated() where last[labels] == k {
                    for (k, item) in values.enumerated() {
                        let t = Int64(k) * step
                        switch item {
                        case .value(let v): history.append(labels, t, v)
                        case .stale: history.append(labels, t, StaleNaN.value)
                        case .missing: break
                        }
                    }
                }
            case .eval(let e):
                out.append((e, Self.check(e, history)))
            }
        }
        return out
    }

    static func check(_ e: Evaluation, _ history: History) -> String? {
        let evaluator = Evaluator(history: history, lookbackMilliseconds: 5 * 60_000, defaultSubqueryStepMilliseconds: 60_000)
        let result: Value
        do {
            let expr = try PromQLParser.parse(e.expr)
            result = try evaluator.evaluate(expr, at: e.time)
        } catch {
            return e.mode == .fail ? nil : "error: \(error)"
        }
        if e.mode == .fail { return "expected an error, got \(result)" }
        switch result {
        case .string(let s):
            return "unexpected string result \(goQuoted(s))"
        case .scalar(let v):
            guard e.expected.count == 1, e.expected[0].labels == nil else {
                return "expected \(e.expected.count) series, got the scalar \(GoFloat.formatG(v))"
            }
            return almostEqual(e.expected[0].value, v) ? nil : "expected \(GoFloat.formatG(e.expected[0].value)), got \(GoFloat.formatG(v))"
        case .vector(let vec):
            var expected: [Labels: (pos: Int, value: Double)] = [:]
            for (pos, x) in e.expected.enumerated() {
                guard let labels = x.labels else { return "expected a scalar, got a vector of \(vec.count)" }
                expected[labels] = (pos, x.value)
            }
            if vec.count != expected.count {
                return "expected \(expected.count) samples, got \(vec.count): \(vec.map { "\($0.labels.promString) \(GoFloat.formatG($0.value))" })"
            }
            for (pos, s) in vec.enumerated() {
                guard let x = expected[s.labels] else { return "unexpected metric \(s.labels.promString) in result" }
                if e.mode == .ordered && x.pos != pos {
                    return "expected metric \(s.labels.promString) at position \(x.pos + 1) but was at \(pos + 1)"
                }
                if !almostEqual(x.value, s.value) {
                    return "expected \(GoFloat.formatG(x.value)) for \(s.labels.promString) but got \(GoFloat.formatG(s.value))"
                }
            }
            return nil
        }
    }
}
