#if canImport(Glibc)
import Config
import Glibc
#endif
import GoFormat
import LookoutCore
import PromQL
import Rules
import Series

/// Runs rule unit tests in promtool's format (`promtool test rules`) on lookout's own
/// engine, and reports like promtool: `Unit Testing:  FILE`, then `SUCCESS` or `FAILED:`
/// with each failure's expected and actual alerts or samples.
///
/// As in promtool: series are loaded from time 0 at the test's `interval`; every group is
/// evaluated at 0, `evaluation_interval`, 2·`evaluation_interval`, ... up to the largest
/// `eval_time` (groups' own intervals are ignored); an alert test at `eval_time` compares
/// the firing alerts after the last evaluation at or before it; expression tests run after
/// all evaluations and compare samples exactly.
public enum RuleTestRunner {
    /// Runs the test files; `success` is false when any test of any file failed.
    public static func run(files: [String]) -> (output: String, success: Bool) {
        var output = ""
        var success = true
        for f in files {
            output += "Unit Testing:  \(f)\n"
            let errors = runFile(f)
            if errors.isEmpty {
                output += "  SUCCESS\n"
            } else {
                success = false
                output += "  FAILED:\n"
                for e in errors { output += e + "\n\n" }
            }
            output += "\n"
        }
        return (output, success)
    }

    struct InputSeries {
        var labels: Labels
        var values: [SeriesNotation.Item]
    }

    struct AlertTest {
        var evalTime: Int64
        var evalTimeText: String
        var alertname: String
        var expected: [(labels: Labels, annotations: Labels)]
    }

    struct ExprTest {
        var expr: String
        var evalTime: Int64
        var evalTimeText: String
        var samples: [(labels: String, value: Double)]
    }

    struct TestGroup {
        var name: String
        var interval: Int64?
        var series: [InputSeries]
        var alertTests: [AlertTest]
        var exprTests: [ExprTest]
        var externalLabels: [String: String]
        var externalURL: String
    }

    /// Runs one file; returns the failures, each already indented as promtool prints them.
    static func runFile(_ path: String) -> [String] {
        let text: String
        do {
            text = try FileIO.readText(path)
        } catch {
            return ["\(error)"]
        }
        let doc = YAMLDocument(text: text, file: path)
        guard let root = doc.root,
            let top = root.mapping("test file", allowedKeys: ["rule_files", "evaluation_interval", "group_eval_order", "tests"])
        else {
            return doc.diagnostics.map(\.description).ifEmpty(["\(path): empty test file"])
        }
        let ruleFilePatterns = top["rule_files"]?.stringList("rule_files") ?? []
        let evalInterval = (top["evaluation_interval"]?.duration("evaluation_interval", positive: true)).map { $0.milliseconds } ?? 60_000
        let order = top["group_eval_order"]?.stringList("group_eval_order") ?? []
        var groups: [TestGroup] = []
        for t in top["tests"]?.sequence("tests") ?? [] {
            if let g = testGroup(t) { groups.append(g) }
        }
        if !doc.diagnostics.isEmpty { return doc.diagnostics.map(\.description) }
        var seen: Set<String> = []
        for g in order where !seen.insert(g).inserted { return ["group name repeated in evaluation order: \(g)"] }

        // Rule files are relative to the test file, and may be globs.
        var ruleFiles: [String] = []
        for p in ruleFilePatterns {
            ruleFiles += glob(ConfigPath.resolve(p, relativeTo: path))
        }
        // promtool sets no limit on how far back rules read.
        let (definitions, diagnostics) = RuleFileLoader.load(files: ruleFiles, maxLookback: nil)
        if !diagnostics.isEmpty { return diagnostics.map(\.description) }
        let ordered = orderGroups(definitions, order)

        var errors: [String] = []
        for g in groups {
            errors += run(g, ordered, evalInterval: evalInterval)
        }
        return errors
    }

    static func orderGroups(_ groups: [RuleGroupDefinition], _ order: [String]) -> [RuleGroupDefinition] {
        var rank: [String: Int] = [:]
        for (i, n) in order.enumerated() { rank[n] = i }
        return groups.enumerated().sorted { a, b in
            let ra = rank[a.element.name] ?? 0, rb = rank[b.element.name] ?? 0
            return ra != rb ? ra < rb : a.offset < b.offset
        }.map(\.element)
    }

    static func glob(_ pattern: String) -> [String] {
        guard pattern.contains(where: { $0 == "*" || $0 == "?" || $0 == "[" }) else { return [pattern] }
        var g = glob_t()
        defer { globfree(&g) }
        guard Glibc.glob(pattern, 0, nil, &g) == 0 else { return [] }
        var out: [String] = []
        for i in 0..<Int(g.gl_pathc) {
            if let p = g.gl_pathv[i] { out.append(String(cString: p)) }
        }
        return out.sorted()
    }

    static func testGroup(_ v: YAMLValue) -> TestGroup? {
        guard
            let m = v.mapping(
                "test", allowedKeys: ["interval", "input_series", "alert_rule_test", "promql_expr_test", "external_labels", "external_url", "name"])
        else { return nil }
        var g = TestGroup(name: "", interval: nil, series: [], alertTests: [], exprTests: [], externalLabels: [:], externalURL: "")
        g.name = m["name"]?.string("name") ?? ""
        g.interval = m["interval"]?.duration("interval", positive: true)?.milliseconds
        g.externalURL = m["external_url"]?.string("external_url") ?? ""
        for (k, value, _) in m["external_labels"]?.stringMap("external_labels") ?? [] { g.externalLabels[k] = value }
        for s in m["input_series"]?.sequence("input_series") ?? [] {
            guard let sm = s.mapping("input series", allowedKeys: ["series", "values"]) else { continue }
            guard let seriesValue = sm.required("series"), let seriesText = seriesValue.string("series") else { continue }
            let labels: Labels
            do {
                labels = try SeriesNotation.parseMetric(seriesText)
            } catch {
                seriesValue.error("series: \(error)")
                continue
            }
            var items: [SeriesNotation.Item] = []
            if let vv = sm["values"], let text = vv.string("values") {
                do {
                    items = try SeriesNotation.parseValues(text)
                } catch {
                    vv.error("values: \(error)")
                    continue
                }
            }
            g.series.append(InputSeries(labels: labels, values: items))
        }
        for a in m["alert_rule_test"]?.sequence("alert_rule_test") ?? [] {
            guard let am = a.mapping("alert rule test", allowedKeys: ["eval_time", "alertname", "exp_alerts"]) else { continue }
            let evalTime = am["eval_time"]?.duration("eval_time")?.milliseconds ?? 0
            guard let nameValue = am.required("alertname"), let name = nameValue.string("alertname") else { continue }
            if name.isEmpty { nameValue.error("alertname can't be empty") }
            var expected: [(labels: Labels, annotations: Labels)] = []
            for e in am["exp_alerts"]?.sequence("exp_alerts") ?? [] {
                guard let em = e.mapping("expected alert", allowedKeys: ["exp_labels", "exp_annotations"]) else { continue }
                var labels: [(String, String)] = (em["exp_labels"]?.stringMap("exp_labels") ?? []).map { ($0.key, $0.value) }
                labels.append(("alertname", name))
                let annotations = (em["exp_annotations"]?.stringMap("exp_annotations") ?? []).map { ($0.key, $0.value) }
                expected.append((Labels(labels), Labels(annotations)))
            }
            g.alertTests.append(AlertTest(evalTime: evalTime, evalTimeText: PromDuration.format(milliseconds: evalTime), alertname: name, expected: expected))
        }
        for p in m["promql_expr_test"]?.sequence("promql_expr_test") ?? [] {
            guard let pm = p.mapping("promql expression test", allowedKeys: ["expr", "eval_time", "exp_samples"]) else { continue }
            let expr = pm["expr"]?.string("expr") ?? ""
            let evalTime = pm["eval_time"]?.duration("eval_time")?.milliseconds ?? 0
            var samples: [(labels: String, value: Double)] = []
            for s in pm["exp_samples"]?.sequence("exp_samples") ?? [] {
                guard let sm = s.mapping("expected sample", allowedKeys: ["labels", "value", "histogram"]) else { continue }
                if sm["histogram"] != nil { sm.error("native histogram samples are not supported by lookout") }
                let labels = sm["labels"]?.string("labels") ?? ""
                let value = sm["value"].flatMap { yamlFloat($0) } ?? 0
                samples.append((labels, value))
            }
            g.exprTests.append(ExprTest(expr: expr, evalTime: evalTime, evalTimeText: PromDuration.format(milliseconds: evalTime), samples: samples))
        }
        return g
    }

    /// A YAML float as Go's YAML decoder reads one (`.inf`, `.nan` and plain numbers).
    static func yamlFloat(_ v: YAMLValue) -> Double? {
        guard let s = v.string("value") else { return nil }
        switch s.lowercased() {
        case ".inf", "+.inf": return .infinity
        case "-.inf": return -.infinity
        case ".nan": return .nan
        default: break
        }
        if let d = GoFloat.parse(s.replacingOccurrences("_", "")), !s.lowercased().contains("inf"), !s.lowercased().contains("nan") {
            return d
        }
        v.error("value must be a number, found \"\(s)\"")
        return nil
    }

    static func run(_ g: TestGroup, _ definitions: [RuleGroupDefinition], evalInterval: Int64) -> [String] {
        let clock = ManualClock(wall: WallTime(millisecondsSinceEpoch: 0))
        let interval = g.interval ?? evalInterval
        let engine = RuleEngine(
            clock: clock,
            options: RuleEngine.Options(
                defaultInterval: .milliseconds(interval), externalURL: g.externalURL, externalLabels: g.externalLabels,
                retainEverything: true, maxLookback: nil))
        engine.load(groups: definitions)
        var series: [(labels: Labels, samples: [(t: Int64, v: Double)])] = []
        for s in g.series {
            var samples: [(t: Int64, v: Double)] = []
            for (i, item) in s.values.enumerated() {
                let t = Int64(i) * interval
                switch item {
                case .value(let v): samples.append((t, v))
                case .stale: samples.append((t, StaleNaN.value))
                case .missing: break
                }
            }
            series.append((s.labels, samples))
        }
        engine.append(series: series)

        let prefix = g.name.isEmpty ? "" : "    name: \(g.name),\n"
        var errors: [String] = []
        let maxEval = max(g.alertTests.map(\.evalTime).max() ?? 0, g.exprTests.map(\.evalTime).max() ?? 0)
        let alertTimes = Array(Set(g.alertTests.map(\.evalTime))).sorted()
        var current = 0
        var ts: Int64 = 0
        while ts <= maxEval {
            let round = engine.evaluate(at: WallTime(millisecondsSinceEpoch: ts), everyGroup: true)
            let failures = engine.ruleErrors()
            if !failures.isEmpty {
                return errors + failures.map { "    rule: \($0.rule), time: \(goDuration(ts)), err: \($0.error)" }
            }
            while current < alertTimes.count && ts <= alertTimes[current] && alertTimes[current] < ts + evalInterval {
                let t = alertTimes[current]
                let firing = Dictionary(grouping: round.firing) { $0.labels["alertname"] ?? "" }
                for test in g.alertTests where test.evalTime == t {
                    let got = (firing[test.alertname] ?? []).map { ($0.labels, $0.annotations) }.sorted { Labels.lessThan($0.0, $1.0) }
                    let exp = test.expected.sorted { Labels.lessThan($0.labels, $1.labels) }
                    let same = got.count == exp.count && zip(got, exp).allSatisfy { $0.0 == $1.labels && $0.1 == $1.annotations }
                    if !same {
                        errors.append(
                            "\(prefix)    alertname: \(test.alertname), time: \(test.evalTimeText), \n        exp:\(indentLines(describe(exp.map { ($0.labels, $0.annotations) }), "            ")), \n        got:\(indentLines(describe(got), "            "))"
                        )
                    }
                }
                current += 1
            }
            ts += evalInterval
        }

        for test in g.exprTests {
            let time = WallTime(millisecondsSinceEpoch: test.evalTime)
            let got: [Sample]
            do {
                let expr = try PromQLParser.parse(test.expr)
                got = try engine.query(expr, at: time)
            } catch let e as ParseError {
                errors.append("    expr: \(goQuoted(test.expr)), time: \(test.evalTimeText), err: \(e.unsupported ? "unsupported by lookout: " : "parse error: ")\(e.message) at offset \(e.range.start)")
                continue
            } catch {
                errors.append("    expr: \(goQuoted(test.expr)), time: \(test.evalTimeText), err: \(error)")
                continue
            }
            var expected: [(Labels, Double)] = []
            var bad = false
            for s in test.samples {
                do {
                    expected.append((try SeriesNotation.parseMetric(s.labels), s.value))
                } catch {
                    errors.append("    expr: \(goQuoted(test.expr)), time: \(test.evalTimeText), err: labels \(goQuoted(s.labels)): \(error)")
                    bad = true
                    break
                }
            }
            if bad { continue }
            let exp = expected.sorted { Labels.lessThan($0.0, $1.0) }
            let gotSorted = got.map { ($0.labels, $0.value) }.sorted { Labels.lessThan($0.0, $1.0) }
            // Exact comparison, as promtool's (a NaN never equals anything).
            let same = exp.count == gotSorted.count && zip(exp, gotSorted).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
            if !same {
                errors.append(
                    "    expr: \(goQuoted(test.expr)), time: \(test.evalTimeText),\n        exp: \(samplesString(exp))\n        got: \(samplesString(gotSorted))")
            }
        }
        return errors
    }

    static func samplesString(_ s: [(Labels, Double)]) -> String {
        if s.isEmpty { return "nil" }
        return s.map { "\($0.0.promString) \(GoFloat.formatE($0.1, upper: true))" }.joined(separator: ", ")
    }

    static func describe(_ alerts: [(Labels, Labels)]) -> String {
        if alerts.isEmpty { return "[]" }
        var s = "[\n"
        for (i, a) in alerts.enumerated() {
            if i > 0 { s += ",\n" }
            s += "\(i):" + indentLines("\nLabels:\(a.0.promString)\nAnnotations:\(a.1.promString)", "  ")
        }
        return s + "\n]"
    }

    static func indentLines(_ text: String, _ indent: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).enumerated().map { $0.offset > 0 ? indent + $0.element : String($0.element) }
            .joined(separator: "\n")
    }

    /// Go's `time.Duration.String()` for whole milliseconds: `0s`, `1m30s`, `1h0m0s`, `1.5s`.
    static func goDuration(_ ms: Int64) -> String {
        if ms == 0 { return "0s" }
        var rest = abs(ms)
        let sign = ms < 0 ? "-" : ""
        if rest < 1000 { return "\(sign)\(rest)ms" }
        let h = rest / 3_600_000
        rest %= 3_600_000
        let m = rest / 60_000
        rest %= 60_000
        var secs = "\(rest / 1000)"
        if rest % 1000 != 0 {
            var frac = String(rest % 1000)
            while frac.count < 3 { frac = "0" + frac }
            while frac.hasSuffix("0") { frac.removeLast() }
            secs += "." + frac
        }
        if h > 0 { return "\(sign)\(h)h\(m)m\(secs)s" }
        if m > 0 { return "\(sign)\(m)m\(secs)s" }
        return "\(sign)\(secs)s"
    }
}

extension Labels {
    static func lessThan(_ a: Labels, _ b: Labels) -> Bool { Registry.compare(a, b) < 0 }
}

extension Array {
    fileprivate func ifEmpty(_ other: [Element]) -> [Element] { isEmpty ? other : self }
}

extension String {
    fileprivate func replacingOccurrences(_ a: Character, _ b: String) -> String {
        var out = ""
        for c in self { if c == a { out += b } else { out.append(c) } }
        return out
    }
}

extension RuleEngine {
    /// Rules whose last evaluation failed, in group order (unit tests stop on these).
    func ruleErrors() -> [(rule: String, error: String)] {
        groups.flatMap { $0.rules.filter { $0.health == .err }.map { ($0.name, $0.lastError) } }
    }
}
