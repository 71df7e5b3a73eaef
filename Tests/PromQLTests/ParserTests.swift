import Testing
@testable import PromQL

@Suite struct ParserTests {
    func parse(_ s: String) throws -> Expr { try PromQLParser.parse(s) }

    func error(_ s: String) -> ParseError? {
        do {
            _ = try PromQLParser.parse(s)
            return nil
        } catch {
            return error
        }
    }

    @Test func printsLikePrometheus() throws {
        let cases: [(String, String)] = [
            ("foo", "foo"),
            ("foo{a=\"1\",b!~\"x.*\"}", "foo{a=\"1\", b!~\"x.*\"}"),
            ("{__name__=~\"a|b\"}", "{__name__=~\"a|b\"}"),
            ("rate(foo[5m])", "rate(foo[5m])"),
            ("sum by (job) (rate(x[1h30m]))", "sum by(job) (rate(x[1h30m]))"),
            ("sum(x) without (a, b)", "sum without(a, b) (x)"),
            ("quantile(0.5, x)", "quantile(0.5, x)"),
            ("a > bool on(x) b", "a > bool on(x) b"),
            ("a + ignoring(x, y) b", "a + ignoring(x, y) b"),
            ("-(foo)", "-(foo)"),
            ("- 1", "-1"),
            ("1e3", "1000"),
            ("0x10", "16"),
            ("a and b or c unless d", "a and b or c unless d"),
        ]
        for (input, printed) in cases {
            let got = try parse(input).description
            #expect(got == printed, "\(input)")
        }
    }

    @Test func precedenceAndAssociativity() throws {
        // ^ is right associative and binds tighter than unary minus.
        guard case .unaryMinus(let inner, _) = try parse("-2 ^ 2") else {
            Issue.record("expected unary minus at the top")
            return
        }
        guard case .binary(.pow, _, _, _, _, _) = inner else {
            Issue.record("expected ^ under the minus")
            return
        }
        guard case .binary(.pow, .number(2, _), .binary(.pow, _, _, _, _, _), _, _, _) = try parse("2 ^ 3 ^ 2") else {
            Issue.record("^ must associate to the right")
            return
        }
        guard case .binary(.sub, .binary(.sub, _, _, _, _, _), .number(1, _), _, _, _) = try parse("3 - 1 - 1") else {
            Issue.record("- must associate to the left")
            return
        }
        guard case .binary(.or, _, .binary(.and, _, _, _, _, _), _, _, _) = try parse("a or b and c") else {
            Issue.record("and binds tighter than or")
            return
        }
        guard case .binary(.gtr, .binary(.add, _, _, _, _, _), .binary(.mul, _, _, _, _, _), _, _, _) = try parse("a + b > c * d")
        else {
            Issue.record("comparison binds looser than arithmetic")
            return
        }
        // Keywords are case-insensitive, as in Prometheus.
        guard case .aggregate(.sum, _, _, let grouping, false, _) = try parse("SUM BY (a) (x)"), grouping == ["a"] else {
            Issue.record("SUM BY must parse")
            return
        }
    }

    @Test func positionsPointAtTheConstruct() throws {
        let text = "sum(rate(foo{job=\"x\"}[5m])) by (job) > 2"
        guard case .binary(_, let lhs, let rhs, _, _, let r) = try parse(text) else {
            Issue.record("binary expected")
            return
        }
        #expect(r == PositionRange(start: 0, end: text.utf8.count))
        #expect(rhs.range == PositionRange(start: text.utf8.count - 1, end: text.utf8.count))
        guard case .aggregate(_, _, let inner, _, _, _) = lhs, case .call(.rate, let args, let callRange) = inner else {
            Issue.record("sum(rate(...)) expected")
            return
        }
        #expect(callRange == PositionRange(start: 4, end: 26))
        #expect(args[0].range == PositionRange(start: 9, end: 25))
    }

    @Test func theWholeLanguageOf242Parses() throws {
        let cases: [(String, String)] = [
            ("foo offset 5m", "foo offset 5m"),
            ("foo offset -5m", "foo offset -5m"),
            ("rate(foo[5m] offset 1h)", "rate(foo[5m] offset 1h)"),
            ("foo @ 100", "foo @ 100.000"),
            ("foo @ start() offset 1m", "foo @ start() offset 1m"),
            ("max_over_time(foo[5m:1m])", "max_over_time(foo[5m:1m])"),
            ("max_over_time(rate(foo[1m])[5m:] @ end())", "max_over_time(rate(foo[1m])[5m:] @ end())"),
            ("a + on(x) group_left(y) b", "a + on(x) group_left(y) b"),
            ("a / ignoring(x) group_right b", "a / ignoring(x) group_right() b"),
            ("label_replace(up, \"a\", \"b\", \"c\", \"d\")", "label_replace(up, \"a\", \"b\", \"c\", \"d\")"),
            ("topk(3, up)", "topk(3, up)"),
            ("count_values(\"v\", up)", "count_values(\"v\", up)"),
            ("group by (a) (up)", "group by(a) (up)"),
            ("up atan2 up", "up atan2 up"),
        ]
        for (text, printed) in cases {
            #expect(try parse(text).description == printed, "\(text)")
        }
    }

    @Test func unsupportedConstructsAreRejectedWithTheirPosition() {
        let cases: [(String, String, Int)] = [
            ("histogram_count(foo)", "native histograms", 0),
            ("1 + histogram_sum(foo)", "native histograms", 4),
            ("histogram_fraction(0, 1, foo)", "native histograms", 0),
            ("sort_by_label(up, \"a\")", "not a function of Prometheus 2.42", 0),
            ("limitk(2, up)", "not an aggregation of Prometheus 2.42", 0),
        ]
        for (text, word, start) in cases {
            guard let e = error(text) else {
                Issue.record("\(text) must be rejected")
                continue
            }
            #expect(e.unsupported, "\(text): \(e.message)")
            #expect(e.message.contains(word), "\(text): \(e.message)")
            #expect(e.range.start == start, "\(text): \(e.range)")
        }
    }

    @Test func errorsOfPrometheusGrammarAndTypes() {
        let cases: [(String, String)] = [
            ("rate(foo)", "expected type range vector in call to function \"rate\", got instant vector"),
            ("abs(foo[5m])", "expected type instant vector in call to function \"abs\", got range vector"),
            ("rate(foo[5m], 1)", "expected 1 argument(s) in call to \"rate\", got 2"),
            ("1 > 2", "comparisons between scalars must use BOOL modifier"),
            ("a + bool b", "bool modifier can only be used on comparison operators"),
            ("1 and foo", "set operator \"and\" not allowed in binary scalar expression"),
            ("1 + on(a) foo", "vector matching only allowed between instant vectors"),
            ("foo[5m] + 1", "binary expression must contain only scalar and instant vector types"),
            ("{}", "vector selector must contain at least one non-empty matcher"),
            ("{a=~\".*\"}", "vector selector must contain at least one non-empty matcher"),
            ("foo{__name__=\"bar\"}", "metric name must not be set twice"),
            ("no_such_function(foo)", "unknown function with name \"no_such_function\""),
            ("sum(foo[5m])", "expected type instant vector in aggregation expression, got range vector"),
            ("quantile(foo)", "wrong number of arguments for aggregate expression provided, expected 2, got 1"),
            ("(foo)[5m]", "ranges only allowed for vector selectors"),
            ("foo + 5m", "unexpected duration"),
            ("-foo[5m]", "unary expression only allowed on expressions of type scalar or instant vector"),
            ("foo{a=~\"(\"}", "invalid regular expression"),
            ("sum(foo", "unexpected end of input"),
            ("foo{a=1}", "expected a quoted label value"),
            ("foo = 1", "unexpected \"=\""),
        ]
        for (text, message) in cases {
            guard let e = error(text) else {
                Issue.record("\(text) must be rejected")
                continue
            }
            #expect(!e.unsupported, "\(text)")
            #expect(e.message.contains(message), "\(text): \(e.message)")
        }
    }

    @Test func numbersAndStrings() throws {
        let values: [(String, Double)] = [
            ("1", 1), (".5", 0.5), ("5.", 5), ("1e-3", 0.001), ("0x1F", 31), ("010", 8), ("Inf", .infinity),
            ("-inf", -.infinity), ("+1", 1),
        ]
        for (text, v) in values {
            guard case .number(let got, _) = try parse(text) else {
                Issue.record("\(text) must be a number")
                continue
            }
            #expect(got == v, "\(text)")
        }
        guard case .number(let nan, _) = try parse("NaN") else {
            Issue.record("NaN must be a number")
            return
        }
        #expect(nan.isNaN)
        guard case .vectorSelector(let vs) = try parse(#"foo{a="x\"y", b='single', c=`raw\n`}"#) else {
            Issue.record("selector expected")
            return
        }
        #expect(vs.matchers.map(\.value) == ["foo", "x\"y", "single", "raw\\n"])
    }

    @Test func selectorsListTheirRanges() throws {
        let e = try parse("rate(a[5m]) > on(x) max_over_time(b[1h]) or c")
        let needs = e.selectorNeeds()
        #expect(needs.map(\.lookbackMilliseconds) == [300_000, 3_600_000, 300_000])
        #expect(needs.map(\.retentionMilliseconds) == [300_000, 3_600_000, 0])
        #expect(needs.map { $0.matchers[0].value } == ["a", "b", "c"])
    }

    @Test func keywordsAreLabelNamesInsideBraces() throws {
        guard case .vectorSelector(let vs) = try parse("foo{on=\"1\", by=\"2\", bool=\"3\"}") else {
            Issue.record("selector expected")
            return
        }
        #expect(vs.matchers.map(\.name) == ["__name__", "on", "by", "bool"])
    }
}
