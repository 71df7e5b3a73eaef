import LookoutCore
import Series
import TestSupport
import Testing
@testable import Rules

/// Regexes in rule files: what promtool refuses is a load error with its position and RE2's
/// reason; a backtracking pattern over a long label evaluates at once.
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

    /// A rule engine loaded with `(a+)+$` rules and a dead-target alert in one group, fed
    /// `up` with 10,000-character labels.
    static func hostileEngine(at now: WallTime) -> (RuleEngine, [Diagnostic]) {
        let a = String(repeating: "a", count: 10_000)
        let engine = RuleEngine(clock: ManualClock(wall: now))
        let diagnostics = engine.load(
            text: """
                groups:
                  - name: g
                    rules:
                      - alert: AllAs
                        expr: up{a=~"(a+)+$"} == 1
                      - alert: NotAllAs
                        expr: up{a!~"(a+)+$", target="api"} == 1
                      - alert: TargetDown
                        expr: up{target="dead"} == 0
                """, file: "evil.rules.yml")
        engine.ingest(
            [
                .gauge(
                    "up", help: "",
                    [
                        (Labels(["a": a + "b", "target": "api"]), 1), (Labels(["a": a, "target": "web"]), 1),
                        (Labels(["target": "dead"]), 0),
                    ])
            ], at: now)
        return (engine, diagnostics)
    }

    /// The agent's rule evaluation: a scraped 10,000-character label under `(a+)+$` does not
    /// hold up the group, so the alert on a dead target in the same group fires.
    @Test func backtrackingPatternOverAScrapedLabelInTheEngine() {
        let now = WallTime(secondsSinceEpoch: 1_790_000_000)
        let (engine, diagnostics) = Self.hostileEngine(at: now)
        #expect(diagnostics.isEmpty, "\(diagnostics)")
        let round = engine.evaluate(at: now)
        let fired = round.firing.map { "\($0.labels["alertname"]!)/\($0.labels["target"]!)" }.sorted()
        #expect(fired == ["AllAs/web", "NotAllAs/api", "TargetDown/dead"])
        #expect(round.firing.first { $0.labels["alertname"] == "AllAs" }?.labels["a"] == String(repeating: "a", count: 10_000))
    }
}

/// One evaluation of that group, timed.
@Suite(.serialized) struct RegexRuleTimingTests {
    @Test func evaluatingOverTenThousandCharactersTakesUnderTenMilliseconds() {
        let clock = ContinuousClock()
        var fastest = Duration.seconds(1000)
        for i in 0..<5 {
            let now = WallTime(secondsSinceEpoch: 1_790_000_000 + Double(i))
            let (engine, _) = RegexRuleTests.hostileEngine(at: now)
            let start = clock.now
            let round = engine.evaluate(at: now)
            fastest = min(fastest, clock.now - start)
            #expect(round.firing.count == 3)
        }
        #expect(fastest < .milliseconds(10), "\(fastest)")
    }
}
