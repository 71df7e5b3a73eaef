import Series
import Testing
@testable import PromQL

/// Label matchers run RE2, anchored as Prometheus anchors them (`^(?:pattern)$`).
@Suite struct RegexMatcherTests {
    @Test func backtrackingPatternOnATenThousandCharacterLabel() throws {
        let a = String(repeating: "a", count: 10_000)
        let h = try makeHistory([("up{a=\"\(a)b\",i=\"1\"}", "1"), ("up{a=\"\(a)\",i=\"2\"}", "2")])
        #expect(try run(h, "sum by (i) (up{a=~\"(a+)+$\"})", at: 0) == ["{i=\"2\"}": 2])
        #expect(try run(h, "sum by (i) (up{a!~\"(a+)+$\"})", at: 0) == ["{i=\"1\"}": 1])
        #expect(try run(h, "count(up{a=~\"(a|aa)+b\"})", at: 0) == ["{}": 1])
    }

    @Test func matchersAreAnchoredAndDotStopsAtANewline() throws {
        let h = try makeHistory([("m{v=\"xab\"}", "1"), ("m{v=\"ab\"}", "2"), ("m{v=\"a\\nb\"}", "3")])
        #expect(try run(h, "sum(m{v=~\"ab\"})", at: 0) == ["{}": 2])
        #expect(try run(h, "sum(m{v=~\".*ab\"})", at: 0) == ["{}": 3])
        #expect(try run(h, "sum(m{v=~\"a.b\"})", at: 0) == [:])
        #expect(try run(h, "sum(m{v=~\"(?s)a.b\"})", at: 0) == ["{}": 3])
        #expect(try run(h, "sum(m{v=~\"a.*\"})", at: 0) == ["{}": 2])
    }

    @Test func regexesPromtoolRefusesAreParseErrors() {
        for pattern in [#"(a)\\1"#, "(?=a)a", "a++", #"\\C"#, "(?<n>x)", "x{1001}", "a)|(b"] {
            #expect(throws: ParseError.self, "\(pattern)") { try PromQLParser.parse("up{a=~\"\(pattern)\"}") }
        }
        do {
            _ = try PromQLParser.parse(#"up{a=~"(a)\\1"}"#)
            Issue.record("a back-reference was accepted")
        } catch {
            #expect(error.message == #"invalid regular expression "(a)\1": invalid escape sequence: \1"#)
            #expect(error.range.start == 6)
        }
    }
}
