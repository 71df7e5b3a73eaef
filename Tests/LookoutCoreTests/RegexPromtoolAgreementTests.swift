import GoFormat
import LookoutCore
import TestSupport
import Testing

/// lookout takes a label-matcher regex exactly when promtool (Prometheus 2.42, Go 1.19) does,
/// and the two select the same label values: a rule file that loads in one loads in the other
/// and means the same.
@Suite struct RegexPromtoolAgreementTests {
    struct Case: CustomStringConvertible, Sendable {
        let bytes: [UInt8]
        /// promtool's verdict, as recorded here (the test asks promtool again).
        let accepted: Bool
        init(_ pattern: String, _ accepted: Bool) {
            bytes = Array(pattern.utf8)
            self.accepted = accepted
        }
        init(bytes: [UInt8], _ accepted: Bool) {
            self.bytes = bytes
            self.accepted = accepted
        }
        var description: String { String(decoding: bytes, as: UTF8.self).debugDescription }
    }

    static let ok = true, refused = false

    static let cases: [Case] = [
        // Shapes lookout answers without RE2, and everyday patterns.
        Case("abc", ok), Case("a|b|c", ok), Case(".*", ok), Case(".+", ok), Case("foo.*", ok), Case("", ok),
        Case("(a+)+$", ok), Case("^abc$", ok), Case("[a-z]+", ok), Case("a\nb", ok), Case("(?)", ok),
        // Classes: POSIX, Perl, Unicode.
        Case("[[:word:]]+", ok), Case("[[:^alpha:]]", ok), Case(#"\pL+"#, ok), Case(#"\p{Greek}"#, ok),
        Case(#"\PL"#, ok), Case(#"\p{^Greek}"#, ok), Case(#"\p{Any}"#, ok), Case(#"\d\s\w\D\S\W"#, ok),
        Case("[]a]", ok), Case("[^]a]", ok), Case(#"[\d-z]"#, ok), Case(#"[^\x00-\x{10FFFF}]"#, ok),
        Case("[[:foo:]]", refused), Case("[z-a]", refused), Case("[a", refused), Case(#"[a-\d]"#, refused),
        Case(#"\pX"#, refused), Case(#"\p{Foo}"#, refused),
        // Unicode scripts RE2 knows and Go 1.19 does not.
        Case(#"\p{Vithkuqi}"#, refused), Case(#"[\p{Vithkuqi}]"#, refused), Case(#"\P{Kawi}"#, refused),
        // Flags.
        Case("(?i)abc", ok), Case("(?s).", ok), Case("(?U)a+", ok), Case("(?m)^a$", ok), Case("(?i:abc)d", ok),
        Case("(?i-s:x)", ok), Case("(?i)ǅ", ok), Case("(?z)", refused), Case("(?i-)", refused),
        // Groups and names: Go 1.19 knows only (?P<name>...), ASCII names.
        Case("(?P<name>x)", ok), Case("(?P<1a>x)", ok), Case("(?P<n>a)(?P<n>b)", ok), Case("(?<name>x)", refused),
        Case("(?P=name)", refused), Case("(?P<é>x)", refused), Case("(?P<>x)", refused), Case("(", refused),
        Case(")", refused), Case("a)|(b", refused), Case("a)(?:b", refused),
        // Perl features RE2 leaves out: back-references, look-around, possessive and atomic groups.
        Case(#"(a)\1"#, refused), Case("(?=a)a", refused), Case("(?!a)a", refused), Case("(?<=a)a", refused),
        Case("(?<!a)a", refused), Case("a++", refused), Case("a**", refused), Case("a*+", refused),
        Case("a{2}{3}", refused), Case("(?>a)", refused), Case("(?#c)", refused), Case("(?|a)", refused),
        Case("(*ANY)a", refused), Case("*a", refused), Case("a|*", refused),
        // Escapes.
        Case(#"\Qa.b\E"#, ok), Case(#"\Q..\E"#, ok), Case(#"\Qa\Cb\E"#, ok), Case(#"\Qa\\E"#, ok), Case(#"\\C"#, ok),
        Case(#"\x41\x{263a}"#, ok), Case(#"\101"#, ok), Case(#"\0"#, ok), Case(#"\_"#, ok), Case(#"\ "#, ok),
        Case(#"\v\f\t\r\n\a"#, ok), Case(#"\b\B"#, ok), Case(#"\A\z"#, ok), Case("a*?", ok), Case("a??", ok),
        Case(#"\C"#, refused), Case(#"[\C]"#, refused), Case(#"\Qab"#, refused), Case(#"\Q\E*"#, refused),
        Case(#"[\Q]\E]"#, refused), Case(#"\Z"#, refused), Case(#"\e"#, refused), Case(#"\é"#, refused),
        Case(#"\8"#, refused), Case(#"\x{110000}"#, refused), Case(#"\R"#, refused), Case(#"\h"#, refused),
        Case(#"\X"#, refused), Case(#"\N{DIGIT ONE}"#, refused), Case(#"\cA"#, refused), Case(#"\G"#, refused),
        Case(#"\K"#, refused),
        // Repetition: at most 1000, also when nested.
        Case("x{1000}", ok), Case("x{1000,}", ok), Case("x{2,5}", ok), Case("x{,5}", ok), Case("a{1000}b{1000}", ok),
        Case("(x{10}){100}", ok), Case("((x{10}){10}){10}", ok), Case(".{1000}", ok), Case(#"\pL{100}"#, ok),
        Case("x{1001}", refused), Case("x{0,1001}", refused), Case("(x{1000}){1000}", refused),
        Case("(x{10}){101}", refused), Case("a{2,1}", refused),
        // Nesting: Go refuses a parse tree higher than 1000.
        Case(String(repeating: "(", count: 998) + "a" + String(repeating: ")", count: 998), ok),
        Case(String(repeating: "(", count: 999) + "a" + String(repeating: ")", count: 999), refused),
        Case(String(repeating: "(", count: 499) + "a" + String(repeating: ")*", count: 499), ok),
        Case(String(repeating: "(", count: 500) + "a" + String(repeating: ")*", count: 500), refused),
        Case(String(repeating: "(a|", count: 499) + "b" + String(repeating: ")", count: 499), ok),
        Case(String(repeating: "(a|", count: 500) + "b" + String(repeating: ")", count: 500), refused),
        Case(String(repeating: "(?:", count: 5000) + "a" + String(repeating: ")", count: 5000), ok),
        // Invalid UTF-8 (a PromQL string can hold any byte: "a\xffb").
        Case(bytes: [0x61, 0xFF, 0x62], refused),
    ]

    /// lookout's verdict: the way the PromQL parser and the config compile a matcher's regex.
    static func lookoutAccepts(_ c: Case) -> Bool { (try? AnchoredRegex(utf8: c.bytes)) != nil }

    /// A PromQL string literal holding `bytes`.
    static func promQLString(_ bytes: [UInt8]) -> String {
        if let s = String(validating: bytes, as: UTF8.self) { return goQuoted(s) }
        var out = "\""
        for b in bytes {
            switch b {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): out += "\\" + String(UnicodeScalar(b))
            case 0x20..<0x7F: out.unicodeScalars.append(UnicodeScalar(b))
            default: out += "\\x" + (b < 16 ? "0" : "") + String(b, radix: 16)
            }
        }
        return out + "\""
    }

    /// A YAML single-quoted scalar.
    static func yamlQuoted(_ s: String) -> String {
        "'" + s.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "''") + "'"
    }

    @Test func acceptsAndRefusesAsPromtool() throws {
        #expect(Self.cases.count >= 40)
        let dir = TemporaryDirectory(prefix: "lookout-regex")
        var yaml = "groups:\n- name: regexes\n  rules:\n"
        for (i, c) in Self.cases.enumerated() {
            yaml += "  - record: r\(i)\n    expr: \(Self.yamlQuoted("up{a=~\(Self.promQLString(c.bytes))}"))\n"
        }
        let file = dir.write("regexes.rules.yml", yaml)
        let promtool = Shell.run(["promtool", "check", "rules", file])
        #expect(promtool.status == 1, "promtool accepted every pattern:\n\(promtool.output)")
        // `FILE: 5:11: group "regexes", rule 1, "r0": could not parse expression: ...`: rules count from 1.
        var promtoolRefused: [Int: String] = [:]
        for line in promtool.output.split(separator: "\n") {
            let parts = line.split(separator: "group \"regexes\", rule ", maxSplits: 1)
            guard parts.count == 2, let n = Int(parts[1].prefix { $0.isNumber }) else { continue }
            promtoolRefused[n - 1] = String(line)
        }
        #expect(!promtoolRefused.isEmpty, "no error read from promtool's output:\n\(promtool.output)")
        var agree = 0, accepted = 0
        for (i, c) in Self.cases.enumerated() {
            let promtoolAccepts = promtoolRefused[i] == nil
            let lookout = Self.lookoutAccepts(c)
            #expect(promtoolAccepts == c.accepted, "promtool's verdict on \(c) changed: \(promtoolRefused[i] ?? "accepted")")
            #expect(lookout == promtoolAccepts, "\(c): promtool \(promtoolRefused[i] ?? "accepts"); lookout \(lookout ? "accepts" : "refuses")")
            if lookout == promtoolAccepts { agree += 1 }
            if promtoolAccepts { accepted += 1 }
        }
        #expect(agree == Self.cases.count, "agree on \(agree) of \(Self.cases.count) patterns")
        #expect(accepted > 30 && Self.cases.count - accepted > 30)
    }

    /// Which label values each pattern selects, as promtool's own evaluation says.
    static let selectionPatterns = [
        ".*", ".+", "x.*", "a|b", "é", "K", "(?s).*", "[^a]*", #"\s+"#, "(?i)straße", "(?i)k", #"\w+"#, #"\d"#,
        #"\pL+"#, ".", "..", "^a$", "(?m)^a$", "a$", #"\bfoo\b.*"#, "(a+)+$", "(?i)s", "[[:alpha:]]+",
        #"\p{Greek}+"#, #"\x{212A}"#, "(?i)é", "foo|foo bar", "(?U)a+", "a\nb",
    ]
    static let selectionValues = [
        "", "a", "b", "ab", "x\ny", "x", "xyz", "\n", " ", "é", "e\u{301}", "K", "\u{212A}", "k", "STRASSE",
        "straße", "STRAßE", "ſ", "s", "foo bar", "foobar", "日本", "😀", "\t", "ΩΨ", "a\nb",
        String(repeating: "a", count: 40) + "b", String(repeating: "a", count: 40),
    ]

    @Test func selectsTheSameValuesAsPromtool() throws {
        let dir = TemporaryDirectory(prefix: "lookout-regex")
        _ = dir.write("empty.rules.yml", "groups: []\n")
        var yaml = "rule_files: [empty.rules.yml]\nevaluation_interval: 1m\ntests:\n- interval: 1m\n  input_series:\n"
        for (i, v) in Self.selectionValues.enumerated() {
            yaml += "  - series: \(Self.yamlQuoted("up{i=\"\(i)\",v=\(goQuoted(v))}"))\n    values: '1'\n"
        }
        yaml += "  promql_expr_test:\n"
        var selected = 0
        for p in Self.selectionPatterns {
            let r = try AnchoredRegex(p)
            for (i, v) in Self.selectionValues.enumerated() {
                let match = r.matches(v)
                if match { selected += 1 }
                yaml += "  - expr: \(Self.yamlQuoted("count(up{i=\"\(i)\",v=~\(goQuoted(p))}) or vector(0)"))\n"
                yaml += "    eval_time: 0\n    exp_samples: [{value: \(match ? 1 : 0)}]\n"
            }
        }
        #expect(selected > 50)
        let file = dir.write("selection.test.yml", yaml)
        let promtool = Shell.run(["promtool", "test", "rules", file])
        #expect(promtool.status == 0, "promtool disagrees with lookout:\n\(promtool.output.prefix(6000))")
        #expect(promtool.output.contains("SUCCESS"))
    }
}
