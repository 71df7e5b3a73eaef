import LookoutCore
import TestSupport
import Testing

@testable import lookout

/// A rule unit test whose rules and PromQL tests match `(a+)+$` against a 10,000-character
/// label: lookout's runner answers, and agrees with promtool's.
@Suite struct RegexRuleTestRunnerTests {
    /// Writes the rule file and its unit test into `dir`; returns the test file's path.
    /// `pattern` must match a run of a's and nothing else (`(a+)+$`, or `a+` to compare with).
    static func writeBacktrackingTest(in dir: TemporaryDirectory, pattern: String = "(a+)+$") -> String {
        let a = String(repeating: "a", count: 10_000)
        _ = dir.write(
            "evil.rules.yml",
            """
            groups:
              - name: evil
                rules:
                  - alert: AllAs
                    expr: up{a=~"\(pattern)"} == 1
            """)
        return dir.write(
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
                  - expr: count(up{a=~"\(pattern)"})
                    eval_time: 1m
                    exp_samples: [{labels: '{}', value: 1}]
                  - expr: count(up{a!~"\(pattern)"})
                    eval_time: 1m
                    exp_samples: [{labels: '{}', value: 1}]
            """)
    }

    @Test func backtrackingPatternOverALongLabel() {
        let dir = TemporaryDirectory(prefix: "lookout-regex-rules")
        let test = Self.writeBacktrackingTest(in: dir)
        let lookout = RuleTestRunner.run(files: [test])
        #expect(lookout.success, "\(lookout.output.prefix(2000))")
        #expect(lookout.output == "Unit Testing:  \(test)\n  SUCCESS\n\n")
        let promtool = Shell.run(["promtool", "test", "rules", test])
        #expect(promtool.status == 0, "\(promtool.output.prefix(2000))")
    }

    /// The same through the `lookout test-rules` command.
    @Test func backtrackingPatternThroughTheCommandLine() {
        let dir = TemporaryDirectory(prefix: "lookout-regex-rules")
        let test = Self.writeBacktrackingTest(in: dir)
        let (status, output) = LookoutBinary.run(["test-rules", test], timeout: .seconds(60))
        #expect(status == 0, "\(output.prefix(2000))")
        #expect(output == "Unit Testing:  \(test)\n  SUCCESS\n\n")
    }

    /// A rule file with a regex promtool refuses fails both runners, lookout naming the place.
    @Test func refusedRegexFailsLikePromtool() {
        let dir = TemporaryDirectory(prefix: "lookout-regex-rules")
        _ = dir.write(
            "bad.rules.yml",
            """
            groups:
              - name: bad
                rules:
                  - alert: Back
                    expr: up{a=~"(a)\\\\1"} == 1
            """)
        let test = dir.write(
            "bad.test.yml",
            """
            rule_files: [bad.rules.yml]
            tests:
              - input_series: [{series: 'up{a="aa"}', values: '1'}]
            """)
        let lookout = RuleTestRunner.run(files: [test])
        #expect(!lookout.success)
        #expect(lookout.output.contains(#"bad.rules.yml:5:21: group "bad", rule "Back": could not parse expression: invalid regular expression "(a)\1": invalid escape sequence: \1"#), "\(lookout.output)")
        #expect(Shell.run(["promtool", "test", "rules", test]).status != 0)
    }
}

/// lookout's rule test runner on that file, timed against the same file with `a+`: the
/// backtracking pattern adds under 10 ms to parsing, loading and evaluating it.
@Suite(.serialized) struct RegexRuleTestRunnerTimingTests {
    @Test func theBacktrackingPatternAddsUnderTenMilliseconds() {
        let dir = TemporaryDirectory(prefix: "lookout-regex-rules")
        let evil = RegexRuleTestRunnerTests.writeBacktrackingTest(in: dir)
        let plainDir = TemporaryDirectory(prefix: "lookout-regex-rules")
        let plain = RegexRuleTestRunnerTests.writeBacktrackingTest(in: plainDir, pattern: "a+")
        let clock = ContinuousClock()
        func timed(_ test: String) -> Duration {
            let start = clock.now
            let result = RuleTestRunner.run(files: [test])
            let took = clock.now - start
            #expect(result.success, "\(result.output.prefix(2000))")
            return took
        }
        _ = timed(plain)  // warm-up
        // Alternated, so both see the same load; the fastest of each.
        var (evilTime, plainTime) = (Duration.seconds(1000), Duration.seconds(1000))
        for _ in 0..<7 {
            evilTime = min(evilTime, timed(evil))
            plainTime = min(plainTime, timed(plain))
        }
        #expect(evilTime < plainTime + .milliseconds(10), "(a+)+$: \(evilTime), a+: \(plainTime)")
        #expect(evilTime < .seconds(1), "\(evilTime)")
    }
}
