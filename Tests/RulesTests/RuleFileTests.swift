import LookoutCore
import TestSupport
import Testing
@testable import Rules

@Suite struct RuleFileTests {
    func diagnostics(_ text: String) -> [String] {
        RuleFileLoader.parse(text: text, file: "r.yml").diagnostics.map(\.description)
    }

    func single(_ text: String) -> String {
        let d = diagnostics(text)
        #expect(d.count == 1, "\(d)")
        return d.first ?? ""
    }

    @Test func loadsGroupsAndRules() throws {
        let text = """
            groups:
              - name: g
                interval: 30s
                limit: 10
                rules:
                  - record: job:x:sum
                    expr: sum by (job) (x)
                    labels:
                      team: a
                  - alert: Slow
                    expr: x > 2
                    for: 1m
                    keep_firing_for: 5m
                    labels:
                      severity: warning
                    annotations:
                      summary: "{{ $labels.job }} is slow"
              - name: h
                rules: []
            """
        let (groups, diags) = RuleFileLoader.parse(text: text, file: "r.yml")
        #expect(diags.isEmpty)
        #expect(groups.map(\.name) == ["g", "h"])
        #expect(groups[0].interval == .seconds(30))
        #expect(groups[0].limit == 10)
        let rules = groups[0].rules
        #expect(rules.map(\.kind) == [.recording, .alerting])
        #expect(rules[0].name == "job:x:sum")
        #expect(rules[0].labels.map(\.name) == ["team"])
        #expect(rules[1].holdDuration == .seconds(60))
        #expect(rules[1].keepFiringFor == .seconds(300))
        #expect(rules[1].exprText == "x > 2")
        #expect(rules[1].annotations[0].template.text == "{{ $labels.job }} is slow")
        #expect(rules[1].location == SourceLocation(file: "r.yml", line: 10, column: 9))
    }

    @Test func badYAML() {
        #expect(single("groups:\n  - name: [unclosed\n") .hasPrefix("r.yml:3:1: YAML syntax error"))
    }

    @Test func unknownKeysNameTheRule() {
        let text = """
            groups:
              - name: g
                rules:
                  - alert: Slow
                    expr: x > 2
                    fro: 1m
            """
        #expect(single(text) == "r.yml:6:9: unknown key \"fro\" in group \"g\", rule \"Slow\" (did you mean \"for\"?)")
        #expect(single("groups:\n  - name: g\n    intervall: 1m\n") == "r.yml:3:5: unknown key \"intervall\" in group \"g\" (did you mean \"interval\"?)")
        #expect(single("grups: []\n") == "r.yml:1:1: unknown key \"grups\" in rule file (did you mean \"groups\"?)")
    }

    @Test func unsupportedPromQLPointsIntoTheExpression() {
        // Plain scalar: the column of the construct inside the expression.
        let plain = """
            groups:
              - name: g
                rules:
                  - alert: Sorted
                    expr: sort(histogram_count(x)) > 1
            """
        #expect(single(plain) == "r.yml:5:20: group \"g\", rule \"Sorted\": unsupported PromQL: function \"histogram_count\" works on native histograms, which lookout does not evaluate")
        // Quoted scalar: one more for the quote.
        let quoted = """
            groups:
              - name: g
                rules:
                  - record: r
                    expr: "x + histogram_sum(y)"
            """
        #expect(single(quoted) == "r.yml:5:20: group \"g\", rule \"r\": unsupported PromQL: function \"histogram_sum\" works on native histograms, which lookout does not evaluate")
        // Block scalar: the line and column in the block.
        let block = """
            groups:
              - name: g
                rules:
                  - alert: Outlier
                    expr: |
                      a
                        > on(job) group_left()
                      histogram_fraction(0, 1, b)
            """
        #expect(single(block) == "r.yml:8:11: group \"g\", rule \"Outlier\": unsupported PromQL: function \"histogram_fraction\" works on native histograms, which lookout does not evaluate")
        // Folded over several lines.
        let folded = """
            groups:
              - name: g
                rules:
                  - alert: Top
                    expr: >
                      sum(x)
                      + limitk(3, y)
            """
        #expect(single(folded) == "r.yml:7:13: group \"g\", rule \"Top\": unsupported PromQL: aggregation \"limitk\" is not an aggregation of Prometheus 2.42 (experimental or newer)")
        let syntax = """
            groups:
              - name: g
                rules:
                  - alert: Broken
                    expr: sum(x
            """
        #expect(single(syntax) == "r.yml:5:20: group \"g\", rule \"Broken\": could not parse expression: unexpected end of input; expected \",\" or \")\"")
    }

    @Test func rulesThatReadFurtherBackThanTheLimitAreLoadErrors() {
        func rules(_ expr: String) -> String {
            "groups:\n  - name: g\n    rules:\n      - record: r\n        expr: \(expr)\n"
        }
        func problems(_ expr: String, _ limit: Duration? = .seconds(3600)) -> [String] {
            RuleFileLoader.parse(text: rules(expr), file: "r.yml", maxLookback: limit).diagnostics.map(\.description)
        }
        // Within the hour: ranges, offsets plus the 5 m lookback, subqueries plus what they read.
        #expect(problems("rate(x[1h])").isEmpty)
        #expect(problems("x offset 55m").isEmpty)
        #expect(problems("max_over_time(rate(x[5m])[50m:1m])").isEmpty)
        #expect(problems("x @ start() + y @ end()").isEmpty)
        #expect(
            problems("sum(x) + rate(y[2h])")
                == ["r.yml:5:29: group \"g\", rule \"r\": needs 2h of history, more than rules.max_lookback (1h)"])
        #expect(
            problems("x offset 56m")
                == ["r.yml:5:15: group \"g\", rule \"r\": needs 1h1m of history, more than rules.max_lookback (1h)"])
        #expect(
            problems("max_over_time(rate(x[10m])[1h:])")
                == ["r.yml:5:34: group \"g\", rule \"r\": needs 1h10m of history, more than rules.max_lookback (1h)"])
        #expect(
            problems("x @ 100")
                == [
                    "r.yml:5:15: group \"g\", rule \"r\": reads at a fixed time (@ <timestamp>), so it needs an unbounded history, beyond rules.max_lookback (1h)"
                ])
        // A larger limit, and none (as promtool).
        #expect(problems("rate(y[2h])", .seconds(3 * 3600)).isEmpty)
        #expect(problems("x @ 100", nil).isEmpty)
    }

    @Test func badTemplates() {
        let text = """
            groups:
              - name: g
                rules:
                  - alert: T
                    expr: x > 1
                    annotations:
                      summary: "{{ $labels.x }} {{ define `x` }}high{{ end }}"
                      description: "{{ $value | humanizeBytes }}"
                    labels:
                      severity: "{{ $nope }}"
            """
        let d = diagnostics(text)
        #expect(d == [
            "r.yml:7:40: group \"g\", rule \"T\": annotation \"summary\": template: \"define\" is not supported by lookout's templates",
            "r.yml:8:37: group \"g\", rule \"T\": annotation \"description\": template: function \"humanizeBytes\" not defined",
            "r.yml:10:25: group \"g\", rule \"T\": label \"severity\": template: undefined variable \"$nope\"",
        ])
        let unsupportedFunction = """
            groups:
              - name: g
                rules:
                  - alert: T
                    expr: x > 1
                    annotations:
                      summary: '{{ $labels.x | urlquery }}'
            """
        #expect(single(unsupportedFunction).hasPrefix("r.yml:7:36: group \"g\", rule \"T\": annotation \"summary\": template: template function \"urlquery\" is not supported by lookout"))
    }

    @Test func badDurationsAndNames() {
        let text = """
            groups:
              - name: g
                interval: 1 minute
                rules:
                  - alert: T
                    expr: x > 1
                    for: 5 minutes
                  - record: "not a metric name"
                    expr: x
                  - record: r
                    expr: x
                    for: 1m
                    annotations:
                      a: b
                  - alert: L
                    expr: x
                    labels:
                      "bad-name": x
                  - expr: x
                  - alert: A
                    record: B
                    expr: x
                  - alert: E
                    expr: ""
                  - alert: R
                    expr: x[5m]
            """
        #expect(diagnostics(text) == [
            "r.yml:3:15: group \"g\": interval: invalid duration \"1 minute\": expected e.g. 500ms, 15s, 1m30s (units y w d h m s ms)",
            "r.yml:7:14: group \"g\", rule \"T\": for: invalid duration \"5 minutes\": expected e.g. 500ms, 15s, 1m30s (units y w d h m s ms)",
            "r.yml:8:17: group \"g\", rule \"not a metric name\": invalid recording rule name: not a metric name",
            "r.yml:12:14: group \"g\", rule \"r\": invalid field 'for' in recording rule",
            "r.yml:14:11: group \"g\", rule \"r\": invalid field 'annotations' in recording rule",
            "r.yml:18:11: group \"g\", rule \"L\": invalid label name: bad-name",
            "r.yml:19:9: group \"g\", rule #5: one of 'record' or 'alert' must be set",
            "r.yml:20:9: group \"g\", rule \"A\": only one of 'record' and 'alert' must be set",
            "r.yml:24:15: group \"g\", rule \"E\": field 'expr' must be set in rule",
            "r.yml:26:15: group \"g\", rule \"R\": the expression must give an instant vector or a scalar, not a range vector",
        ])
    }

    @Test func duplicateGroupsAndMissingNames() {
        let text = """
            groups:
              - name: g
              - name: g
              - rules: []
            """
        #expect(diagnostics(text) == [
            "r.yml:3:11: groupname: \"g\" is repeated in the same file",
            "r.yml:4:5: group: missing required key \"name\"",
        ])
    }

    @Test func loadsFilesAndReportsMissingOnes() {
        let dir = TemporaryDirectory()
        let good = dir.write("good.yml", "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up == 0\n")
        let (groups, diags) = RuleFileLoader.load(files: [good, dir.path + "/missing.yml"])
        #expect(groups.count == 1)
        #expect(groups[0].file == good)
        #expect(diags.count == 1)
        #expect(diags[0].description.hasPrefix(dir.path + "/missing.yml:1:1: cannot read rule file"))
    }

    @Test func theRepositoryRuleFilesLoad() {
        let (groups, diags) = RuleFileLoader.load(files: [Repo.path("alerts/lookout.rules.yml")])
        #expect(diags.isEmpty, "\(diags)")
        #expect(groups.flatMap(\.rules).map(\.name) == [
            "TargetSlow", "TargetVerySlow", "TargetTimeout", "TargetDown", "ScrapeInvalid", "DependencyDown",
            "HealthCheckSequential",
            "LookoutOverhead", "LookoutRemoteWriteStalled",
        ])
        // The embedded copy is the same file.
        let embedded = (try? FileIO.readText(Repo.path("Sources/Agent/Resources/lookout.rules.yml"))) ?? ""
        #expect(embedded == ((try? FileIO.readText(Repo.path("alerts/lookout.rules.yml"))) ?? "-"))
        // The fleet file, written for a central Prometheus, loads as well.
        let fleet = RuleFileLoader.load(files: [Repo.path("alerts/lookout-fleet.rules.yml")])
        #expect(fleet.diagnostics.isEmpty, "\(fleet.diagnostics)")
        #expect(fleet.groups.flatMap(\.rules).count == 9)
    }

    @Test func promtoolAcceptsTheRepositoryRuleFiles() {
        let r = Shell.run(["promtool", "check", "rules", Repo.path("alerts/lookout.rules.yml"), Repo.path("alerts/lookout-fleet.rules.yml")])
        #expect(r.status == 0, "\(r.output)")
    }
}
