import Series
import Testing
@testable import Exposition

/// Inputs the fuzzer (Tests/Fuzz, target fuzz-exposition) found breaking the parser or one
/// of its properties, byte for byte (without the fuzzer's control byte). Each must now give
/// families or a `ScrapeError`, and what parses must survive encoding and parsing again.
@Suite struct ExpositionFuzzRegressionTests {
    /// OpenMetrics keeps the blanks after `# HELP name `; text 0.0.4 cannot carry them (its
    /// parsers skip blanks before the text, as Prometheus' does), so a re-encoded scrape
    /// loses them and nothing else.
    /// crashes/exposition/crash-dbe7072db507b65cd2b0c9266ab822b5487d10ad (OpenMetrics)
    @Test func helpWithLeadingBlanks() throws {
        let input = "# TYPE a gaugehistogram\n# HELP a  2 123 # {a=\"c\"} 0.5\na_bucket{le=\"+Inf\"} 1 123 # {a=\"d\"} 4 123\n# EOF\n"
        let families = try ScrapeParser.parse(Array(input.utf8), format: .openMetrics)
        #expect(families.map(\.help) == [" 2 123 # {a=\"c\"} 0.5"])
        let text = try ScrapeParser.parse(TextEncoder.encode(families), format: .text)
        #expect(text.map(\.help) == ["2 123 # {a=\"c\"} 0.5"])
        #expect(text.map(\.metrics) == families.map(\.metrics))
        let om = try ScrapeParser.parse(OpenMetricsEncoder.encode(families), format: .openMetrics)
        #expect(om == families)
    }

    /// A family named like a gauge histogram's text-form sum would clash with it in text
    /// 0.0.4 (`a_sum` twice), so OpenMetrics input that has both is refused, in either order.
    /// crashes/exposition/crash-2099591667ef266edf1a8a7511df162d5b3ecf23 (OpenMetrics)
    @Test func gaugeHistogramClashesWithAFamilyNamedLikeItsTextSum() throws {
        let input = "# TYPE a gaugehistogram\n# HELP a help\na_bucket{le=\"1.0\"} 0\na_bucket{le=\"+Inf\"} 3\na_sum 2\n# EOF\n"
        #expect(throws: ScrapeError.self) { try ScrapeParser.parse(Array(input.utf8), format: .openMetrics) }
        let reversed = "# TYPE a_count gauge\na_count 1\n# TYPE a gaugehistogram\na_bucket{le=\"+Inf\"} 3\na_gcount 3\n# EOF\n"
        do {
            _ = try ScrapeParser.parse(Array(reversed.utf8), format: .openMetrics)
            Issue.record("a_count and gauge histogram a were both accepted")
        } catch {
            #expect(error.description.contains("clashes"), "\(error)")
        }
        let alone = "# TYPE a gaugehistogram\na_bucket{le=\"+Inf\"} 3\na_gcount 3\na_gsum 2\n# EOF\n"
        let families = try ScrapeParser.parse(Array(alone.utf8), format: .openMetrics)
        let text = try ScrapeParser.parse(TextEncoder.encode(families), format: .text)
        #expect(text.map(\.name) == ["a"])
    }

    /// A summary may carry `_count` without `_sum` (OpenMetrics asks both together only of
    /// histograms): both encoders re-expose the count it came with.
    /// crashes/exposition/crash-d3dcef67a2ed21faccdebf1aa8d85d91c6f04662 (OpenMetrics)
    @Test func summaryWithCountAndNoSum() throws {
        let input = "# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_count 99\n# TYPE t summary\nt{quantile=\"0.5\"} 1\nt_sum 4\n# EOF\n"
        let families = try ScrapeParser.parse(Array(input.utf8), format: .openMetrics)
        guard case .summary(let s) = families.first?.metrics.first?.value, case .summary(let t) = families.last?.metrics.first?.value else {
            Issue.record("not two summaries: \(families)")
            return
        }
        #expect(s.count == 99 && !s.countMissing && s.sumMissing)
        #expect(t.sum == 4 && t.countMissing && !t.sumMissing)
        let om = OpenMetricsEncoder.encode(families)
        #expect(String(decoding: om, as: UTF8.self).contains("s_count 99\n"))
        #expect(try ScrapeParser.parse(om, format: .openMetrics) == families)
        #expect(try ScrapeParser.parse(TextEncoder.encode(families), format: .text).map(\.metrics) == families.map(\.metrics))
    }
}
