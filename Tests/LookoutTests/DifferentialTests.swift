#if canImport(Glibc)
import Glibc
#endif
import LookoutCore
import TestSupport
import Testing

@testable import lookout

/// Random expressions over random series, written as promtool test files whose expression
/// tests expect nothing: both runners then print what each expression gives (`got:`) or
/// its error, and `lookout test-rules` must print what `promtool test rules` prints for
/// every one: the same samples with the same values to the last bit (NaN equal to NaN), an
/// error where promtool has one. promtool loads the input series through a Go map, so its
/// order of series, and with it the last bits of an `avg` or `stddev` (or which of two NaN
/// `bottomk` keeps), changes from run to run: where lookout differs, promtool runs the file
/// again and lookout's answer must be one of promtool's; results equal only up to a
/// relative 1e-9 are counted and printed apart. A fixed-seed batch runs here; a large one with
/// `LOOKOUT_DIFFERENTIAL_COUNT=5000 LOOKOUT_DIFFERENTIAL_SEED=7 swift test --filter DifferentialTests`
/// (`LOOKOUT_DIFFERENTIAL_KEEP=DIR` keeps the generated files).
@Suite struct DifferentialTests {
    /// What a runner said about one expression at one time: nil when it gave nothing.
    struct Outcome {
        enum Kind: Equatable {
            case samples(String)
            case error
        }

        var kind: Kind
        var text: String

        /// The samples of a `got:` line: label sets as printed, and values.
        var samples: [(labels: String, value: Double)]? {
            guard case .samples(let s) = kind else { return nil }
            return DifferentialTests.parseSamples(s)
        }
    }

    /// How two outcomes compare: the same error or the same samples with the same values to
    /// the last bit (NaN equal to NaN), the same but for rounding, or different.
    enum Agreement { case exact, rounding, different }

    /// How often promtool runs again on a file where it disagrees, to see its other orders.
    static let reruns = 12

    static func compare(_ a: Outcome?, _ b: Outcome?) -> Agreement {
        guard let a, let b else { return a == nil && b == nil ? .exact : .different }
        if a.kind == b.kind { return .exact }
        guard let x = a.samples, let y = b.samples, x.count == y.count else { return .different }
        for (p, q) in zip(x, y) {
            guard p.labels == q.labels else { return .different }
            if p.value.isNaN || q.value.isNaN || p.value.isInfinite || q.value.isInfinite {
                guard p.value.isNaN == q.value.isNaN, p.value.isNaN || p.value == q.value else { return .different }
                continue
            }
            let scale = max(Swift.abs(p.value), Swift.abs(q.value))
            guard Swift.abs(p.value - q.value) <= max(1e-12, 1e-9 * scale) else { return .different }
        }
        return .rounding
    }

    /// Parses `{a="b"} 1E+00, {} NaN` (label sets quote-aware).
    static func parseSamples(_ s: String) -> [(labels: String, value: Double)]? {
        if s == "nil" { return [] }
        let b = Array(s.utf8)
        var i = 0
        var out: [(String, Double)] = []
        while i < b.count {
            guard b[i] == UInt8(ascii: "{") else { return nil }
            let start = i
            var quoted = false
            while i < b.count {
                if quoted {
                    if b[i] == UInt8(ascii: "\\") { i += 1 } else if b[i] == UInt8(ascii: "\"") { quoted = false }
                } else if b[i] == UInt8(ascii: "\"") {
                    quoted = true
                } else if b[i] == UInt8(ascii: "}") {
                    break
                }
                i += 1
            }
            guard i < b.count else { return nil }
            let labels = String(decoding: b[start...i], as: UTF8.self)
            i += 2
            let valueStart = i
            while i < b.count, b[i] != UInt8(ascii: ",") { i += 1 }
            guard let v = Double(String(decoding: b[valueStart..<i], as: UTF8.self)) else { return nil }
            out.append((labels, v))
            i += 2
        }
        return out
    }

    /// Reads `    expr: "…", time: T,` entries of a runner's output into their outcomes.
    static func outcomes(_ output: String) -> [String: Outcome] {
        var out: [String: Outcome] = [:]
        var key: String?
        for line in output.split(separator: "\n").map(String.init) {
            if line.hasPrefix("    expr: ") {
                if let err = line.split(separator: ", err: ", maxSplits: 1).first, err.count < line.count {
                    out[String(err)] = Outcome(kind: .error, text: line)
                    key = nil
                } else {
                    key = String(line.dropLast())
                }
            } else if let k = key, line.hasPrefix("        got: ") {
                out[k] = Outcome(kind: .samples(String(line.dropFirst(13))), text: line)
                key = nil
            }
        }
        return out
    }

    static func quoteYAML(_ s: String) -> String { "'" + s.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "''") + "'" }

    /// Writes one test file of `count` expressions in `dir`; returns its path.
    static func writeFile(_ gen: inout PromQLGenerator, count: Int, dir: TemporaryDirectory, name: String) -> String {
        var text = "evaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n"
        for s in gen.series() {
            text += "      - series: \(quoteYAML(s.labels))\n        values: '\(s.values)'\n"
        }
        text += "    promql_expr_test:\n"
        var seen: Set<String> = []
        var written = 0
        while written < count {
            let expr = gen.expression()
            let time = "\(gen.int(0...80) * 30)s"
            guard seen.insert(expr + "@" + time).inserted else { continue }
            text += "      - expr: \(quoteYAML(expr))\n        eval_time: \(time)\n"
            written += 1
        }
        return dir.write(name, text)
    }

    /// `keep`: a directory to copy the test files to (to rerun a disagreement by hand).
    static func run(
        count: Int, seed: UInt64, keep: String? = nil
    ) -> (compared: Int, disagreements: [String], rounding: [String], orderDependent: [String], errors: Int, samples: Int) {
        let dir = TemporaryDirectory(prefix: "lookout-differential")
        var gen = PromQLGenerator(seed: seed)
        var compared = 0
        var disagreements: [String] = []
        var rounding: [String] = []
        var orderDependent: [String] = []
        var errors = 0
        var samples = 0
        var fileIndex = 0
        while compared < count {
            let n = min(100, count - compared)
            let path = writeFile(&gen, count: n, dir: dir, name: "batch\(fileIndex).test.yml")
            fileIndex += 1
            compared += n
            if let keep, let text = try? FileIO.readText(path) {
                try? FileIO.makeDirectories(keep)
                try? FileIO.writeAtomically(keep + "/batch\(fileIndex - 1).test.yml", Array(text.utf8))
            }
            let promtool = Shell.run(["promtool", "test", "rules", path])
            let lookout = RuleTestRunner.run(files: [path])
            let expected = outcomes(promtool.output)
            let got = outcomes(lookout.output)
            var reruns: [[String: Outcome]] = []
            for key in Set(expected.keys).union(got.keys).sorted() {
                let p = expected[key], l = got[key]
                if p?.kind == .error { errors += 1 } else if p != nil { samples += 1 }
                let report = "\(key)\n  promtool: \(p?.text ?? "nothing")\n  lookout:  \(l?.text ?? "nothing")"
                let first = compare(p, l)
                if first == .exact { continue }
                // promtool's order of series is random: is lookout's answer one it gives too?
                if reruns.isEmpty {
                    reruns = (0..<Self.reruns).map { _ in outcomes(Shell.run(["promtool", "test", "rules", path]).output) }
                }
                let again = reruns.map { compare($0[key], l) }
                if again.contains(.exact) {
                    orderDependent.append(report)
                } else if first == .rounding || again.contains(.rounding) {
                    rounding.append(report)
                } else {
                    disagreements.append(report)
                }
            }
        }
        return (compared, disagreements, rounding, orderDependent, errors, samples)
    }

    @Test func lookoutAndPromtoolAgreeOnRandomExpressions() {
        let env = { (name: String) in getenv(name).map { String(cString: $0) } }
        let count = env("LOOKOUT_DIFFERENTIAL_COUNT").flatMap { Int($0) } ?? 300
        let seed = env("LOOKOUT_DIFFERENTIAL_SEED").flatMap { UInt64($0) } ?? 16
        let r = Self.run(count: count, seed: seed, keep: env("LOOKOUT_DIFFERENTIAL_KEEP"))
        print(
            "differential: \(r.compared) expressions (seed \(seed)): \(r.samples) with samples, \(r.errors) errors on both sides, "
                + "\(r.compared - r.disagreements.count - r.rounding.count - r.orderDependent.count) identical, "
                + "\(r.orderDependent.count) identical to another run of promtool, \(r.rounding.count) within rounding, "
                + "\(r.disagreements.count) disagreements")
        for d in r.orderDependent { print("order: " + d) }
        for d in r.rounding { print("rounding: " + d) }
        #expect(r.compared == count)
        // The batch must exercise both results and errors, or it proves little.
        #expect(r.samples > count / 3)
        #expect(r.errors > 0)
        #expect(r.disagreements.isEmpty, "\(r.disagreements.count) disagreements:\n\(r.disagreements.prefix(40).joined(separator: "\n"))")
    }

    @Test func outcomesAreReadFromBothRunnersOutput() {
        let output = """
            Unit Testing:  t.test.yml
              FAILED:
                expr: "ma", time: 2m,
                    exp: nil
                    got: {__name__="ma", a="x"} NaN
                expr: "ma +", time: 3m, err: 1:5: parse error: unexpected end of input
            """
        let o = Self.outcomes(output)
        #expect(o.count == 2)
        #expect(o["    expr: \"ma\", time: 2m"]?.kind == .samples("{__name__=\"ma\", a=\"x\"} NaN"))
        #expect(o["    expr: \"ma +\", time: 3m"]?.kind == .error)
        let two = Self.parseSamples("{a=\"x, {y}\"} 1.5E+00, {} NaN")
        #expect(two?.map(\.labels) == ["{a=\"x, {y}\"}", "{}"])
        #expect(two?[0].value == 1.5 && two?[1].value.isNaN == true)
        func got(_ s: String) -> Outcome { Outcome(kind: .samples(s), text: s) }
        #expect(Self.compare(got("{} 7E+00"), got("{} 6.999999999999999E+00")) == .rounding)
        #expect(Self.compare(got("{} 7E+00"), got("{} 7.1E+00")) == .different)
        #expect(Self.compare(got("{} NaN"), got("{} 0E+00")) == .different)
        #expect(Self.compare(got("{a=\"1\"} 1E+00"), got("{a=\"2\"} 1E+00")) == .different)
        #expect(Self.compare(nil, Outcome(kind: .error, text: "")) == .different)
    }
}
