import Series
import LookoutCore
import Testing

@testable import Notify

/// Inhibition matchers compile with RE2 (Alertmanager's syntax is Go's): load errors name the
/// place and RE2's reason; a backtracking pattern over a long label answers.
@Suite struct InhibitionRegexTests {
    @Test func refusedRegexesAreConfigErrors() {
        let (_, errors) = NotifySettingsTests.parse(
            """
            inhibit_rules:
              - source_matchers: ['severity="critical"']
                target_matchers: ['severity=~"(a)\\\\1"', 'target!~"a++"']
                equal: [target]
            """, file: "cfg.yml")
        #expect(
            errors == [
                #"cfg.yml:3:23: notify.inhibit_rules[0].target_matchers[0]: invalid matcher "severity=~"(a)\\1"": invalid regex "(a)\1": invalid escape sequence: \1"#,
                #"cfg.yml:3:45: notify.inhibit_rules[0].target_matchers[1]: invalid matcher "target!~"a++"": invalid regex "a++": bad repetition operator: ++"#,
            ])
    }

    @Test func backtrackingPatternOnALongLabel() throws {
        let a = String(repeating: "a", count: 10_000)
        let m = try LabelMatcher(parsing: #"target=~"(a+)+$""#)
        #expect(!m.matches(["target": a + "b"]))
        #expect(m.matches(["target": a]))
        let rule = InhibitRule(
            sourceMatchers: [try LabelMatcher(parsing: #"severity="critical""#)],
            targetMatchers: [try LabelMatcher(parsing: #"target=~"(a+)+$""#)], equal: [])
        let inhibitor = Inhibitor(rules: [rule])
        let critical = Alert(labels: ["severity": "critical"], startsAt: WallTime(secondsSinceEpoch: 1_790_000_000))
        #expect(inhibitor.isMuted(["target": a], firing: [critical]))
        #expect(!inhibitor.isMuted(["target": a + "b"], firing: [critical]))
    }
}
