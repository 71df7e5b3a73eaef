import LookoutCore
import Testing

@testable import Series

@Suite struct LabelMatcherTests {
    @Test func parsesAlertmanagerSyntax() throws {
        let eq = try LabelMatcher(parsing: "severity=\"critical\"")
        #expect(eq.name == "severity" && eq.op == .equal && eq.value == "critical")
        let re = try LabelMatcher(parsing: " severity =~ \"warning|info\" ")
        #expect(re.op == .regexMatch && re.value == "warning|info")
        let ne = try LabelMatcher(parsing: "target!=db")
        #expect(ne.op == .notEqual && ne.value == "db")
        let nre = try LabelMatcher(parsing: "instance!~\"10\\\\.0\\\\..*\"")
        #expect(nre.op == .regexNoMatch && nre.value == "10\\.0\\..*")
        #expect(try LabelMatcher(parsing: "a=\"say \\\"hi\\\"\"").value == "say \"hi\"")
        for bad in ["", "=x", "sev", "sev==\"x\"", "sev=\"open", "sev=~\"(\"", "1x=\"y\"", "a=\"b\" c"] {
            #expect(throws: LabelMatcher.ParseError.self, "\(bad)") { try LabelMatcher(parsing: bad) }
        }
    }

    @Test func matchesWholeValuesAndMissingAsEmpty() throws {
        let labels: Labels = ["severity": "warning", "target": "api"]
        #expect(try LabelMatcher(parsing: "severity=~\"warn\"").matches(labels) == false)
        #expect(try LabelMatcher(parsing: "severity=~\"warn.*\"").matches(labels))
        #expect(try LabelMatcher(parsing: "severity!~\"crit.*\"").matches(labels))
        #expect(try LabelMatcher(parsing: "missing=\"\"").matches(labels))
        #expect(try LabelMatcher(parsing: "missing!=\"\"").matches(labels) == false)
        #expect(try LabelMatcher(parsing: "target!=\"db\"").matches(labels))
    }

    @Test func quotedValuesKeepRegexEscapes() throws {
        let m = try LabelMatcher(parsing: "path=~\"/api/\\d+\\.json\"")
        #expect(m.value == "/api/\\d+\\.json")
        #expect(m.matches(["path": "/api/12.json"]))
        #expect(try LabelMatcher(parsing: "a=\"x\\ny\"").value == "x\ny")
        let error = #expect(throws: LabelMatcher.ParseError.self) { try LabelMatcher(parsing: "1x=\"y\"") }
        #expect(error?.description == "invalid matcher \"1x=\"y\"\": \"1x\" is not a valid label name")
    }

    /// The same type serves PromQL selectors: built from parts, printed as Prometheus prints them.
    @Test func selectorMatchers() throws {
        let m = try LabelMatcher(name: "job", op: .regexMatch, value: "api|db")
        #expect(m.description == "job=~\"api|db\"")
        #expect(m.regex != nil)
        #expect(!m.matchesEmpty)
        #expect(try LabelMatcher(name: "x", op: .notEqual, value: "").matchesEmpty == false)
        #expect(try LabelMatcher(name: "x", op: .equal, value: "tab\t\u{1}").description == "x=\"tab\\t\\x01\"")
        #expect(throws: AnchoredRegex.SyntaxError.self) { try LabelMatcher(name: "x", op: .regexMatch, value: "(") }
        // Equal when name, operator and value are: the parsed and the built one are the same matcher.
        #expect(try LabelMatcher(parsing: "job=~\"api|db\"") == m)
        #expect(Set([m, try LabelMatcher(name: "job", op: .regexMatch, value: "api|db")]).count == 1)
        let both = [m, try LabelMatcher(name: "env", op: .notEqual, value: "dev")]
        #expect(both.allMatch(["job": "db"]))
        #expect(!both.allMatch(["job": "db", "env": "dev"]))
        #expect([LabelMatcher]().allMatch(["job": "x"]))
    }
}
