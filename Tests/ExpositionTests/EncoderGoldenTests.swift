import Series
import Testing
@testable import Exposition

/// Byte-exact outputs for the cases where formats are easy to get wrong.
@Suite struct EncoderGoldenTests {
    static let tricky: [MetricFamily] = [
        MetricFamily(
            name: "http_requests_total", help: "Requests \\ handled.\nSecond \"line\".", type: .counter, unit: "",
            metrics: [
                Metric(labels: ["path": "C:\\dir\\", "q": "say \"hi\"\nbye"], 1027),
                Metric(labels: ["path": "/ünïcødé", "q": ""], value: .single(3), timestampMilliseconds: 1_395_066_363_000),
            ]),
        MetricFamily(
            name: "rpc_duration_seconds", help: "RPC latency.", type: .summary, unit: "seconds",
            metrics: [
                Metric(
                    labels: [:],
                    value: .summary(
                        SummaryValue(
                            quantiles: [.init(quantile: 0.01, value: 3102), .init(quantile: 0.5, value: 4773)],
                            sum: 1.7560473e+07, count: 2693)))
            ]),
        MetricFamily(
            name: "request_size_bytes", help: "", type: .histogram, unit: "bytes",
            metrics: [
                Metric(
                    labels: ["method": "GET"],
                    value: .histogram(
                        HistogramValue(
                            buckets: [
                                .init(upperBound: 0.1, cumulativeCount: 1), .init(upperBound: 1e6, cumulativeCount: 5),
                                .init(upperBound: .infinity, cumulativeCount: 7),
                            ], sum: 1234567.5, count: 7)))
            ]),
        .gauge("temperature", help: "Specials.", [(["x": "a"], .nan), (["x": "b"], -.infinity), (["x": "c"], 0.5)]),
        MetricFamily(name: "no_metrics", help: "left out", type: .gauge),
        MetricFamily(
            name: "build", help: "Build.", type: .info, metrics: [Metric(labels: ["version": "1"], 1)]),
    ]

    @Test func textGolden() {
        let out = TextEncoder.encode(Self.tricky).string
        let expected = #"""
            # HELP http_requests_total Requests \\ handled.\nSecond "line".
            # TYPE http_requests_total counter
            http_requests_total{path="C:\\dir\\",q="say \"hi\"\nbye"} 1027
            http_requests_total{path="/ünïcødé",q=""} 3 1395066363000
            # HELP rpc_duration_seconds RPC latency.
            # TYPE rpc_duration_seconds summary
            rpc_duration_seconds{quantile="0.01"} 3102
            rpc_duration_seconds{quantile="0.5"} 4773
            rpc_duration_seconds_sum 17560473
            rpc_duration_seconds_count 2693
            # TYPE request_size_bytes histogram
            request_size_bytes_bucket{method="GET",le="0.1"} 1
            request_size_bytes_bucket{method="GET",le="1e+06"} 5
            request_size_bytes_bucket{method="GET",le="+Inf"} 7
            request_size_bytes_sum{method="GET"} 1.2345675e+06
            request_size_bytes_count{method="GET"} 7
            # HELP temperature Specials.
            # TYPE temperature gauge
            temperature{x="a"} NaN
            temperature{x="b"} -Inf
            temperature{x="c"} 0.5
            # HELP build Build.
            # TYPE build gauge
            build{version="1"} 1

            """#
        #expect(out == expected)
    }

    @Test func openMetricsGolden() {
        let out = OpenMetricsEncoder.encode(Self.tricky).string
        let expected = #"""
            # HELP http_requests Requests \\ handled.\nSecond \"line\".
            # TYPE http_requests counter
            http_requests_total{path="C:\\dir\\",q="say \"hi\"\nbye"} 1027
            http_requests_total{path="/ünïcødé",q=""} 3 1395066363
            # HELP rpc_duration_seconds RPC latency.
            # TYPE rpc_duration_seconds summary
            # UNIT rpc_duration_seconds seconds
            rpc_duration_seconds{quantile="0.01"} 3102
            rpc_duration_seconds{quantile="0.5"} 4773
            rpc_duration_seconds_count 2693
            rpc_duration_seconds_sum 17560473
            # TYPE request_size_bytes histogram
            # UNIT request_size_bytes bytes
            request_size_bytes_bucket{method="GET",le="0.1"} 1
            request_size_bytes_bucket{method="GET",le="1e+06"} 5
            request_size_bytes_bucket{method="GET",le="+Inf"} 7
            request_size_bytes_count{method="GET"} 7
            request_size_bytes_sum{method="GET"} 1.2345675e+06
            # HELP temperature Specials.
            # TYPE temperature gauge
            temperature{x="a"} NaN
            temperature{x="b"} -Inf
            temperature{x="c"} 0.5
            # HELP build Build.
            # TYPE build info
            build_info{version="1"} 1
            # EOF

            """#
        #expect(out == expected)
    }

    @Test func counterWithoutTotalGetsItOnSamplesInOpenMetrics() {
        let f = [MetricFamily.counter("jobs_done", help: "Jobs.", [([:], 5)])]
        #expect(OpenMetricsEncoder.encode(f).string == "# HELP jobs_done Jobs.\n# TYPE jobs_done counter\njobs_done_total 5\n# EOF\n")
        #expect(TextEncoder.encode(f).string == "# HELP jobs_done Jobs.\n# TYPE jobs_done counter\njobs_done 5\n")
    }

    @Test func unitOnlyWhenTheNameEndsWithIt() {
        let f = [MetricFamily.gauge("queue_length", help: "", unit: "seconds", [([:], 1)])]
        #expect(OpenMetricsEncoder.encode(f).string == "# TYPE queue_length gauge\nqueue_length 1\n# EOF\n")
    }

    @Test func openMetricsOnlyTypesInText() {
        let out = TextEncoder.encode(Fixtures.openMetricsOnly).string
        #expect(out.contains("# TYPE lookout_target_info gauge\nlookout_target_info{target=\"api\",version=\"1.2\"} 1\n"))
        #expect(out.contains("# TYPE lookout_circuit_state gauge\n"))
        #expect(out.contains("# TYPE lookout_queue_wait_seconds histogram\n"))
        #expect(out.contains("lookout_queue_wait_seconds_bucket{le=\"+Inf\"} 3\n"))
        #expect(out.contains("lookout_queue_wait_seconds_sum 4.5\nlookout_queue_wait_seconds_count 3\n"))
    }

    @Test func openMetricsOnlyTypesInOpenMetrics() {
        let out = OpenMetricsEncoder.encode(Fixtures.openMetricsOnly).string
        #expect(out.contains("# TYPE lookout_target info\nlookout_target_info{target=\"api\",version=\"1.2\"} 1\n"))
        #expect(out.contains("# TYPE lookout_circuit_state stateset\nlookout_circuit_state{lookout_circuit_state=\"closed\",target=\"api\"} 1\n"))
        #expect(out.contains("# TYPE lookout_queue_wait_seconds gaugehistogram\n# UNIT lookout_queue_wait_seconds seconds\n"))
        #expect(out.contains("lookout_queue_wait_seconds_gcount 3\nlookout_queue_wait_seconds_gsum 4.5\n"))
        #expect(out.hasSuffix("# EOF\n"))
    }

    @Test func histogramWithoutInfBucketGetsOne() {
        let h = HistogramValue(buckets: [.init(upperBound: 1, cumulativeCount: 2)], sum: 3, count: 4)
        let f = [MetricFamily.histogram("h", help: "", [([:], h)])]
        #expect(
            TextEncoder.encode(f).string
                == "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 4\nh_sum 3\nh_count 4\n")
    }

    @Test func negativeBucketHistogramHasNoSumInOpenMetrics() throws {
        let h = HistogramValue(
            buckets: [.init(upperBound: -1, cumulativeCount: 1), .init(upperBound: .infinity, cumulativeCount: 2)], sum: -3,
            count: 2)
        let out = OpenMetricsEncoder.encode([MetricFamily.histogram("h", help: "", [([:], h)])])
        #expect(out.string == "# TYPE h histogram\nh_bucket{le=\"-1\"} 1\nh_bucket{le=\"+Inf\"} 2\n# EOF\n")
        // and our own parser, which follows the specification, accepts it
        _ = try ScrapeParser.parse(out, format: .openMetrics)
    }

    @Test func encodingAppendsToAReusedBuffer() {
        var buffer = Array("prefix\n".utf8)
        TextEncoder.encode([.gauge("g", help: "", [([:], 1)])], into: &buffer)
        #expect(buffer.string == "prefix\n# TYPE g gauge\ng 1\n")
    }
}
