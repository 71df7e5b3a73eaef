import Series
import Testing
@testable import Exposition

/// OpenMetrics 1.0. Rows follow the parser tests of prometheus/client_python
/// (`tests/openmetrics/test_parser.py`, the reference parser of the OpenMetrics test
/// suite), the suite's own cases (OpenObservability/OpenMetrics `tests/testdata/parsers`)
/// and prometheus/prometheus `model/textparse/openmetricsparse_test.go`.
@Suite struct OpenMetricsParserTests {
    static let valid: [ParserCase] = [
        ParserCase("simple counter", "# TYPE a counter\n# HELP a help\na_total 1\n# EOF\n", .families("a_total counter help=\"help\"\n  {} 1")),
        ParserCase("uint64 counter", "# TYPE a counter\n# HELP a help\na_total 9223372036854775808\n# EOF\n", .families("a_total counter help=\"help\"\n  {} 9.223372036854776e+18")),
        ParserCase("simple gauge", "# TYPE a gauge\n# HELP a help\na 1\n# EOF\n", .families("a gauge help=\"help\"\n  {} 1")),
        ParserCase("float gauge", "# TYPE a gauge\n# HELP a help\na 1.2\n# EOF\n", .families("a gauge help=\"help\"\n  {} 1.2")),
        ParserCase("leading zeros", "# TYPE a gauge\n# HELP a help\na 0000000000000000000000000000000000000000001\n# EOF\n", .families("a gauge help=\"help\"\n  {} 1")),
        ParserCase("leading zeros, float", "# TYPE a gauge\n# HELP a help\na 0000000000000000000000000000000000000000001.2e-1\n# EOF\n", .families("a gauge help=\"help\"\n  {} 0.12")),
        ParserCase("NaN gauge", "# TYPE a gauge\n# HELP a help\na NaN\n# EOF\n", .families("a gauge help=\"help\"\n  {} NaN")),
        ParserCase("unit", "# TYPE a_seconds gauge\n# UNIT a_seconds seconds\n# HELP a_seconds help\na_seconds 1\n# EOF\n", .families("a_seconds gauge help=\"help\" unit=seconds\n  {} 1")),
        ParserCase("simple summary", "# TYPE a summary\n# HELP a help\na_count 1\na_sum 2\n# EOF\n", .families("a summary help=\"help\"\n  {} [] sum=2 count=1")),
        ParserCase("summary quantiles", "# TYPE a summary\n# HELP a help\na_count 1\na_sum 2\na{quantile=\"0.5\"} 0.7\na{quantile=\"1\"} 0.8\n# EOF\n", .families("a summary help=\"help\"\n  {} [0.5:0.7 1:0.8] sum=2 count=1")),
        ParserCase("summary NaN quantile values", "# TYPE a summary\na{quantile=\"0.5\"} NaN\na_sum 871.5665949999999\na_count 229.0\n# EOF\n", .families("a summary\n  {} [0.5:NaN] sum=871.5665949999999 count=229")),
        ParserCase("simple histogram", "# TYPE a histogram\n# HELP a help\na_bucket{le=\"1.0\"} 0\na_bucket{le=\"+Inf\"} 3\na_count 3\na_sum 2\n# EOF\n", .families("a histogram help=\"help\"\n  {} [1:0 +Inf:3] sum=2 count=3")),
        ParserCase("histogram with float-looking counts", "# TYPE a histogram\n# HELP a help\na_bucket{le=\"1.0\"} 0.0\na_bucket{le=\"+Inf\"} 3.0\na_count 3.0\na_sum 2.0\n# EOF\n", .families("a histogram help=\"help\"\n  {} [1:0 +Inf:3] sum=2 count=3")),
        ParserCase(
            "histogram with non-canonical le",
            "# TYPE a histogram\n# HELP a help\na_bucket{le=\"0\"} 0\na_bucket{le=\"0.00000000001\"} 0\na_bucket{le=\"0.0000000001\"} 0\na_bucket{le=\"1e-04\"} 0\na_bucket{le=\"1.1e-4\"} 0\na_bucket{le=\"1.1e-3\"} 0\na_bucket{le=\"1.1e-2\"} 0\na_bucket{le=\"1\"} 0\na_bucket{le=\"1e+05\"} 0\na_bucket{le=\"10000000000\"} 0\na_bucket{le=\"100000000000.0\"} 0\na_bucket{le=\"+Inf\"} 3\na_count 3\na_sum 2\n# EOF\n",
            .families("a histogram help=\"help\"\n  {} [0:0 1e-11:0 1e-10:0 0.0001:0 0.00011:0 0.0011:0 0.011:0 1:0 100000:0 1e+10:0 1e+11:0 +Inf:3] sum=2 count=3")),
        ParserCase("negative buckets, no sum", "# TYPE a histogram\n# HELP a help\na_bucket{le=\"-1.0\"} 0\na_bucket{le=\"1.0\"} 1\na_bucket{le=\"+Inf\"} 3\n# EOF\n", .families("a histogram help=\"help\"\n  {} [-1:0 1:1 +Inf:3] sum=0 count=3")),
        ParserCase(
            "histogram exemplars, one with a 128-character label set",
            "# TYPE a histogram\n# HELP a help\na_bucket{le=\"1.0\"} 0 # {a=\"b\"} 0.5\na_bucket{le=\"2.0\"} 2 # {a=\"c\"} 0.5\na_bucket{le=\"+Inf\"} 3 # {a=\"2345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678\"} 4 123\n# EOF\n",
            .families("a histogram help=\"help\"\n  {} [1:0 2:2 +Inf:3] sum=0 count=3")),
        ParserCase("simple gauge histogram", "# TYPE a gaugehistogram\n# HELP a help\na_bucket{le=\"1.0\"} 0\na_bucket{le=\"+Inf\"} 3\na_gcount 3\na_gsum 2\n# EOF\n", .families("a gaugehistogram help=\"help\"\n  {} [1:0 +Inf:3] sum=2 count=3")),
        ParserCase("gauge histogram with negative buckets and sum", "# TYPE a gaugehistogram\n# HELP a help\na_bucket{le=\"-1.0\"} 1\na_bucket{le=\"1.0\"} 2\na_bucket{le=\"+Inf\"} 3\na_gcount 3\na_gsum -5\n# EOF\n", .families("a gaugehistogram help=\"help\"\n  {} [-1:1 1:2 +Inf:3] sum=-5 count=3")),
        ParserCase("gauge histogram exemplars and timestamps", "# TYPE a gaugehistogram\n# HELP a help\na_bucket{le=\"1.0\"} 0 123 # {a=\"b\"} 0.5\na_bucket{le=\"2.0\"} 2 123 # {a=\"c\"} 0.5\na_bucket{le=\"+Inf\"} 3 123 # {a=\"d\"} 4 123\n# EOF\n", .families("a gaugehistogram help=\"help\"\n  {} [1:0 2:2 +Inf:3] sum=0 count=3 @123000")),
        ParserCase("counter exemplar", "# TYPE a counter\n# HELP a help\na_total 0 123 # {a=\"b\"} 0.5\n# EOF\n", .families("a_total counter help=\"help\"\n  {} 0 @123000")),
        ParserCase("counter exemplar, empty label set", "# TYPE a counter\n# HELP a help\na_total{} 0 123 # {a=\"b\"} 0.5\n# EOF\n", .families("a_total counter help=\"help\"\n  {} 0 @123000")),
        ParserCase("exemplar without labels", "# TYPE a counter\na_total 1 # {} 1\n# EOF\n", .families("a_total counter\n  {} 1")),
        ParserCase("simple info", "# TYPE a info\n# HELP a help\na_info{foo=\"bar\"} 1\n# EOF\n", .families("a_info info help=\"help\"\n  {foo=\"bar\"} 1")),
        ParserCase("info with timestamps", "# TYPE a info\n# HELP a help\na_info{a=\"1\",foo=\"bar\"} 1 1\na_info{a=\"2\",foo=\"bar\"} 1 0\n# EOF\n", .families("a_info info help=\"help\"\n  {a=\"1\", foo=\"bar\"} 1 @1000\n  {a=\"2\", foo=\"bar\"} 1 @0")),
        ParserCase("simple stateset", "# TYPE a stateset\n# HELP a help\na{a=\"bar\"} 0\na{a=\"foo\"} 1.0\n# EOF\n", .families("a stateset help=\"help\"\n  {a=\"bar\"} 0\n  {a=\"foo\"} 1")),
        ParserCase(
            "repeated series with non-decreasing timestamps keep the latest point",
            "# TYPE a gauge\n# HELP a help\na{a=\"1\",foo=\"bar\"} 1 0.0000000000\na{a=\"1\",foo=\"bar\"} 2 0.0000000001\na{a=\"1\",foo=\"bar\"} 3 0.0000000010\na{a=\"2\",foo=\"bar\"} 4 0.0000000000\na{a=\"2\",foo=\"bar\"} 5 0.0000000001\n# EOF\n",
            .families("a gauge help=\"help\"\n  {a=\"1\", foo=\"bar\"} 3 @0\n  {a=\"2\", foo=\"bar\"} 5 @0")),
        ParserCase("no metadata", "a 1\n# EOF\n", .families("a untyped\n  {} 1")),
        ParserCase("empty metadata, no samples", "# HELP a \n# UNIT a \n# EOF\n", .families("")),
        ParserCase("unknown type", "# HELP redis_connected_clients Redis connected clients\n# TYPE redis_connected_clients unknown\nredis_connected_clients{instance=\"rough-snowflake-web\",port=\"6380\"} 10.0\nredis_connected_clients{instance=\"rough-snowflake-web\",port=\"6381\"} 12.0\n# EOF\n", .families("redis_connected_clients untyped help=\"Redis connected clients\"\n  {instance=\"rough-snowflake-web\", port=\"6380\"} 10\n  {instance=\"rough-snowflake-web\", port=\"6381\"} 12")),
        ParserCase("HELP before TYPE", "# HELP a help\n# TYPE a counter\na_total 1\n# EOF\n", .families("a_total counter help=\"help\"\n  {} 1")),
        ParserCase("braces in label values", "# TYPE a counter\n# HELP a help\na_total{foo=\"bar\",bar=\"b{a}z\"} 1\n# EOF\n", .families("a_total counter help=\"help\"\n  {bar=\"b{a}z\", foo=\"bar\"} 1")),
        ParserCase("empty HELP", "# TYPE a counter\n# HELP a \na_total 1\n# EOF\n", .families("a_total counter\n  {} 1")),
        ParserCase("infinite gauge values", "# TYPE a gauge\n# HELP a help\na{foo=\"bar\"} +Inf\na{foo=\"baz\"} -Inf\n# EOF\n", .families("a gauge help=\"help\"\n  {foo=\"bar\"} +Inf\n  {foo=\"baz\"} -Inf")),
        ParserCase("empty braces", "# TYPE a counter\n# HELP a help\na_total{} 1\n# EOF\n", .families("a_total counter help=\"help\"\n  {} 1")),
        ParserCase("NaN without metadata", "a NaN\n# EOF\n", .families("a untyped\n  {} NaN")),
        ParserCase("no newline after EOF", "# TYPE a gauge\n# HELP a help\na 1\n# EOF", .families("a gauge help=\"help\"\n  {} 1")),
        ParserCase("empty label value", "# TYPE a counter\n# HELP a help\na_total{foo=\"bar\"} 1\na_total{foo=\"\"} 2\n# EOF\n", .families("a_total counter help=\"help\"\n  {foo=\"bar\"} 1\n  {foo=\"\"} 2")),
        ParserCase(
            "escapes, unknown ones kept as written",
            "# TYPE a counter\n# HELP a he\\n\\\\l\\tp\na_total{foo=\"b\\\"a\\nr\"} 1\na_total{foo=\"b\\\\a\\z\"} 2\na_total{foo=\"b\\\"a\\nr # \"} 3\na_total{foo=\"b\\\\a\\z # \"} 4\n# EOF\n",
            .families(#"""
                a_total counter help="he\n\\l\\tp"
                  {foo="b\"a\nr"} 1
                  {foo="b\\a\\z"} 2
                  {foo="b\"a\nr # "} 3
                  {foo="b\\a\\z # "} 4
                """#)),
        ParserCase("NUL in HELP", "# TYPE a counter\n# HELP a he\u{0}lp\n# EOF\n", .families("")),
        ParserCase(
            "timestamps in seconds",
            "# TYPE a counter\n# HELP a help\na_total{foo=\"1\"} 1 000\na_total{foo=\"2\"} 1 0.0\na_total{foo=\"3\"} 1 1.1\na_total{foo=\"5\"} 1 1.5e3\n# TYPE b counter\n# HELP b help\nb_total 2 1234567890\n# EOF\n",
            .families("a_total counter help=\"help\"\n  {foo=\"1\"} 1 @0\n  {foo=\"2\"} 1 @0\n  {foo=\"3\"} 1 @1100\n  {foo=\"5\"} 1 @1500000\nb_total counter help=\"help\"\n  {} 2 @1234567890000")),
        ParserCase(
            "round trip input of the reference parser",
            """
            # HELP go_gc_duration_seconds A summary of the GC invocation durations.
            # TYPE go_gc_duration_seconds summary
            go_gc_duration_seconds{quantile="0.0"} 0.013300656000000001
            go_gc_duration_seconds{quantile="0.25"} 0.013638736
            go_gc_duration_seconds{quantile="0.5"} 0.013759906
            go_gc_duration_seconds{quantile="0.75"} 0.013962066
            go_gc_duration_seconds{quantile="1.0"} 0.021383540000000003
            go_gc_duration_seconds_sum 56.12904785
            go_gc_duration_seconds_count 7476.0
            # HELP go_goroutines Number of goroutines that currently exist.
            # TYPE go_goroutines gauge
            go_goroutines 166.0
            # HELP process_cpu_seconds Total user and system CPU time spent in seconds.
            # TYPE process_cpu_seconds counter
            process_cpu_seconds_total 29323.4
            # HELP prometheus_local_storage_chunk_ops The total number of chunk operations by their type.
            # TYPE prometheus_local_storage_chunk_ops counter
            prometheus_local_storage_chunk_ops_total{type="clone"} 28.0
            prometheus_local_storage_chunk_ops_total{type="drop"} 1.345758e+06
            # HELP foo histogram Testing histogram buckets
            # TYPE foo histogram
            foo_bucket{le="0.0"} 0.0
            foo_bucket{le="1e-05"} 0.0
            foo_bucket{le="1.55555555555552e+06"} 17.0
            foo_bucket{le="1e+23"} 17.0
            foo_bucket{le="+Inf"} 17.0
            foo_count 17.0
            foo_sum 324789.3
            foo_created 1.520430000123e+09
            # HELP bar histogram Testing with labels
            # TYPE bar histogram
            bar_bucket{a="b",le="+Inf"} 0.0
            bar_bucket{a="c",le="+Inf"} 0.0
            # EOF

            """,
            .families(#"""
                go_gc_duration_seconds summary help="A summary of the GC invocation durations."
                  {} [0:0.013300656000000001 0.25:0.013638736 0.5:0.013759906 0.75:0.013962066 1:0.021383540000000003] sum=56.12904785 count=7476
                go_goroutines gauge help="Number of goroutines that currently exist."
                  {} 166
                process_cpu_seconds_total counter help="Total user and system CPU time spent in seconds."
                  {} 29323.4
                prometheus_local_storage_chunk_ops_total counter help="The total number of chunk operations by their type."
                  {type="clone"} 28
                  {type="drop"} 1.345758e+06
                foo histogram help="histogram Testing histogram buckets"
                  {} [0:0 1e-05:0 1.55555555555552e+06:17 1e+23:17 +Inf:17] sum=324789.3 count=17
                bar histogram help="histogram Testing with labels"
                  {a="b"} [+Inf:0] sum=0 count=0
                  {a="c"} [+Inf:0] sum=0 count=0
                """#)),
        ParserCase("wide characters in an exemplar", "# TYPE a histogram\na_bucket{le=\"+Inf\"} 1 # {a=\"☃345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678\"} 1 1\n# EOF\n", .accepted),
        ParserCase(
            "exemplar: exactly 128 code points with combining characters",
            "# TYPE a histogram\na_bucket{le=\"+Inf\"} 1 # {a=\"" + String(repeating: "e\u{301}", count: 63) + "x\"} 1 1\n# EOF\n",
            .accepted),
        ParserCase("Prometheus' input: several families, colons in names, gauge histograms", "# HELP go_gc_duration_seconds A summary of the GC invocation durations.\n# TYPE go_gc_duration_seconds summary\n# UNIT go_gc_duration_seconds seconds\ngo_gc_duration_seconds{quantile=\"0\"} 4.9351e-05\ngo_gc_duration_seconds{quantile=\"0.25\"} 7.424100000000001e-05\ngo_gc_duration_seconds_count 99\nsome:aggregate:rate5m{a_b=\"c\"} 1\n# HELP go_goroutines Number of goroutines that currently exist.\n# TYPE go_goroutines gauge\ngo_goroutines 33 123.123\n# TYPE hh histogram\nhh_bucket{le=\"+Inf\"} 1\n# TYPE gh gaugehistogram\ngh_bucket{le=\"+Inf\"} 1\n# EOF\n", .families("go_gc_duration_seconds summary help=\"A summary of the GC invocation durations.\" unit=seconds\n  {} [0:4.9351e-05 0.25:7.424100000000001e-05] sum=0 count=99\nsome:aggregate:rate5m untyped\n  {a_b=\"c\"} 1\ngo_goroutines gauge help=\"Number of goroutines that currently exist.\"\n  {} 33 @123123\nhh histogram\n  {} [+Inf:1] sum=0 count=1\ngh gaugehistogram\n  {} [+Inf:1] sum=0 count=1")),
        ParserCase(
            "escaped label values on the samples of one histogram",
            "# TYPE a histogram\na_bucket{path=\"C:\\\\x\",q=\"\\\"\",le=\"1\"} 0\na_bucket{path=\"C:\\\\x\",q=\"\\\"\",le=\"+Inf\"} 1\na_count{path=\"C:\\\\x\",q=\"\\\"\"} 1\na_sum{path=\"C:\\\\x\",q=\"\\\"\"} 2\n# EOF\n",
            .families(#"""
                a histogram
                  {path="C:\\x", q="\""} [1:0 +Inf:1] sum=2 count=1
                """#)),
        ParserCase("counter with only _created", "# TYPE a counter\na_created 1.5e9\n# EOF\n", .families("")),
        ParserCase("counter with _created", "# TYPE a counter\na_total 1\na_created 1.5e9\n# EOF\n", .families("a_total counter\n  {} 1")),
    ]

    static let invalid: [ParserCase] = [
        // No EOF, blank lines, content after EOF.
        ParserCase("empty body", "", .rejected(.missingEOF, line: 0)),
        ParserCase("samples without EOF", "a 1\n", .rejected(.missingEOF, line: 1)),
        ParserCase("blank line", "a 1\n\n# EOF\n", .rejected(.syntax, line: 2)),
        ParserCase("text after EOF", "a 1\n# EOF\nblah", .rejected(.contentAfterEOF, line: 3)),
        ParserCase("newline after EOF", "a 1\n# EOF\n\n", .rejected(.contentAfterEOF, line: 3)),
        ParserCase("text glued to EOF", "a 1\n# EOFblah", .rejected(.syntax, line: 2)),
        ParserCase("space after EOF", "a 1\n# EOF \n", .rejected(.syntax, line: 2)),
        // Label values.
        ParserCase("unquoted label value", "a{a=1} 1\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("unterminated label value", "a{a=\"1} 1\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("single quotes", "a{a='1'} 1\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("label without =", "a{a} 1\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("label without = before value", "a{a\"value\"} 1\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("label without = before empty value", "a{a\"\"} 1\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("label without value", "a{a=} 1\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("label value quote only", "a{a=\"} 1\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("missing comma", "a{a=\"1\"b=\"2\"} 1\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("double comma", "a{a=\"1\",,b=\"2\"} 1\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("trailing comma", "a{a=\"1\",b=\"2\",} 1\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("space in label set", "a{a=\"1\", b=\"2\"} 1\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("label name starting with a digit", "a{1=\"1\"} 1\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("label name starting with a digit, no space", "a{1=\"1\"}1\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("duplicate label", "a{a=\"1\",a=\"1\"} 1\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("name after label value", "a{a=\"1\"b} 1\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("digit label name with hash", "a{1=\" # \"} 1\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("duplicate label with hash", "a{a=\" # \",a=\" # \"} 1\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("no space before value", "a{a=\" # \"}1\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("label without value after hash", "a{a=\" # \",b=}1\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("name after hash value", "a{a=\" # \"b}1\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("reserved label name", "a{__name__=\"b\"} 1\n# EOF\n", .rejected(.syntax, line: 1)),
        // Missing value.
        ParserCase("no value", "a\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("no value after space", "a \n# EOF\n", .rejected(.syntax, line: 1)),
        // HELP, TYPE, UNIT.
        ParserCase("bare HELP", "# HELP\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("HELP and space", "# HELP \n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("HELP without space after the name", "# HELP a\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("HELP with a tab", "# HELP a\t\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("indented HELP", " # HELP a meh\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("bare TYPE", "# TYPE\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("TYPE and space", "# TYPE \n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("TYPE without type", "# TYPE a\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("TYPE with a tab", "# TYPE a\t\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("unknown type", "# TYPE a meh\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("unknown type and space", "# TYPE a meh \n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("space after type", "# TYPE a gauge \n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("untyped is not an OpenMetrics type", "# TYPE a untyped\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("bare UNIT", "# UNIT\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("UNIT and space", "# UNIT \n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("UNIT without unit", "# UNIT a\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("UNIT with a tab", "# UNIT a\t\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("name does not end with the unit", "# UNIT a seconds\n# EOF\n", .rejected(.invalidMetadata, line: 1)),
        ParserCase("space after unit", "# UNIT a_seconds seconds \n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("unit on info", "# TYPE x_u info\n# UNIT x_u u\n# EOF\n", .rejected(.invalidMetadata, line: 2)),
        ParserCase("unit on stateset", "# TYPE x_u stateset\n# UNIT x_u u\n# EOF\n", .rejected(.invalidMetadata, line: 2)),
        // Metadata in the wrong place, repeated, unknown.
        ParserCase("TYPE after samples", "# HELP a x\na 1\n# TYPE a gauge\n# EOF\n", .rejected(.invalidMetadata, line: 3)),
        ParserCase("HELP after samples", "# TYPE a gauge\na 1\n# HELP a gauge\n# EOF\n", .rejected(.invalidMetadata, line: 3)),
        ParserCase("UNIT after samples", "# TYPE a_s gauge\na_s 1\n# UNIT a_s s\n# EOF\n", .rejected(.invalidMetadata, line: 3)),
        ParserCase("repeated empty HELP", "# HELP a \n# HELP a \n# EOF\n", .rejected(.invalidMetadata, line: 2)),
        ParserCase("repeated HELP", "# HELP a x\n# HELP a x\n# EOF\n", .rejected(.invalidMetadata, line: 2)),
        ParserCase("repeated TYPE", "# TYPE a gauge\n# TYPE a gauge\n# EOF\n", .rejected(.invalidMetadata, line: 2)),
        ParserCase("repeated UNIT", "# UNIT a_s s\n# UNIT a_s s\n# EOF\n", .rejected(.invalidMetadata, line: 2)),
        ParserCase("unknown metadata", "# FOO a x\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("comment", "# just a comment\na 1\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("commented-out sample", "# TYPE a histogram\na_bucket{le=\"+Inf\"} 0\n#a_sum 0\n# EOF\n", .rejected(.syntax, line: 3)),
        // Names and values.
        ParserCase("name starting with a digit", "0a 1\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("dot in name", "a.b 1\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("dash in name", "a-b 1\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("word as value", "a a\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("two spaces before value", "a  1\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("tab after value", "a 1\t\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("space after value", "a 1 \n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("underscore in value", "a 1_2\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("hex float value", "a 0x1p-3\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("hex float value, capital P", "a 0x1P-3\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("binary value", "a 0b1\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("binary value, capital B", "a 0B1\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("hex value", "a 0x1\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("hex value, capital X", "a 0X1\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("octal value", "a 0o1\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("octal value, capital O", "a 0O1\n# EOF\n", .rejected(.syntax, line: 1)),
        // Timestamps.
        ParserCase("word as timestamp", "a 1 z\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("junk in timestamp", "a 1 1z\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("underscore in timestamp", "a 1 1_2\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("two dots in timestamp", "a 1 1.1.1\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("NaN timestamp", "a 1 NaN\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("Inf timestamp", "a 1 Inf\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("+Inf timestamp", "a 1 +Inf\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("-Inf timestamp", "a 1 -Inf\n# EOF\n", .rejected(.syntax, line: 1)),
        ParserCase("hex timestamp", "a 1 0x1p-3\n# EOF\n", .rejected(.syntax, line: 1)),
        // Accepted as Prometheus accepts it: int64(ts * 1000) on amd64 is the smallest int64.
        ParserCase(
            "timestamp beyond int64 milliseconds", "a 1 12345678901234567890.1234567890\n# EOF\n",
            .families("a untyped\n  {} 1 @-9223372036854775808")),
        // Exemplars.
        ParserCase("exemplar: bare hash", "# TYPE a histogram\na_bucket{le=\"+Inf\"} 1 #\n# EOF\n", .rejected(.syntax, line: 2)),
        ParserCase("exemplar: no space before hash", "# TYPE a histogram\na_bucket{le=\"+Inf\"} 1# {} 1\n# EOF\n", .rejected(.syntax, line: 2)),
        ParserCase("exemplar: no space after hash", "# TYPE a histogram\na_bucket{le=\"+Inf\"} 1 #{} 1\n# EOF\n", .rejected(.syntax, line: 2)),
        ParserCase("exemplar: no space before value", "# TYPE a histogram\na_bucket{le=\"+Inf\"} 1 # {}1\n# EOF\n", .rejected(.syntax, line: 2)),
        ParserCase("exemplar: trailing space", "# TYPE a histogram\na_bucket{le=\"+Inf\"} 1 # {} 1 \n# EOF\n", .rejected(.syntax, line: 2)),
        ParserCase("exemplar: trailing space after timestamp", "# TYPE a histogram\na_bucket{le=\"+Inf\"} 1 # {} 1 1 \n# EOF\n", .rejected(.syntax, line: 2)),
        ParserCase("exemplar: labels over 128 characters", "# TYPE a histogram\na_bucket{le=\"+Inf\"} 1 # {a=\"23456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789\"} 1 1\n# EOF\n", .rejected(.syntax, line: 2)),
        // 64 letters with a combining accent are 128 code points, plus the label name: 129.
        ParserCase(
            "exemplar: over 128 code points, combining characters",
            "# TYPE a histogram\na_bucket{le=\"+Inf\"} 1 # {a=\"" + String(repeating: "e\u{301}", count: 64) + "\"} 1 1\n# EOF\n",
            .rejected(.syntax, line: 2)),
        ParserCase("exemplar: hex value", "# TYPE a histogram\na_bucket{le=\"+Inf\"} 1 # {} 0x1p-3\n# EOF\n", .rejected(.syntax, line: 2)),
        ParserCase("exemplar: hex timestamp", "# TYPE a histogram\na_bucket{le=\"+Inf\"} 1 # {} 1 0x1p-3\n# EOF\n", .rejected(.syntax, line: 2)),
        ParserCase("exemplar: NaN timestamp", "# TYPE a histogram\na_bucket{le=\"+Inf\"} 1 # {} 1 NaN\n# EOF\n", .rejected(.syntax, line: 2)),
        ParserCase("exemplar: Inf timestamp", "# TYPE a histogram\na_bucket{le=\"+Inf\"} 1 # {} 1 +Inf\n# EOF\n", .rejected(.syntax, line: 2)),
        ParserCase("exemplar: -Inf timestamp", "# TYPE a histogram\na_bucket{le=\"+Inf\"} 1 # {} 1 -Inf\n# EOF\n", .rejected(.syntax, line: 2)),
        ParserCase("exemplar: no value", "# TYPE a counter\na_total 1 1 # {id=\"a\"}  \n# EOF\n", .rejected(.syntax, line: 2)),
        ParserCase("exemplar: no opening brace", "# TYPE a counter\na_total 1 1 # id=\"a\"} 1\n# EOF\n", .rejected(.syntax, line: 2)),
        ParserCase("exemplar: hash glued to labels", "# TYPE a counter\na_total 1 1 #id=\" # \"} 1\n# EOF\n", .rejected(.syntax, line: 2)),
        ParserCase("exemplar: no hash", "# TYPE a counter\na_total 1 1 id=\" # \"} 1\n# EOF\n", .rejected(.syntax, line: 2)),
        ParserCase("exemplar on a histogram sum", "# TYPE a histogram\na_sum 1 # {a=\"b\"} 0.5\n# EOF\n", .rejected(.syntax, line: 2)),
        ParserCase("exemplar on a gauge histogram sum", "# TYPE a gaugehistogram\na_gsum 1 # {a=\"b\"} 0.5\n# EOF\n", .rejected(.syntax, line: 2)),
        ParserCase("exemplar on a gauge called _bucket", "# TYPE a_bucket gauge\na_bucket 1 # {a=\"b\"} 0.5\n# EOF\n", .rejected(.syntax, line: 2)),
        ParserCase("exemplar on _created", "# TYPE a counter\na_created 1 # {a=\"b\"} 0.5\n# EOF\n", .rejected(.syntax, line: 2)),
        ParserCase("exemplar on a gauge", "# TYPE a gauge\na 1 # {a=\"b\"} 1\n# EOF\n", .rejected(.syntax, line: 2)),
        ParserCase("exemplar on info", "# TYPE a info\na_info 1 # {a=\"b\"} 1\n# EOF\n", .rejected(.syntax, line: 2)),
        ParserCase("exemplar on a stateset", "# TYPE a stateset\na{a=\"b\"} 1 # {c=\"d\"} 1\n# EOF\n", .rejected(.syntax, line: 2)),
        // Values per type.
        ParserCase("stateset value 2", "# TYPE a stateset\na 2\n# EOF\n", .rejected(.invalidValue, line: 2)),
        ParserCase("info sample without _info", "# TYPE a info\na 2\n# EOF\n", .rejected(.syntax, line: 2)),
        ParserCase("stateset value 2.0", "# TYPE a stateset\na 2.0\n# EOF\n", .rejected(.invalidValue, line: 2)),
        ParserCase("info sample without _info, 2.0", "# TYPE a info\na 2.0\n# EOF\n", .rejected(.syntax, line: 2)),
        ParserCase("summary sample without quantile", "# TYPE a summary\na 0\n# EOF\n", .rejected(.invalidHistogram, line: 2)),
        ParserCase("negative quantile", "# TYPE a summary\na{quantile=\"-1\"} 0\n# EOF\n", .rejected(.invalidValue, line: 2)),
        ParserCase("quantile not a number", "# TYPE a summary\na{quantile=\"foo\"} 0\n# EOF\n", .rejected(.syntax, line: 2)),
        ParserCase("quantile above 1", "# TYPE a summary\na{quantile=\"1.01\"} 0\n# EOF\n", .rejected(.invalidValue, line: 2)),
        ParserCase("NaN quantile", "# TYPE a summary\na{quantile=\"NaN\"} 0\n# EOF\n", .rejected(.invalidValue, line: 2)),
        ParserCase("bucket without le", "# TYPE a histogram\na_bucket 0\n# EOF\n", .rejected(.invalidHistogram, line: 2)),
        ParserCase("gauge histogram bucket without le", "# TYPE a gaugehistogram\na_bucket 0\n# EOF\n", .rejected(.invalidHistogram, line: 2)),
        ParserCase("stateset sample without its label", "# TYPE a stateset\na 0\n# EOF\n", .rejected(.syntax, line: 2)),
        ParserCase("NaN counter", "# TYPE a counter\na_total NaN\n# EOF\n", .rejected(.invalidValue, line: 2)),
        ParserCase("negative counter", "# TYPE a counter\na_total -1\n# EOF\n", .rejected(.invalidValue, line: 2)),
        ParserCase("NaN histogram sum", "# TYPE a histogram\na_sum NaN\n# EOF\n", .rejected(.invalidValue, line: 2)),
        ParserCase("NaN histogram count", "# TYPE a histogram\na_count NaN\n# EOF\n", .rejected(.invalidValue, line: 2)),
        ParserCase("NaN bucket", "# TYPE a histogram\na_bucket{le=\"+Inf\"} NaN\n# EOF\n", .rejected(.invalidValue, line: 2)),
        ParserCase("negative histogram sum", "# TYPE a histogram\na_sum -1\n# EOF\n", .rejected(.invalidValue, line: 2)),
        ParserCase("negative histogram count", "# TYPE a histogram\na_count -1\n# EOF\n", .rejected(.invalidValue, line: 2)),
        ParserCase("negative bucket count", "# TYPE a histogram\na_bucket{le=\"+Inf\"} -1\n# EOF\n", .rejected(.invalidValue, line: 2)),
        ParserCase("negative buckets and negative sum", "# TYPE a histogram\na_bucket{le=\"-1.0\"} 1\na_bucket{le=\"+Inf\"} 2\na_sum -1\n# EOF\n", .rejected(.invalidValue, line: 4)),
        ParserCase("negative buckets with a sum", "# TYPE a histogram\na_bucket{le=\"-1.0\"} 1\na_bucket{le=\"+Inf\"} 2\na_sum 1\n# EOF\n", .rejected(.invalidHistogram, line: 2)),
        ParserCase("fractional bucket count", "# TYPE a histogram\na_bucket{le=\"+Inf\"} 0.5\n# EOF\n", .rejected(.invalidValue, line: 2)),
        ParserCase("fractional bucket and count", "# TYPE a histogram\na_bucket{le=\"+Inf\"} 0.5\na_count 0.5\na_sum 0\n# EOF\n", .rejected(.invalidValue, line: 2)),
        ParserCase("NaN gauge histogram bucket", "# TYPE a gaugehistogram\na_bucket{le=\"+Inf\"} NaN\n# EOF\n", .rejected(.invalidValue, line: 2)),
        ParserCase("negative gauge histogram bucket and gcount", "# TYPE a gaugehistogram\na_bucket{le=\"+Inf\"} -1\na_gcount -1\n# EOF\n", .rejected(.invalidValue, line: 2)),
        ParserCase("negative gauge histogram bucket", "# TYPE a gaugehistogram\na_bucket{le=\"+Inf\"} -1\n# EOF\n", .rejected(.invalidValue, line: 2)),
        ParserCase("negative gsum without negative buckets", "# TYPE a gaugehistogram\na_bucket{le=\"+Inf\"} 1\na_gsum -1\n# EOF\n", .rejected(.invalidHistogram, line: 2)),
        ParserCase("NaN gsum", "# TYPE a gaugehistogram\na_bucket{le=\"+Inf\"} 1\na_gsum NaN\n# EOF\n", .rejected(.invalidValue, line: 3)),
        ParserCase("fractional gauge histogram bucket", "# TYPE a gaugehistogram\na_bucket{le=\"+Inf\"} 0.5\n# EOF\n", .rejected(.invalidValue, line: 2)),
        ParserCase("fractional gauge histogram bucket with gsum and gcount", "# TYPE a gaugehistogram\na_bucket{le=\"+Inf\"} 0.5\na_gsum 0.5\na_gcount 0\n# EOF\n", .rejected(.invalidValue, line: 2)),
        ParserCase("NaN summary sum", "# TYPE a summary\na_sum NaN\n# EOF\n", .rejected(.invalidValue, line: 2)),
        ParserCase("NaN summary count", "# TYPE a summary\na_count NaN\n# EOF\n", .rejected(.invalidValue, line: 2)),
        ParserCase("negative summary sum", "# TYPE a summary\na_sum -1\n# EOF\n", .rejected(.invalidValue, line: 2)),
        ParserCase("negative summary count", "# TYPE a summary\na_count -1\n# EOF\n", .rejected(.invalidValue, line: 2)),
        ParserCase("fractional summary count", "# TYPE a summary\na_count 0.5\n# EOF\n", .rejected(.invalidValue, line: 2)),
        ParserCase("negative quantile value", "# TYPE a summary\na{quantile=\"0.5\"} -1\n# EOF\n", .rejected(.invalidValue, line: 2)),
        ParserCase("info value 2", "# TYPE a info\na_info{foo=\"bar\"} 2\n# EOF\n", .rejected(.invalidValue, line: 2)),
        ParserCase("stateset value 2 with label", "# TYPE a stateset\na{a=\"bar\"} 2\n# EOF\n", .rejected(.invalidValue, line: 2)),
        // Histogram structure.
        ParserCase("histogram with only a sum", "# TYPE a histogram\na_sum 1\n# EOF\n", .rejected(.invalidHistogram, line: 2)),
        ParserCase("histogram sum without count", "# TYPE a histogram\na_bucket{le=\"+Inf\"} 0\na_sum 0\n# EOF\n", .rejected(.invalidHistogram, line: 2)),
        ParserCase("histogram count without sum", "# TYPE a histogram\na_bucket{le=\"+Inf\"} 0\na_count 0\n# EOF\n", .rejected(.invalidHistogram, line: 2)),
        ParserCase("negative bucket with sum and count", "# TYPE a histogram\na_bucket{le=\"-1\"} 0\na_bucket{le=\"+Inf\"} 0\na_sum 0\na_count 0\n# EOF\n", .rejected(.invalidHistogram, line: 2)),
        ParserCase("gauge histogram with only gsum", "# TYPE a gaugehistogram\na_gsum 1\n# EOF\n", .rejected(.invalidHistogram, line: 2)),
        ParserCase("gsum without gcount", "# TYPE a gaugehistogram\na_bucket{le=\"+Inf\"} 0\na_gsum 0\n# EOF\n", .rejected(.invalidHistogram, line: 2)),
        ParserCase("gcount without gsum", "# TYPE a gaugehistogram\na_bucket{le=\"+Inf\"} 0\na_gcount 0\n# EOF\n", .rejected(.invalidHistogram, line: 2)),
        ParserCase("negative gsum with gcount", "# TYPE a gaugehistogram\na_bucket{le=\"+Inf\"} 1\na_gsum -1\na_gcount 1\n# EOF\n", .rejected(.invalidHistogram, line: 2)),
        ParserCase("count before buckets differs from +Inf", "# TYPE a histogram\na_count 1\na_bucket{le=\"+Inf\"} 0\n# EOF\n", .rejected(.invalidHistogram, line: 2)),
        ParserCase("count differs from +Inf", "# TYPE a histogram\na_bucket{le=\"+Inf\"} 0\na_count 1\n# EOF\n", .rejected(.invalidHistogram, line: 2)),
        ParserCase("+INF spelled in capitals", "# TYPE a histogram\na_bucket{le=\"+INF\"} 0\n# EOF\n", .rejected(.syntax, line: 2)),
        ParserCase("buckets out of order", "# TYPE a histogram\na_bucket{le=\"2\"} 0\na_bucket{le=\"1\"} 0\na_bucket{le=\"+Inf\"} 0\n# EOF\n", .rejected(.invalidHistogram, line: 3)),
        ParserCase("buckets not cumulative", "# TYPE a histogram\na_bucket{le=\"1\"} 1\na_bucket{le=\"2\"} 1\na_bucket{le=\"+Inf\"} 0\n# EOF\n", .rejected(.invalidHistogram, line: 2)),
        ParserCase("duplicate bucket", "# TYPE a histogram\na_bucket{le=\"1\"} 0\na_bucket{le=\"1.0\"} 0\na_bucket{le=\"+Inf\"} 0\n# EOF\n", .rejected(.invalidHistogram, line: 3)),
        ParserCase("le on a histogram count", "# TYPE a histogram\na_bucket{le=\"+Inf\"} 0\na_count{le=\"+Inf\"} 0\n# EOF\n", .rejected(.invalidHistogram, line: 3)),
        ParserCase("no +Inf bucket", "# TYPE a histogram\na_bucket{le=\"1\"} 0\n# EOF\n", .rejected(.invalidHistogram, line: 2)),
        // Grouping and ordering.
        ParserCase("histogram series interleaved", "# TYPE a histogram\na_sum{a=\"1\"} 0\na_sum{a=\"2\"} 0\na_count{a=\"1\"} 0\n# EOF\n", .rejected(.duplicateSeries, line: 4)),
        ParserCase("malformed le while interleaving", "# TYPE a histogram\na_bucket{a=\"1\",le=\"1\"} 0\na_bucket{a=\"2\",le=\"+Inf\"\"} 0\na_bucket{a=\"1\",le=\"+Inf\"} 0\n# EOF\n", .rejected(.syntax, line: 3)),
        ParserCase("histogram buckets interleaved", "# TYPE a histogram\na_bucket{a=\"1\",le=\"1\"} 0\na_bucket{a=\"2\",le=\"+Inf\"} 0\na_bucket{a=\"1\",le=\"+Inf\"} 0\n# EOF\n", .rejected(.duplicateSeries, line: 4)),
        ParserCase("gauge histogram series interleaved", "# TYPE a gaugehistogram\na_gsum{a=\"1\"} 0\na_gsum{a=\"2\"} 0\na_gcount{a=\"1\"} 0\n# EOF\n", .rejected(.duplicateSeries, line: 4)),
        ParserCase("summary split by another family", "# TYPE a summary\nquantile{quantile=\"0\"} 0\na_sum{a=\"1\"} 0\nquantile{quantile=\"1\"} 0\n# EOF\n", .rejected(.invalidMetadata, line: 3)),
        ParserCase("family split by another", "# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na 2\n# EOF\n", .rejected(.duplicateSeries, line: 5)),
        ParserCase("series split by another", "# TYPE a gauge\na{x=\"1\"} 1\na{x=\"2\"} 1\na{x=\"1\"} 2\n# EOF\n", .rejected(.duplicateSeries, line: 4)),
        ParserCase("decreasing timestamps", "# TYPE a gauge\na 0 -1\na 0 -2\n# EOF\n", .rejected(.duplicateSeries, line: 3)),
        ParserCase("decreasing fractional timestamps", "# TYPE a gauge\na 0 -1\na 0 -1.1\n# EOF\n", .rejected(.duplicateSeries, line: 3)),
        ParserCase("timestamp going negative", "# TYPE a gauge\na 0 1\na 0 -1\n# EOF\n", .rejected(.duplicateSeries, line: 3)),
        ParserCase("timestamp going back", "# TYPE a gauge\na 0 1.1\na 0 1\n# EOF\n", .rejected(.duplicateSeries, line: 3)),
        ParserCase("timestamp going to zero", "# TYPE a gauge\na 0 1\na 0 0\n# EOF\n", .rejected(.duplicateSeries, line: 3)),
        ParserCase("timestamp after none", "# TYPE a gauge\na 0\na 0 0\n# EOF\n", .rejected(.duplicateSeries, line: 3)),
        ParserCase("no timestamp after one", "# TYPE a gauge\na 0 0\na 0\n# EOF\n", .rejected(.duplicateSeries, line: 3)),
        // Clashing names.
        ParserCase("TYPE repeated", "# TYPE a counter\n# TYPE a counter\n# EOF\n", .rejected(.invalidMetadata, line: 2)),
        ParserCase("second TYPE of another type", "# TYPE a info\n# TYPE a counter\n# EOF\n", .rejected(.invalidMetadata, line: 2)),
        ParserCase("counter clashing with a gauge on _created", "# TYPE a_created gauge\n# TYPE a counter\n# EOF\n", .rejected(.invalidMetadata, line: 2)),
        ParserCase("gauge named like a counter's samples", "# TYPE a counter\na_total 1\n# TYPE a_total gauge\na_total 2\n# EOF\n", .rejected(.invalidMetadata, line: 3)),
        // Lines.
        ParserCase("CRLF", "a 1\r\n# EOF\r\n", .rejected(.syntax, line: 1)),
        ParserCase("blank line in the middle", "# TYPE a gauge\na 1\n \n# EOF\n", .rejected(.syntax, line: 3)),
    ]

    @Test(arguments: valid) func validInput(_ c: ParserCase) { c.check(.openMetrics) }
    @Test(arguments: invalid) func invalidInput(_ c: ParserCase) { c.check(.openMetrics) }

    @Test func invalidUTF8() {
        let bytes = Array("# TYPE a gauge\na{x=\"".utf8) + [0xF5, 0x80] + Array("\"} 1\n# EOF\n".utf8)
        #expect(throws: ScrapeError(.invalidUTF8, line: 2, "invalid UTF-8")) {
            try ScrapeParser.parse(bytes, format: .openMetrics)
        }
    }

    @Test func formatFollowsContentType() {
        #expect(ScrapeFormat(contentType: "application/openmetrics-text; version=1.0.0; charset=utf-8") == .openMetrics)
        #expect(ScrapeFormat(contentType: "Application/OpenMetrics-Text") == .openMetrics)
        #expect(ScrapeFormat(contentType: "text/plain; version=0.0.4") == .text)
        #expect(ScrapeFormat(contentType: "application/json") == .text)
        #expect(ScrapeFormat(contentType: nil) == .text)
        // An OpenMetrics body with a text content type parses as text: "# EOF" is a comment there.
        let body = Array("a_total 1\n# EOF\n".utf8)
        #expect(describe(try! ScrapeParser.parse(body, contentType: "text/plain")) == "a_total untyped\n  {} 1")
    }
}
