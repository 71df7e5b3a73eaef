import Testing

@testable import GoFormat

/// Control structures, variables, builtins and Prometheus' template functions: each case's
/// expected text is what Prometheus 2.42 (`promtool test rules`) expanded for the same
/// template, alert (`up{job="api"}` = 1) and query results, errors included.
@Suite struct TemplateControlTests {
    static func series(_ labels: [String: String], _ value: Double) -> TemplateSample {
        TemplateSample(labels: labels, value: value)
    }

    /// What `query` answers in these tests (promtool's order for `m`).
    static let results: [String: [TemplateSample]] = [
        "m": [series(["__name__": "m", "k": "b"], 5), series(["__name__": "m", "k": "a"], 7)],
        "m{k='a'}": [series(["__name__": "m", "k": "a"], 7)],
        "nosuch": [],
        "sum(m)": [series([:], 12)],
        "scalar(sum(m))": [series([:], 12)],
        "1+1": [series([:], 2)],
    ]

    static func data(value: Double = 1) -> GoTemplate.Data {
        var d = GoTemplate.Data(
            labels: ["__name__": "up", "job": "api", "instance": "h1.example.com:80"], externalLabels: ["dc": "eu"],
            externalURL: "http://ext.example:9090", value: value)
        d.query = { (q: String) throws(GoTemplate.QueryError) -> [TemplateSample] in
            if q == "up{" { throw GoTemplate.QueryError("1:4: parse error: unexpected end of input inside braces") }
            return results[q] ?? []
        }
        d.name = "__alert_A"
        d.firstLineOffset = 112
        return d
    }

    static let cases: [(String, String)] = [
        // Widths and precisions beyond Go's limit are refused, not allocated.
        ("{{ printf \"%99999999999d|\" 1 }}", "%!(NOVERB)%!(EXTRA int=1)"),
        ("{{ printf \"%.99999999999f\" 1.0 }}", "%!(NOVERB)%!(EXTRA float64=1)"),
        ("{{ printf \"%*d\" 10000000 1 }}", "%!(BADWIDTH)1"),
        ("{{ printf \"%.*f\" 10000000 1.0 }}", "%!(BADPREC)1.000000"),
        ("{{ if gt $value 0.5 }}big{{ else if gt $value 0.1 }}mid{{ else }}small{{ end }}", "big"),
        ("{{ if eq $labels.job \"api\" \"db\" }}known{{ end }}|{{ if ne $labels.job \"api\" }}x{{ else }}y{{ end }}", "known|y"),
        ("{{ range query \"m\" }}{{ .Labels.k }}={{ .Value }};{{ end }}", "b=5;a=7;"),
        ("{{ range sortByLabel \"k\" (query \"m\") }}{{ label \"k\" . }}:{{ value . }} {{ end }}", "a:7 b:5 "),
        ("{{ with query \"nosuch\" }}some{{ else }}none{{ end }}", "none"),
        ("{{ range $i, $s := query \"m\" | sortByLabel \"k\" }}{{ $i }}-{{ $s.Labels.k }} {{ end }}", "0-a 1-b "),
        ("{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}", "2"),
        ("{{ (first (query \"m{k='a'}\")).Value | humanize }}", "7"),
        ("{{ len $labels }} {{ index $labels \"job\" }} {{ len \"héllo\" }} {{ len (query \"m\") }}", "3 api 6 2"),
        ("{{ print 1 2 \"a\" \"b\" 3 }}|{{ println 1 \"x\" }}|{{ printf \"%05.1f\" 3.14159 }}", "1 2ab3|1 x\n|003.1"),
        ("{{ and 1 0 }} {{ or 0 \"\" \"z\" }} {{ not 0 }} {{ and 1 2 }} {{ or 0 0 }}", "0 z true 2 0"),
        ("{{ lt 1 2 }} {{ le 2 2 }} {{ gt \"b\" \"a\" }} {{ ge 1.5 2.5 }}", "true true true false"),
        ("{{- \" a \" -}} | {{- /* c */ -}} b", " a |b"),
        ("{{ humanize1024 1048576 }} {{ humanize1024 0.5 }} {{ humanize1024 1500 }} {{ humanizeTimestamp 1435065584.128 }} {{ humanizeTimestamp 0 }}", "1Mi 0.5 1.465ki 2015-06-23 13:19:44.128 +0000 UTC 1970-01-01 00:00:00 +0000 UTC"),
        ("{{ toTime 1500000000.25 }} {{ parseDuration \"1h30m\" }} {{ parseDuration \"500ms\" }}", "2017-07-14 02:40:00.249 +0000 UTC 5400 0.5"),
        ("{{ title \"hello wOrld_x foo-bar\" }} {{ toUpper \"abc\" }} {{ toLower \"ÀBC\" }}", "Hello WOrld_x Foo-Bar ABC àbc"),
        ("{{ match \"^h[0-9]\" $labels.instance }} {{ reReplaceAll \"(\\\\w+)\\\\.example\\\\.com\" \"${1}-x\" $labels.instance }}", "true h1-x:80"),
        ("{{ safeHtml \"<b>\" }} {{ (args 1 \"x\").arg1 }} {{ args 1 2 }}", "<b> x map[arg0:1 arg1:2]"),
        ("{{ stripPort $labels.instance }} {{ stripPort \"[::1]:80\" }} {{ stripPort \"noport\" }} {{ stripDomain $labels.instance }} {{ stripDomain \"10.0.0.1:80\" }}", "h1.example.com ::1 noport h1:80 10.0.0.1:80"),
        ("{{ with $labels.job }}{{ . | toUpper }}{{ end }}{{ with $labels.nope }}x{{ else }}-{{ end }}", "API-"),
        ("{{ range $k, $v := $labels }}{{ $k }}={{ $v }},{{ end }}", "__name__=up,instance=h1.example.com:80,job=api,"),
        ("{{ range query \"m\" }}{{ if eq .Labels.k \"b\" }}{{ break }}{{ end }}{{ .Labels.k }}{{ end }}|{{ range query \"m\" }}{{ if eq .Labels.k \"b\" }}{{ continue }}{{ end }}{{ .Labels.k }}{{ end }}", "|a"),
        ("{{ strvalue (first (query \"m\")) }}|{{ first (query \"m\") }}", "|{map[__name__:m k:b] 5}"),
        ("{{ $value | printf \"%.1f\" | printf \"[%s]\" }} {{ $externalLabels.dc }} {{ .ExternalURL }}", "[1.0] eu http://ext.example:9090"),
        ("{{ query \"up{\" }}", "<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing \"__alert_A\" at <query \"up{\">: error calling query: 1:4: parse error: unexpected end of input inside braces>"),
        ("{{ gt $value 1 }}", "<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing \"__alert_A\" at <gt $value 1>: error calling gt: incompatible types for comparison>"),
        ("{{ first (query \"nosuch\") }}", "<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing \"__alert_A\" at <first (query \"nosuch\")>: error calling first: first() called on vector with no elements>"),
        ("{{ index (query \"m\") 5 }}", "<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing \"__alert_A\" at <index (query \"m\") 5>: error calling index: index out of range: 5>"),
        ("{{ range 5 }}x{{ end }}", "<error expanding template: error executing template __alert_A: template: __alert_A:1:121: executing \"__alert_A\" at <5>: range can't iterate over 5>"),
        ("{{ toTime \"NaN\" }}", "<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing \"__alert_A\" at <toTime \"NaN\">: error calling toTime: value is NaN or Inf>"),
        ("{{ humanizeTimestamp \"NaN\" }}", "NaN"),
        ("{{ parseDuration \"1x\" }}", "<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing \"__alert_A\" at <parseDuration \"1x\">: error calling parseDuration: not a valid duration string: \"1x\">"),
        ("{{ len 3 }}", "<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing \"__alert_A\" at <len 3>: error calling len: len of type int>"),
        ("{{ query \"sum(m)\" | first | value }} {{ with query \"scalar(sum(m))\" }}{{ (index . 0).Value }}{{ end }} {{ query \"1+1\" | first | value }}", "12 12 2"),
    ]

    @Test(arguments: TemplateControlTests.cases)
    func expandsAsPrometheus(template: String, expected: String) throws {
        let t = try GoTemplate(template)
        #expect(t.expand(Self.data()) == expected)
    }

    /// A bad regex fails the expansion (RE2 words the reason its own way).
    @Test func badRegexesFailTheExpansion() throws {
        let replace = try GoTemplate("{{ reReplaceAll \"(\" \"x\" \"y\" }}").expand(Self.data())
        #expect(replace.contains("at <reReplaceAll \"(\" \"x\" \"y\">: error calling reReplaceAll: regexp: Compile(`(`): error parsing regexp: "))
        let match = try GoTemplate("{{ match \"(\" \"y\" }}").expand(Self.data())
        #expect(match.contains("at <match \"(\" \"y\">: error calling match: error parsing regexp: "))
    }

    @Test func elseIfChainsPickTheFirstTrueBranch() throws {
        let t = try GoTemplate("{{ if gt $value 0.5 }}big{{ else if gt $value 0.1 }}mid{{ else }}small{{ end }}")
        #expect(t.expand(Self.data(value: 0.2)) == "mid")
        #expect(t.expand(Self.data(value: 0.01)) == "small")
    }

    @Test func variablesAreScopedToTheirBlock() throws {
        let t = try GoTemplate("{{ $x := \"out\" }}{{ range query \"m\" }}{{ $x := .Labels.k }}{{ $x }}{{ end }}{{ $x }}")
        #expect(t.expand(Self.data()) == "baout")
        do {
            _ = try GoTemplate("{{ if true }}{{ $y := 1 }}{{ end }}{{ $y }}")
            Issue.record("a variable must not be visible after its block")
        } catch {
            #expect(error.message == "undefined variable \"$y\"")
        }
    }

    @Test func rangeElseRunsForEmptyResults() throws {
        let t = try GoTemplate("{{ range query \"nosuch\" }}x{{ else }}empty{{ end }}|{{ range $labels }}{{ . }},{{ end }}")
        #expect(t.expand(Self.data()) == "empty|up,h1.example.com:80,api,")
    }

    @Test func queryLiteralsAreFoundBeforeRunning() throws {
        let t = try GoTemplate(
            "{{ range query \"a\" }}{{ end }}{{ \"b\" | query | first }}{{ with (query `c`) }}{{ end }}{{ query $labels.job }}")
        #expect(t.queryLiterals.map(\.query) == ["a", "b", "c"])
        #expect(t.queryLiterals.map(\.offset) == [15, 33, 70])
    }

    @Test func hostileTemplatesStopAtTheirBudget() throws {
        // Nested ranges over a large result: far more than the step budget.
        var d = Self.data()
        let many = (0..<1000).map { Self.series(["__name__": "x", "i": String($0)], Double($0)) }
        d.query = { (_: String) throws(GoTemplate.QueryError) -> [TemplateSample] in many }
        let t = try GoTemplate("{{ range query \"x\" }}{{ range query \"x\" }}{{ range query \"x\" }}.{{ end }}{{ end }}{{ end }}")
        let out = t.expand(d)
        #expect(out.hasPrefix("<error expanding template: "))
        #expect(out.contains("steps of work"))
        // Long texts made and dropped cost their length.
        let wide = try GoTemplate("{{ range query \"x\" }}{{ $s := printf \"%1000000d\" 1 }}{{ end }}")
        #expect(wide.expand(d).contains("steps of work"))
        var small = GoTemplate.Limits()
        small.outputBytes = 100
        let long = try GoTemplate("{{ range query \"x\" }}{{ .Labels.i }}{{ end }}")
        #expect(long.expand(d, limits: small).contains("template output longer than 100 bytes"))
    }
}
