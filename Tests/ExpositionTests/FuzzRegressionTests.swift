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
}
