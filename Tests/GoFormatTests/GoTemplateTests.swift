import Testing
@testable import GoFormat

/// Outputs of Go's text/template with Prometheus' humanize functions (Go 1.19), for the
/// same templates and values: lookout's templates must print exactly the same.
@Suite struct TemplateTests {
    static let templates: [String] = ["{{ $value }}|{{ .Value }}|{{ humanize $value }}|{{ $value | humanizeDuration }}|{{ humanizePercentage $value }}", "{{ printf \"%.2f|%6.1f|%-8.3e|%g|%v|%08.3f|%+.1f|%.3g\" $value $value $value $value $value $value $value $value }}", "{{ printf \"%d %s %q %x %5s|%-5s|%t\" 42 \"str\" \"q\\\"\" 255 \"ab\" \"cd\" true }}{{ printf \"%d\" $value }}{{ printf \"%s\" $value }}{{ printf \"%v %v\" $labels.target }}{{ printf \"%.1f\" 1.25 \"extra\" }}", "{{ $labels }} {{ $externalLabels.dc }} {{ .Labels.target }} {{ $labels.missing }}| {{- \" x \" -}} |{{/* c */}}{{ $x := $labels.n }}{{ humanize $x }} {{ $externalURL }} {{ (humanize $value) }} {{ 2 }} {{ 1.5 }} {{ printf \"%s-%s\" $labels.target \"b\" | printf \"%q\" }}"]

    static let golden: [(Double, Int, String)] = [
        (0, 0, "0|0|0|0s|0%"),
        (0, 1, "0.00|   0.0|0.000e+00|0|0|0000.000|+0.0|0"),
        (0, 2, "42 str \"q\\\"\" ff    ab|cd   |true%!d(float64=0)%!s(float64=0)api %!v(MISSING)1.2%!(EXTRA string=extra)"),
        (0, 3, "map[__name__:x n:1500 target:api] eu api | x |1.5k http://x 0 2 1.5 \"api-b\""),
        (1, 0, "1|1|1|1s|100%"),
        (1, 1, "1.00|   1.0|1.000e+00|1|1|0001.000|+1.0|1"),
        (1, 2, "42 str \"q\\\"\" ff    ab|cd   |true%!d(float64=1)%!s(float64=1)api %!v(MISSING)1.2%!(EXTRA string=extra)"),
        (1, 3, "map[__name__:x n:1500 target:api] eu api | x |1.5k http://x 1 2 1.5 \"api-b\""),
        (2.5, 0, "2.5|2.5|2.5|2.5s|250%"),
        (2.5, 1, "2.50|   2.5|2.500e+00|2.5|2.5|0002.500|+2.5|2.5"),
        (2.5, 2, "42 str \"q\\\"\" ff    ab|cd   |true%!d(float64=2.5)%!s(float64=2.5)api %!v(MISSING)1.2%!(EXTRA string=extra)"),
        (2.5, 3, "map[__name__:x n:1500 target:api] eu api | x |1.5k http://x 2.5 2 1.5 \"api-b\""),
        (3, 0, "3|3|3|3s|300%"),
        (3, 1, "3.00|   3.0|3.000e+00|3|3|0003.000|+3.0|3"),
        (3, 2, "42 str \"q\\\"\" ff    ab|cd   |true%!d(float64=3)%!s(float64=3)api %!v(MISSING)1.2%!(EXTRA string=extra)"),
        (3, 3, "map[__name__:x n:1500 target:api] eu api | x |1.5k http://x 3 2 1.5 \"api-b\""),
        (1234567, 0, "1.234567e+06|1.234567e+06|1.235M|14d 6h 56m 7s|1.235e+08%"),
        (1234567, 1, "1234567.00|1234567.0|1.235e+06|1.234567e+06|1.234567e+06|1234567.000|+1234567.0|1.23e+06"),
        (1234567, 2, "42 str \"q\\\"\" ff    ab|cd   |true%!d(float64=1.234567e+06)%!s(float64=1.234567e+06)api %!v(MISSING)1.2%!(EXTRA string=extra)"),
        (1234567, 3, "map[__name__:x n:1500 target:api] eu api | x |1.5k http://x 1.235M 2 1.5 \"api-b\""),
        (0.000123, 0, "0.000123|0.000123|123u|123us|0.0123%"),
        (0.000123, 1, "0.00|   0.0|1.230e-04|0.000123|0.000123|0000.000|+0.0|0.000123"),
        (0.000123, 2, "42 str \"q\\\"\" ff    ab|cd   |true%!d(float64=0.000123)%!s(float64=0.000123)api %!v(MISSING)1.2%!(EXTRA string=extra)"),
        (0.000123, 3, "map[__name__:x n:1500 target:api] eu api | x |1.5k http://x 123u 2 1.5 \"api-b\""),
        (-42.5, 0, "-42.5|-42.5|-42.5|-42.5s|-4250%"),
        (-42.5, 1, "-42.50| -42.5|-4.250e+01|-42.5|-42.5|-042.500|-42.5|-42.5"),
        (-42.5, 2, "42 str \"q\\\"\" ff    ab|cd   |true%!d(float64=-42.5)%!s(float64=-42.5)api %!v(MISSING)1.2%!(EXTRA string=extra)"),
        (-42.5, 3, "map[__name__:x n:1500 target:api] eu api | x |1.5k http://x -42.5 2 1.5 \"api-b\""),
        (1e21, 0, "1e+21|1e+21|1Z|-106751991167300d -15h -30m -8s|1e+23%"),
        (1e21, 1, "1000000000000000000000.00|1000000000000000000000.0|1.000e+21|1e+21|1e+21|1000000000000000000000.000|+1000000000000000000000.0|1e+21"),
        (1e21, 2, "42 str \"q\\\"\" ff    ab|cd   |true%!d(float64=1e+21)%!s(float64=1e+21)api %!v(MISSING)1.2%!(EXTRA string=extra)"),
        (1e21, 3, "map[__name__:x n:1500 target:api] eu api | x |1.5k http://x 1Z 2 1.5 \"api-b\""),
        (123456789, 0, "1.23456789e+08|1.23456789e+08|123.5M|1428d 21h 33m 9s|1.235e+10%"),
        (123456789, 1, "123456789.00|123456789.0|1.235e+08|1.23456789e+08|1.23456789e+08|123456789.000|+123456789.0|1.23e+08"),
        (123456789, 2, "42 str \"q\\\"\" ff    ab|cd   |true%!d(float64=1.23456789e+08)%!s(float64=1.23456789e+08)api %!v(MISSING)1.2%!(EXTRA string=extra)"),
        (123456789, 3, "map[__name__:x n:1500 target:api] eu api | x |1.5k http://x 123.5M 2 1.5 \"api-b\""),
        (.infinity, 0, "+Inf|+Inf|+Inf|+Inf|+Inf%"),
        (.infinity, 1, "+Inf|  +Inf|+Inf    |+Inf|+Inf|    +Inf|+Inf|+Inf"),
        (.infinity, 2, "42 str \"q\\\"\" ff    ab|cd   |true%!d(float64=+Inf)%!s(float64=+Inf)api %!v(MISSING)1.2%!(EXTRA string=extra)"),
        (.infinity, 3, "map[__name__:x n:1500 target:api] eu api | x |1.5k http://x +Inf 2 1.5 \"api-b\""),
        (.nan, 0, "NaN|NaN|NaN|NaN|NaN%"),
        (.nan, 1, "NaN|   NaN|NaN     |NaN|NaN|     NaN|+NaN|NaN"),
        (.nan, 2, "42 str \"q\\\"\" ff    ab|cd   |true%!d(float64=NaN)%!s(float64=NaN)api %!v(MISSING)1.2%!(EXTRA string=extra)"),
        (.nan, 3, "map[__name__:x n:1500 target:api] eu api | x |1.5k http://x NaN 2 1.5 \"api-b\""),
        (0.3, 0, "0.3|0.3|300m|300ms|30%"),
        (0.3, 1, "0.30|   0.3|3.000e-01|0.3|0.3|0000.300|+0.3|0.3"),
        (0.3, 2, "42 str \"q\\\"\" ff    ab|cd   |true%!d(float64=0.3)%!s(float64=0.3)api %!v(MISSING)1.2%!(EXTRA string=extra)"),
        (0.3, 3, "map[__name__:x n:1500 target:api] eu api | x |1.5k http://x 300m 2 1.5 \"api-b\""),
        (59.999, 0, "59.999|59.999|60|60s|6000%"),
        (59.999, 1, "60.00|  60.0|6.000e+01|59.999|59.999|0059.999|+60.0|60"),
        (59.999, 2, "42 str \"q\\\"\" ff    ab|cd   |true%!d(float64=59.999)%!s(float64=59.999)api %!v(MISSING)1.2%!(EXTRA string=extra)"),
        (59.999, 3, "map[__name__:x n:1500 target:api] eu api | x |1.5k http://x 60 2 1.5 \"api-b\""),
        (3600, 0, "3600|3600|3.6k|1h 0m 0s|3.6e+05%"),
        (3600, 1, "3600.00|3600.0|3.600e+03|3600|3600|3600.000|+3600.0|3.6e+03"),
        (3600, 2, "42 str \"q\\\"\" ff    ab|cd   |true%!d(float64=3600)%!s(float64=3600)api %!v(MISSING)1.2%!(EXTRA string=extra)"),
        (3600, 3, "map[__name__:x n:1500 target:api] eu api | x |1.5k http://x 3.6k 2 1.5 \"api-b\""),
        (86399.5, 0, "86399.5|86399.5|86.4k|23h 59m 59s|8.64e+06%"),
        (86399.5, 1, "86399.50|86399.5|8.640e+04|86399.5|86399.5|86399.500|+86399.5|8.64e+04"),
        (86399.5, 2, "42 str \"q\\\"\" ff    ab|cd   |true%!d(float64=86399.5)%!s(float64=86399.5)api %!v(MISSING)1.2%!(EXTRA string=extra)"),
        (86399.5, 3, "map[__name__:x n:1500 target:api] eu api | x |1.5k http://x 86.4k 2 1.5 \"api-b\""),
        (-0.5, 0, "-0.5|-0.5|-500m|-500ms|-50%"),
        (-0.5, 1, "-0.50|  -0.5|-5.000e-01|-0.5|-0.5|-000.500|-0.5|-0.5"),
        (-0.5, 2, "42 str \"q\\\"\" ff    ab|cd   |true%!d(float64=-0.5)%!s(float64=-0.5)api %!v(MISSING)1.2%!(EXTRA string=extra)"),
        (-0.5, 3, "map[__name__:x n:1500 target:api] eu api | x |1.5k http://x -500m 2 1.5 \"api-b\""),
    ]

    @Test func matchesGo() throws {
        let compiled = try Self.templates.map { try GoTemplate($0) }
        for (value, index, expected) in Self.golden {
            let data = GoTemplate.Data(
                labels: ["target": "api", "__name__": "x", "n": "1500"], externalLabels: ["dc": "eu"],
                externalURL: "http://x", value: value)
            #expect(compiled[index].expand(data) == expected, "template \(index) with \(value)")
        }
    }

    @Test func executionErrorsAreReportedInTheText() throws {
        let t = try GoTemplate("{{ humanize $labels.target }}")
        let out = t.expand(GoTemplate.Data(labels: ["target": "api"], value: 1))
        #expect(out == "<error expanding template: error calling humanize: strconv.ParseFloat: parsing \"api\": invalid syntax>")
        let field = try GoTemplate("{{ $value.x }}")
        #expect(field.expand(GoTemplate.Data(labels: [:], value: 1)) == "<error expanding template: can't evaluate field x in type float64>")
    }

    @Test func parseErrorsHaveOffsets() {
        let cases: [(String, String, Int)] = [
            ("a {{ define \"x\" }}x{{ end }}", "\"define\" is not supported", 5),
            ("{{ block \"x\" . }}{{ end }}", "\"block\" is not supported", 3),
            ("x {{ $undefined }}", "undefined variable \"$undefined\"", 5),
            ("{{ nosuch 1 }}", "function \"nosuch\" not defined", 3),
            ("{{ urlquery \"a\" }}", "template function \"urlquery\" is not supported by lookout", 3),
            ("{{ $value ", "unclosed action", 0),
            ("{{ \"open }}", "unterminated quoted string", 3),
            ("{{ .Nope }}", "unknown field \".Nope\"", 3),
            ("{{ $value 1 }}", "can't give argument to non-function $value", 3),
            ("{{ if true }}x", "unexpected EOF", 14),
            ("x{{ end }}", "unexpected {{end}}", 10),
            ("{{ else }}", "unexpected {{else}}", 10),
            ("{{ break }}", "{{break}} outside {{range}}", 3),
            ("{{ define \"x\" }}{{ end }}", "\"define\" is not supported", 3),
            ("{{ template \"x\" }}", "\"template\" is not supported", 3),
            ("{{ html \"x\" }}", "template function \"html\" is not supported by lookout", 3),
            ("{{ $x = 1 }}", "undefined variable \"$x\"", 3),
            ("{{ nil }}", "nil is not a command", 3),
            ("{{ range $a, $b, $c := . }}{{ end }}", "undefined variable \"$a\"", 9),
            (String(repeating: "{{ if true }}", count: 101) + String(repeating: "{{ end }}", count: 101), "template nesting too deep", 1300),
        ]
        for (text, message, offset) in cases {
            do {
                _ = try GoTemplate(text)
                Issue.record("\(text) must not parse")
            } catch {
                #expect(error.message.contains(message), "\(text): \(error.message)")
                #expect(error.offset == offset, "\(text): \(error.offset)")
            }
        }
    }

    @Test func constantTextIsReturnedAsItIs() throws {
        let t = try GoTemplate("no actions here")
        #expect(t.isConstant)
        #expect(t.expand(GoTemplate.Data(labels: [:], value: 0)) == "no actions here")
        #expect(GoTemplate(literalText: "{{ not a template }}").expand(GoTemplate.Data(labels: [:], value: 0)) == "{{ not a template }}")
    }
}
