import LookoutCore
import TestSupport
import Testing
@testable import Rules

/// Regexes in rule files: what promtool refuses is a load error with its position and RE2's
/// reason; a backtracking pattern over a long label evaluates in lookout's rule test runner
/// as in promtool's.
@Suite struct RegexRuleTests {
    @Test func refusedRegexesAreLoadErrorsWithPositions() {
        let text = #"""
            groups:
              - name: g
                rules:
                  - record: r1
                    expr: up{a=~"(a)\\1"}
                  - record: r2
                    expr: up{a=~"(?=a)a"}
                  - alert: A
                    expr: 'sum(up{job="x", a=~"a++"}) > 0'
                  - record: r4
                    expr: up{a=~"(a+)+$"}
            """#
        let diagnostics = RuleFileLoader.parse(text: text, file: "r.yml").diagnostics.map(\.description)
        #expect(
            diagnostics == [
                #"r.yml:5:21: group "g", rule "r1": could not parse expression: invalid regular expression "(a)\1": invalid escape sequence: \1"#,
                #"r.yml:7:21: group "g", rule "r2": could not parse expression: invalid regular expression "(?=a)a": invalid perl operator: (?="#,
                #"r.yml:9:35: group "g", rule "A": could not parse expression: invalid regular expression "a++": bad repetition operator: ++"#,
            ])
    }

    @Test func backtrackingPatternOverALongLabelInRuleTests() throws {
        let dir = TemporaryDirectory(prefix: "lookout-regex-rules")
        let a = String(repeating: "a", count: 10_000)
        _ = dir.write(
            "evil.rules.yml",
            """
            groups:
              - name: evil
                rules:
                  - alert: AllAs
                    expr: up{a=~"(a+)+$"} == 1
            """)
        let test = dir.write(
            "evil.test.yml",
            """
            rule_files: [evil.rules.yml]
            evaluation_interval: 1m
            tests:
              - interval: 1m
                input_series:
                  - series: 'up{a="\(a)b", i="1"}'
                    values: '1 1'
                  - series: 'up{a="\(a)", i="2"}'
                    values: '1 1'
                alert_rule_test:
                  - eval_time: 1m
                    alertname: AllAs
                    exp_alerts:
                      - exp_labels: {a: "\(a)", i: "2"}
                promql_expr_test:
                  - expr: count(up{a=~"(a+)+$"})
                    eval_time: 1m
                    exp_samples: [{labels: '{}', value: 1}]
            """)
        let lookout = RuleTestRunner.run(files: [test])
        #expect(lookout.success, "\(lookout.output.prefix(2000))")
        let promtool = Shell.run(["promtool", "test", "rules", test])
        #expect(promtool.status == 0, "\(promtool.output.prefix(2000))")
    }
}
