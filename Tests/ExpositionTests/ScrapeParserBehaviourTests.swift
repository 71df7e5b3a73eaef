import Series
import TestSupport
import Testing
@testable import Exposition

/// Limits, streaming, and never crashing or returning a partial result.
@Suite struct ScrapeParserBehaviourTests {
    static let body = Fixtures.text(
        """
        # TYPE http_requests_total counter
        http_requests_total{code="200",method="get"} 1027
        http_requests_total{code="400",method="post"} 3
        # TYPE latency_seconds histogram
        latency_seconds_bucket{le="0.1"} 1
        latency_seconds_bucket{le="+Inf"} 2
        latency_seconds_sum 0.5
        latency_seconds_count 2

        """)

    @Test func sampleLimit() throws {
        #expect(try ScrapeParser.parse(Self.body, format: .text, limits: ScrapeLimits(sampleLimit: 6)).count == 2)
        #expect(throws: ScrapeError(.sampleLimit, line: 8, "more than 5 samples")) {
            try ScrapeParser.parse(Self.body, format: .text, limits: ScrapeLimits(sampleLimit: 5))
        }
    }

    @Test func labelLimits() throws {
        let limits = ScrapeLimits(labelLimit: 2, labelNameLengthLimit: 6, labelValueLengthLimit: 4)
        #expect(try ScrapeParser.parse(Self.body, format: .text, limits: limits).count == 2)
        let tooMany = Fixtures.text("a{x=\"1\",y=\"2\",z=\"3\"} 1\n")
        #expect(throws: ScrapeError(.labelLimit, line: 1, "3 labels, more than the limit of 2")) {
            try ScrapeParser.parse(tooMany, format: .text, limits: limits)
        }
        let longName = Fixtures.text("a 1\na{method_x=\"1\"} 1\n")
        let e1 = #expect(throws: ScrapeError.self) { try ScrapeParser.parse(longName, format: .text, limits: limits) }
        #expect(e1?.reason == .labelNameLength && e1?.line == 2)
        let longValue = Fixtures.text("# TYPE a gauge\na{m=\"12345\"} 1\n# EOF\n")
        let e2 = #expect(throws: ScrapeError.self) { try ScrapeParser.parse(longValue, format: .openMetrics, limits: limits) }
        #expect(e2?.reason == .labelValueLength && e2?.line == 2)
        // The limit applies to the value after unescaping: `\"\"\"\"` is four bytes.
        let escaped = Fixtures.text("a{m=\"\\\"\\\"\\\"\\\"\"} 1\n")
        #expect(try ScrapeParser.parse(escaped, format: .text, limits: limits)[0].metrics[0].labels["m"] == "\"\"\"\"")
    }

    @Test func bodySizeLimitWhileStreaming() throws {
        var p = ScrapeParser(format: .text, limits: ScrapeLimits(bodySizeLimit: 100))
        try p.feed(Array(Self.body[0..<90]))
        #expect(throws: ScrapeError(.bodySizeLimit, line: 0, "body larger than 100 bytes")) {
            try p.feed(Array(Self.body[90..<120]))
        }
        // A failed parser stays failed.
        #expect(throws: ScrapeError.self) { try p.finish() }
    }

    /// Feeding the body in pieces of any size gives what parsing it whole gives.
    @Test func chunkedFeedingMatchesWholeParsing() throws {
        let cases: [(ScrapeFormat, [UInt8])] = [
            (.text, TextEncoder.encode(Fixtures.allTypes)),
            (.openMetrics, OpenMetricsEncoder.encode(Fixtures.allTypes + Fixtures.openMetricsOnly)),
            (.text, Fixtures.text("a 1\nb{x=\"ü\"} 2")),
        ]
        for (format, bytes) in cases {
            let whole = try ScrapeParser.parse(bytes, format: format)
            for size in [1, 2, 3, 7, 64, 4096] {
                var p = ScrapeParser(format: format)
                var i = 0
                while i < bytes.count {
                    try p.feed(Array(bytes[i..<min(i + size, bytes.count)]))
                    i += size
                }
                #expect(sameFamilies(try p.finish(), whole), "chunks of \(size)")
            }
        }
    }

    @Test func errorsCarryTheLineAcrossChunks() throws {
        var p = ScrapeParser(format: .text)
        try p.feed(Fixtures.text("a 1\nb 2\nc"))
        try p.feed(Fixtures.text(" 3\nd{"))
        #expect(throws: ScrapeError.self) { try p.feed(Fixtures.text("=\"x\"} 4\n")) }
        var q = ScrapeParser(format: .text)
        try q.feed(Fixtures.text("a 1\nb 2\nc"))
        try q.feed(Fixtures.text(" 3\nd{"))
        let e = #expect(throws: ScrapeError.self) {
            try q.feed(Fixtures.text("=\"x\"} 4\n"))
        }
        #expect(e?.line == 4 && e?.reason == .syntax)
    }

    @Test func openMetricsEOFSplitAcrossChunks() throws {
        var p = ScrapeParser(format: .openMetrics)
        try p.feed(Fixtures.text("a 1\n# EO"))
        try p.feed(Fixtures.text("F"))
        #expect(describe(try p.finish()) == "a untyped\n  {} 1")
        var q = ScrapeParser(format: .openMetrics)
        try q.feed(Fixtures.text("a 1\n# EOF\n"))
        #expect(throws: ScrapeError(.contentAfterEOF, line: 3, "content after # EOF")) { try q.feed(Fixtures.text("b 2\n")) }
    }

    @Test func errorMessagesQuoteTheInput() {
        let e = #expect(throws: ScrapeError.self) {
            try ScrapeParser.parse(Fixtures.text("metric{label=\"bla\"} blubb\n"), format: .text)
        }
        #expect(e?.description == "line 1: expected float as value, got \"blubb\"")
        let long = #expect(throws: ScrapeError.self) {
            try ScrapeParser.parse(Fixtures.text("m " + String(repeating: "x", count: 500) + "\n"), format: .text)
        }
        #expect((long?.message.count ?? 1000) < 120)
        #expect(ScrapeError.Reason.allCases.allSatisfy { !$0.rawValue.contains(" ") })
    }

    /// Random damage to valid expositions: the parser returns families or a typed error,
    /// never crashes, and its answer does not depend on how the body is chunked.
    @Test func damagedInputNeverCrashes() throws {
        var rng = SplitMix(seed: 0x5EED)
        let seeds: [(ScrapeFormat, [UInt8])] = [
            (.text, TextEncoder.encode(Fixtures.allTypes)),
            (.openMetrics, OpenMetricsEncoder.encode(Fixtures.allTypes + Fixtures.openMetricsOnly)),
        ]
        let alphabet = Array("{}=\",# \n\\.eE+-0123456789aInfNa_:\t\u{0}".utf8) + [0xC3, 0xFF, 0x80]
        var rejected = 0
        var accepted = 0
        for round in 0..<3000 {
            let (format, seed) = seeds[round % seeds.count]
            var bytes = seed
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                let i = Int(rng.next() % UInt64(bytes.count))
                switch rng.next() % 3 {
                case 0: bytes[i] = alphabet[Int(rng.next() % UInt64(alphabet.count))]
                case 1: bytes.remove(at: i)
                default: bytes.insert(alphabet[Int(rng.next() % UInt64(alphabet.count))], at: i)
                }
            }
            let whole: Result<[MetricFamily], ScrapeError>
            do throws(ScrapeError) { whole = .success(try ScrapeParser.parse(bytes, format: format)) } catch { whole = .failure(error) }
            var p = ScrapeParser(format: format)
            let chunked: Result<[MetricFamily], ScrapeError>
            do throws(ScrapeError) {
                var i = 0
                while i < bytes.count {
                    let n = 1 + Int(rng.next() % 97)
                    try p.feed(Array(bytes[i..<min(i + n, bytes.count)]))
                    i += n
                }
                chunked = .success(try p.finish())
            } catch {
                chunked = .failure(error)
            }
            switch (whole, chunked) {
            case (.success(let a), .success(let b)):
                accepted += 1
                #expect(sameFamilies(a, b))
            case (.failure(let a), .failure(let b)):
                rejected += 1
                #expect(a == b)
            default:
                Issue.record("chunking changed the outcome for round \(round)")
            }
        }
        #expect(rejected > 1000 && accepted > 0, "rejected \(rejected), accepted \(accepted)")
    }

    @Test func pathologicalInputs() throws {
        // Each is refused at its first line with a syntax error whose message quotes a bounded excerpt.
        let refused: [(ScrapeFormat, [UInt8], String)] = [
            (.text, [UInt8](repeating: UInt8(ascii: "{"), count: 10000), "invalid metric name"),
            (.text, Array("a{".utf8) + [UInt8](repeating: UInt8(ascii: "\\"), count: 9999), "invalid label name"),
            (.openMetrics, [UInt8](repeating: 0x0A, count: 1000), "empty line"),
            (.openMetrics, [UInt8](repeating: UInt8(ascii: "#"), count: 1000), "invalid comment"),
            (.text, [UInt8](repeating: 0, count: 1000), "invalid metric name"),
            (.text, Array((0..<256).map { UInt8($0) }), "invalid metric name"),
        ]
        for (format, bytes, message) in refused {
            #expect(throws: ScrapeError.self) { try ScrapeParser.parse(bytes, format: format) }
            do throws(ScrapeError) {
                _ = try ScrapeParser.parse(bytes, format: format)
            } catch {
                #expect(error.reason == .syntax)
                #expect(error.line == 1)
                #expect(error.message.hasPrefix(message), "\(error.message)")
                #expect(error.message.utf8.count < 200, "an excerpt, not the body: \(error.message.utf8.count) bytes")
            }
        }
        // A 100,000-digit number overflows to +Inf like Go's ParseFloat.
        let huge = try ScrapeParser.parse(
            Array("a ".utf8) + [UInt8](repeating: UInt8(ascii: "9"), count: 100_000) + [0x0A], format: .text)
        #expect(huge.count == 1 && huge[0].metrics[0].value.singleValue == .infinity)
        // A long number is a number.
        let big = try ScrapeParser.parse(Array("a ".utf8) + [UInt8](repeating: UInt8(ascii: "9"), count: 400) + [0x0A], format: .text)
        #expect(big[0].metrics[0].value.singleValue == .infinity)
    }
}
