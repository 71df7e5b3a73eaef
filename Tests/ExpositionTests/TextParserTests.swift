import Series
import Testing
@testable import Exposition

/// Text format 0.0.4. Rows follow the test tables of prometheus/common `expfmt/text_parse_test.go`
/// and prometheus/prometheus `model/textparse/promparse_test.go`, adapted where lookout is
/// stricter (duplicate series are rejected; quoted UTF-8 names are not supported).
@Suite struct TextParserTests {
    static let valid: [ParserCase] = [
        ParserCase("empty body", "", .families("")),
        ParserCase("only blank lines", "\n\n  \n\t\n", .families("")),
        ParserCase(
            "minimal, untyped, HELP for a family without samples is dropped",
            """

            minimal_metric 1.234
            another_metric -3e3 103948
            # Even that:
            no_labels{} 3
            # HELP line for non-existing metric will be ignored.

            """,
            .families(
                """
                minimal_metric untyped
                  {} 1.234
                another_metric untyped
                  {} -3000 @103948
                no_labels untyped
                  {} 3
                """)),
        ParserCase(
            "counters and gauges, docstrings, blanks everywhere, escapes",
            """

            # A normal comment.
            #
            # TYPE name counter
            name{labelname="val1",basename="basevalue"} NaN
            name {labelname="val2",basename="base\\"v\\\\al\\nue"} 0.23 1234567890
            # HELP name two-line\\n doc  str\\\\ing

             # HELP  name2  \tdoc str"ing 2
              #    TYPE    name2 gauge
            name2{labelname="val2"\t,basename   =   "basevalue2"\t\t} +Inf 54321
            name2{ labelname = "val1" , }-Inf

            """,
            .families(
                #"""
                name counter help="two-line\n doc  str\\ing"
                  {basename="basevalue", labelname="val1"} NaN
                  {basename="base\"v\\al\nue", labelname="val2"} 0.23 @1234567890
                name2 gauge help="doc str\"ing 2"
                  {basename="basevalue2", labelname="val2"} +Inf @54321
                  {labelname="val1"} -Inf
                """#)),
        ParserCase(
            "the evil summary: interleaved families, latest timestamp wins, bare HELP lines",
            """

            # TYPE my_summary summary
            my_summary{n1="val1",quantile="0.5"} 110
            decoy -1 -2
            my_summary{n1="val1",quantile="0.9"} 140 1
            my_summary_count{n1="val1"} 42
            # Latest timestamp wins in case of a summary.
            my_summary_sum{n1="val1"} 4711 2
            fake_sum{n1="val1"} 2001
            # TYPE another_summary summary
            another_summary_count{n2="val2",n1="val1"} 20
            my_summary_count{n2="val2",n1="val1"} 5 5
            another_summary{n1="val1",n2="val2",quantile=".3"} -1.2
            my_summary_sum{n1="val2"} 08 15
            my_summary{n1="val3", quantile="0.2"} 4711
              my_summary{n1="val1",n2="val2",quantile="-12.34",} NaN
            # some
            # funny comments
            # HELP
            # HELP
            # HELP my_summary
            # HELP my_summary

            """,
            .families(
                #"""
                my_summary summary
                  {n1="val1"} [0.5:110 0.9:140] sum=4711 count=42 @2
                  {n1="val1", n2="val2"} [-12.34:NaN] sum=0 count=5 @5
                  {n1="val2"} [] sum=8 count=0 @15
                  {n1="val3"} [0.2:4711] sum=0 count=0
                decoy untyped
                  {} -1 @-2
                fake_sum untyped
                  {n1="val1"} 2001
                another_summary summary
                  {n1="val1", n2="val2"} [0.3:-1.2] sum=0 count=20
                """#)),
        ParserCase(
            "histogram",
            """

            # HELP request_duration_microseconds The response latency.
            # TYPE request_duration_microseconds histogram
            request_duration_microseconds_bucket{le="100"} 123
            request_duration_microseconds_bucket{le="120"} 412
            request_duration_microseconds_bucket{le="144"} 592
            request_duration_microseconds_bucket{le="172.8"} 1524
            request_duration_microseconds_bucket{le="+Inf"} 2693
            request_duration_microseconds_sum 1.7560473e+06
            request_duration_microseconds_count 2693

            """,
            .families(
                #"""
                request_duration_microseconds histogram help="The response latency."
                  {} [100:123 120:412 144:592 172.8:1524 +Inf:2693] sum=1.7560473e+06 count=2693
                """#)),
        ParserCase(
            "histogram without +Inf bucket and a float count",
            """
            # TYPE request_duration_microseconds histogram
            request_duration_microseconds_bucket{le="100"} 123
            request_duration_microseconds_bucket{le="172.8"} 1524
            request_duration_microseconds_sum 1.7560473e+06
            request_duration_microseconds_count 2693.9

            """,
            .families(
                """
                request_duration_microseconds histogram
                  {} [100:123 172.8:1524 +Inf:2693.9] sum=1.7560473e+06 count=2693.9
                """)),
        ParserCase(
            "histogram buckets in any order, several series, le anywhere in the labels",
            """
            # TYPE h histogram
            h_bucket{le="+Inf",a="x"} 3
            h_bucket{a="y",le="1"} 1
            h_bucket{a="x",le="0.5"} 1
            h_count{a="x"} 3
            h_bucket{a="y",le="+Inf"} 2

            """,
            .families(
                #"""
                h histogram
                  {a="x"} [0.5:1 +Inf:3] sum=0 count=3
                  {a="y"} [1:1 +Inf:2] sum=0 count=2
                """#)),
        ParserCase(
            "Prometheus' parser input: blanks in label sets, trailing commas, comments, tabs, timestamps",
            """
            # HELP go_gc_duration_seconds A summary of the GC invocation durations.
            # \tTYPE go_gc_duration_seconds summary
            go_gc_duration_seconds{quantile="0"} 4.9351e-05
            go_gc_duration_seconds{quantile="0.25",} 7.424100000000001e-05
            go_gc_duration_seconds{quantile="0.5",a="b"} 8.3835e-05
            go_gc_duration_seconds{quantile="0.8", a="b"} 8.3835e-05
            go_gc_duration_seconds{ quantile="0.9", a="b"} 8.3835e-05
            # Hrandom comment starting with prefix of HELP
            #
            wind_speed{A="2",c="3"} 12345
            # comment with escaped \\n newline
            # comment with escaped \\ escape character
            # HELP nohelp1
            # HELP nohelp2 
            go_gc_duration_seconds{ quantile="1.0", a="b" } 8.3835e-05
            go_gc_duration_seconds { quantile= "0.95", a= "b", } 8.3835e-05
            go_gc_duration_seconds { quantile = "0.99", a = "b" } 8.3835e-05
            go_gc_duration_seconds_count 99
            some:aggregate:rate5m{a_b="c"}\t1
            # HELP go_goroutines Number of goroutines that currently exist.
            # TYPE go_goroutines gauge
            go_goroutines 33  \t123123
            _metric_starting_with_underscore 1
            testmetric{_label_starting_with_underscore="foo"} 1
            testmetric{label="\\"bar\\""} 1
            """,
            .families(
                #"""
                go_gc_duration_seconds summary help="A summary of the GC invocation durations."
                  {} [0:4.9351e-05 0.25:7.424100000000001e-05] sum=0 count=99
                  {a="b"} [0.5:8.3835e-05 0.8:8.3835e-05 0.9:8.3835e-05 0.95:8.3835e-05 0.99:8.3835e-05 1:8.3835e-05] sum=0 count=0
                wind_speed untyped
                  {A="2", c="3"} 12345
                some:aggregate:rate5m untyped
                  {a_b="c"} 1
                go_goroutines gauge help="Number of goroutines that currently exist."
                  {} 33 @123123
                _metric_starting_with_underscore untyped
                  {} 1
                testmetric untyped
                  {_label_starting_with_underscore="foo"} 1
                  {label="\"bar\""} 1
                """#)),
        ParserCase(
            "NUL bytes in HELP and label values",
            "# HELP metric foo\u{0}bar\nmetric 1\nnull_byte_metric{a=\"abc\u{0}\"} 1",
            .families(
                """
                metric untyped help="foo\\0bar"
                  {} 1
                null_byte_metric untyped
                  {a="abc\u{0}"} 1
                """)),
        ParserCase("last line without newline", "a 1\nb 2", .families("a untyped\n  {} 1\nb untyped\n  {} 2")),
        ParserCase(
            "HELP after samples, escaped backslash before n",
            "x 1\n# HELP x path C:\\\\new\n",
            .families("x untyped help=\"path C:\\\\new\"\n  {} 1")),
        ParserCase(
            "_count of a name that is not a summary is its own family",
            "# TYPE x gauge\nx 1\nx_count 2\nx_bucket{le=\"1\"} 3\n",
            .families("x gauge\n  {} 1\nx_count untyped\n  {} 2\nx_bucket untyped\n  {le=\"1\"} 3")),
        ParserCase(
            "special values and number forms",
            "a{v=\"1\"} +inf\na{v=\"2\"} -Infinity\na{v=\"3\"} nan\na{v=\"4\"} .5\na{v=\"5\"} 5.\na{v=\"6\"} 1E3\na{v=\"7\"} -0\n",
            .families(
                #"""
                a untyped
                  {v="1"} +Inf
                  {v="2"} -Inf
                  {v="3"} NaN
                  {v="4"} 0.5
                  {v="5"} 5
                  {v="6"} 1000
                  {v="7"} 0
                """#)),
        ParserCase(
            "UTF-8 in label values and HELP",
            "# HELP temp Température en °C ☃\ntemp{city=\"Zürich\",emoji=\"🌡\"} 21.5\n",
            .families("temp untyped help=\"Température en °C ☃\"\n  {city=\"Zürich\", emoji=\"🌡\"} 21.5")),
        ParserCase("gauge with an empty label set and extreme values", "# TYPE g gauge\ng{} 1.7976931348623157e308\n", .accepted),
        ParserCase("label values with braces, hashes and equals signs", "a{x=\"{b=c} # d\"} 1\n", .accepted),
        ParserCase("negative timestamp", "a 1 -1\n", .families("a untyped\n  {} 1 @-1")),
    ]

    static let invalid: [ParserCase] = [
        ParserCase("name without value", "a", .rejected(.syntax, line: 1)),
        ParserCase("single-quoted label value", "a{b='c'} 1\n", .rejected(.syntax, line: 1)),
        ParserCase("label value cut by newline", "a{b=\n", .rejected(.syntax, line: 1)),
        ParserCase("non-ASCII label name", "a{\u{FF}=\"foo\"} 1\n", .rejected(.syntax, line: 1)),
        ParserCase("boolean value", "a true\n", .rejected(.syntax, line: 1)),
        ParserCase("unterminated label value at end of input", "something_weird{problem=\"", .rejected(.syntax, line: 1)),
        ParserCase("empty label name", "empty_label_name{=\"\"} 0", .rejected(.syntax, line: 1)),
        ParserCase("underscore in value", "foo 1_2\n", .rejected(.syntax, line: 1)),
        ParserCase("hex float value", "foo 0x1p-3\n", .rejected(.syntax, line: 1)),
        ParserCase("hex float value, capital P", "foo 0x1P-3\n", .rejected(.syntax, line: 1)),
        ParserCase("binary value", "foo 0b1\n", .rejected(.syntax, line: 1)),
        ParserCase("binary value, capital B", "foo 0B1\n", .rejected(.syntax, line: 1)),
        ParserCase("octal value", "foo 0o1\n", .rejected(.syntax, line: 1)),
        ParserCase("octal value, capital O", "foo 0O1\n", .rejected(.syntax, line: 1)),
        ParserCase("hex value", "foo 0x1\n", .rejected(.syntax, line: 1)),
        ParserCase("hex value, capital X", "foo 0X1\n", .rejected(.syntax, line: 1)),
        ParserCase("underscore in timestamp", "foo 0 1_2\n", .rejected(.syntax, line: 1)),
        ParserCase("no metric name", "{a=\"ok\"} 1", .rejected(.syntax, line: 1)),
        ParserCase("invalid name after TYPE", "# TYPE #\n", .rejected(.syntax, line: 1)),
        ParserCase("invalid name after HELP", "# HELP #\n", .rejected(.syntax, line: 1)),
        ParserCase("unescaped newline in label value", "\nmetric{label=\"new\nline\"} 3.14\n", .rejected(.syntax, line: 2)),
        ParserCase("invalid label name", "metric{@=\"bla\"} 3.14", .rejected(.syntax, line: 1)),
        ParserCase("reserved label name", "metric{__name__=\"bla\"} 3.14", .rejected(.syntax, line: 1)),
        ParserCase("junk after label name", "metric{label+=\"bla\"} 3.14", .rejected(.syntax, line: 1)),
        ParserCase("unquoted label value", "metric{label=bla} 3.14", .rejected(.syntax, line: 1)),
        ParserCase("quantile not a number", "\n# TYPE metric summary\nmetric{quantile=\"bla\"} 3.14\n", .rejected(.syntax, line: 3)),
        ParserCase("junk after label value", "metric{label=\"bla\"+} 3.14", .rejected(.syntax, line: 1)),
        ParserCase("float timestamp", "metric{label=\"bla\"} 3.14 2.72\n", .rejected(.syntax, line: 1)),
        ParserCase("text after timestamp", "metric{label=\"bla\"} 3.14 2 3\n", .rejected(.syntax, line: 1)),
        ParserCase("word as value", "metric{label=\"bla\"} blubb\n", .rejected(.syntax, line: 1)),
        ParserCase("unknown type", "\n# TYPE metric bla\n", .rejected(.syntax, line: 2)),
        ParserCase("OpenMetrics type in text", "# TYPE metric info\n", .rejected(.syntax, line: 1)),
        ParserCase("TYPE without a type", "# TYPE metric\n", .rejected(.syntax, line: 1)),
        ParserCase("text after the type", "# TYPE metric gauge extra\n", .rejected(.syntax, line: 1)),
        ParserCase("invalid name in TYPE", "\n# TYPE met-ric\n", .rejected(.syntax, line: 2)),
        ParserCase("invalid metric name", "@invalidmetric{label=\"bla\"} 3.14 2", .rejected(.syntax, line: 1)),
        ParserCase("only a label set", "{label=\"bla\"} 3.14 2", .rejected(.syntax, line: 1)),
        ParserCase("le not a number", "\n# TYPE metric histogram\nmetric_bucket{le=\"bla\"} 3.14\n", .rejected(.syntax, line: 3)),
        ParserCase("non-ASCII metric name", "métric 1\n", .rejected(.syntax, line: 1)),
        ParserCase("hex float le", "\n# TYPE metric histogram\nmetric_bucket{le=\"0x1p-3\"} 3.14\n", .rejected(.syntax, line: 3)),
        ParserCase("hex float quantile", "\n# TYPE metric summary\nmetric{quantile=\"0x1p-3\"} 3.14\n", .rejected(.syntax, line: 3)),
        ParserCase("duplicate label", "metric{label=\"bla\",label=\"bla\"} 3.14", .rejected(.syntax, line: 1)),
        ParserCase("bucket without le", "# TYPE h histogram\nh_bucket{a=\"1\"} 1\n", .rejected(.invalidHistogram, line: 2)),
        ParserCase("duplicate le", "# TYPE h histogram\nh_bucket{le=\"1\",le=\"2\"} 1\n", .rejected(.syntax, line: 2)),
        ParserCase("le on a histogram sum", "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum{le=\"1\"} 2\n", .rejected(.invalidHistogram, line: 3)),
        ParserCase("quantile on a summary count", "# TYPE s summary\ns_count{quantile=\"0.5\"} 2\n", .rejected(.invalidHistogram, line: 2)),
        ParserCase("summary sample without quantile", "# TYPE s summary\ns{a=\"1\"} 1\n", .rejected(.invalidHistogram, line: 2)),
        ParserCase("histogram sample without suffix", "# TYPE h histogram\nh 1\n", .rejected(.syntax, line: 2)),
        ParserCase("exemplar in text format", "a 1 # {} 1\n", .rejected(.syntax, line: 1)),
        ParserCase("CRLF line ends", "a 1\r\n", .rejected(.syntax, line: 1)),
        ParserCase("missing comma between labels", "a{b=\"c\" d=\"e\"} 1\n", .rejected(.syntax, line: 1)),
        ParserCase("lone comma in label set", "a{,} 1\n", .rejected(.syntax, line: 1)),
        ParserCase("unterminated label set", "a{b=\"c\"\n", .rejected(.syntax, line: 1)),
        ParserCase("value glued to the name", "a1.5\n", .rejected(.syntax, line: 1)),
        ParserCase("dot in metric name", "a.b 1\n", .rejected(.syntax, line: 1)),
        ParserCase("timestamp beyond int64", "a 1 9223372036854775808\n", .rejected(.syntax, line: 1)),
        ParserCase("error on a later line", "a 1\nb 2\nc{ 3\n", .rejected(.syntax, line: 3)),
    ]

    @Test(arguments: valid) func validInput(_ c: ParserCase) { c.check(.text) }
    @Test(arguments: invalid) func invalidInput(_ c: ParserCase) { c.check(.text) }

    @Test func invalidUTF8IsRejectedWithItsLine() throws {
        for bytes in [
            Array("a 1\nmetric{l=\"".utf8) + [0xBD] + Array("\"} 3.14\n".utf8),
            Array("a 1\na{".utf8) + [0xFF] + Array("=\"foo\"} 1\n".utf8),
            Array("a 1\n# comment ".utf8) + [0xC0, 0x80] + [0x0A],
            Array("a 1\n# HELP a ".utf8) + [0xED, 0xA0, 0x80] + [0x0A],
            Array("a 1\nb{x=\"".utf8) + [0xE2, 0x82] + Array("\"} 1\n".utf8),
        ] {
            #expect(throws: ScrapeError(.invalidUTF8, line: 2, "invalid UTF-8")) {
                try ScrapeParser.parse(bytes, format: .text)
            }
        }
    }
}

/// Bodies real exporters serve that Prometheus 2.42 scrapes without complaint: accepted,
/// with what Prometheus would store.
@Suite struct TextQuirksTests {
    static func parse(_ text: String) throws(ScrapeError) -> (String, Int) {
        var parser = ScrapeParser(format: .text, limits: .none)
        try parser.feed(Array(text.utf8))
        let families = try parser.finish()
        return (describe(families), parser.duplicateSamples)
    }

    @Test func metadataRepeatedOrLate() throws {
        #expect(try Self.parse("# HELP m one\n# HELP m two\nm 1\n").0 == "m untyped help=\"one\"\n  {} 1")
        #expect(try Self.parse("# TYPE m counter\n# TYPE m gauge\nm 1\n").0 == "m counter\n  {} 1")
        // A late TYPE types the samples of the family's own name...
        #expect(try Self.parse("m 4.12\n# TYPE m counter\nm{a=\"b\"} 1\n").0 == "m counter\n  {} 4.12\n  {a=\"b\"} 1")
        // ...and is ignored when it would make earlier samples parts of a histogram or summary.
        #expect(
            try Self.parse("x_count 1\n# TYPE x summary\nx_sum 2\n").0 == "x_count untyped\n  {} 1\nx_sum untyped\n  {} 2")
        #expect(try Self.parse("m 1\n# TYPE m histogram\n").0 == "m untyped\n  {} 1")
    }

    @Test func undefinedEscapesStayAsWritten() throws {
        let families = try ScrapeParser.parse(Array("# HELP m a\\qb\nm{l=\"x\\ty\\\\z\"} 1\n".utf8), format: .text)
        #expect(families[0].help == "a\\qb")
        #expect(families[0].metrics[0].labels["l"] == "x\\ty\\z")
    }

    @Test func duplicatesKeepTheFirstAndAreCounted() throws {
        let (plain, n1) = try Self.parse("a 1\na 2\n")
        #expect(plain == "a untyped\n  {} 1" && n1 == 1)
        let (reordered, n2) = try Self.parse("a{x=\"1\",y=\"2\"} 1\nb 1\na{y=\"2\",x=\"1\"} 2\n")
        #expect(reordered == "a untyped\n  {x=\"1\", y=\"2\"} 1\nb untyped\n  {} 1" && n2 == 1)
        let (histogram, n3) = try Self.parse(
            "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"1.0\"} 2\nh_bucket{le=\"+Inf\"} 3\nh_sum 4\nh_sum 5\nh_count 3\nh_count 9\n")
        #expect(histogram == "h histogram\n  {} [1:1 +Inf:3] sum=4 count=3" && n3 == 3)
        let (summary, n4) = try Self.parse("# TYPE s summary\ns{quantile=\"0.5\"} 1\ns{quantile=\"0.50\"} 2\ns_sum 1\ns_count 1\n")
        #expect(summary == "s summary\n  {} [0.5:1] sum=1 count=1" && n4 == 1)
        // Skipped samples do not count against the sample limit.
        var limited = ScrapeParser(format: .text, limits: ScrapeLimits(sampleLimit: 2))
        try limited.feed(Array("a 1\na 2\na 3\nb 1\n".utf8))
        #expect(try limited.finish().count == 2)
        var exact = ScrapeParser(format: .text, limits: ScrapeLimits(sampleLimit: 1))
        try exact.feed(Array("a 1\na 2\n".utf8))
        #expect(try describe(exact.finish()) == "a untyped\n  {} 1")
    }
}

/// Histograms and summaries scraped without `_sum` or `_count` go out as they came.
@Suite struct MissingSumAndCountTests {
    @Test func reExposedAsTheyCame() throws {
        let body = """
            # TYPE h histogram
            h_bucket{le="1"} 1
            h_bucket{le="+Inf"} 2
            # TYPE s summary
            s{quantile="0.5"} 3
            s_count 4
            # TYPE full histogram
            full_bucket{le="+Inf"} 1
            full_sum 0.5
            full_count 1

            """
        let families = try ScrapeParser.parse(Array(body.utf8), format: .text)
        #expect(
            TextEncoder.encode(families).string == """
                # TYPE h histogram
                h_bucket{le="1"} 1
                h_bucket{le="+Inf"} 2
                # TYPE s summary
                s{quantile="0.5"} 3
                s_count 4
                # TYPE full histogram
                full_bucket{le="+Inf"} 1
                full_sum 0.5
                full_count 1

                """)
        // OpenMetrics has a histogram's two together or neither; a summary's may come alone.
        let om = OpenMetricsEncoder.encode(families).string
        #expect(!om.contains("h_sum") && !om.contains("h_count") && !om.contains("s_sum"))
        #expect(om.contains("s{quantile=\"0.5\"} 3\ns_count 4\n"), "\(om)")
        #expect(try ScrapeParser.parse(Array(om.utf8), format: .openMetrics).map(\.metrics) == families.map(\.metrics))
        #expect(om.contains("full_count 1\nfull_sum 0.5\n"), "\(om)")
    }
}
