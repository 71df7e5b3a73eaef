import Series
import Testing
import TestSupport
@testable import Exposition

@Suite struct RoundTripTests {
    /// Text 0.0.4 has no UNIT; everything else survives.
    @Test func textEncodeThenParse() throws {
        let families = Fixtures.allTypes
        let parsed = try ScrapeParser.parse(TextEncoder.encode(families), format: .text)
        let expected = families.map { f in
            var f = f
            f.unit = ""
            return f
        }
        #expect(sameFamilies(parsed, expected), "\(describe(parsed))\n---\n\(describe(expected))")
    }

    @Test func openMetricsEncodeThenParse() throws {
        let families = Fixtures.allTypes + Fixtures.openMetricsOnly
        let parsed = try ScrapeParser.parse(OpenMetricsEncoder.encode(families), format: .openMetrics)
        #expect(sameFamilies(parsed, families), "\(describe(parsed))\n---\n\(describe(families))")
    }

    /// Parsing and encoding again gives the same bytes (what the agent does when it
    /// re-exposes a scrape).
    @Test func parseThenEncodeIsStable() throws {
        let text = TextEncoder.encode(Fixtures.allTypes)
        #expect(TextEncoder.encode(try ScrapeParser.parse(text, format: .text)) == text)
        let om = OpenMetricsEncoder.encode(Fixtures.allTypes + Fixtures.openMetricsOnly)
        #expect(OpenMetricsEncoder.encode(try ScrapeParser.parse(om, format: .openMetrics)) == om)
    }

    @Test func reexposedScrapeWithTargetLabelRoundTrips() throws {
        let scraped = try ScrapeParser.parse(TextEncoder.encode(Fixtures.agent), format: .text)
        let exposed = relabel(scraped, adding: ("target", "participant"))
        let again = try ScrapeParser.parse(OpenMetricsEncoder.encode(exposed), format: .openMetrics)
        #expect(again.allSatisfy { $0.metrics.allSatisfy { $0.labels["target"] == "participant" } })
        let inFlight = try #require(again.first { $0.name == "scraped_requests_in_flight" })
        #expect(inFlight.metrics[0].labels["exported_target"] == "api")
    }

    @Test(.timeLimit(.minutes(1)))
    func promtoolAcceptsTheTextExposition() throws {
        let promtool = try #require(Shell.which("promtool"), "promtool (Debian package prometheus) is required")
        let dir = TemporaryDirectory(prefix: "lookout-promtool")
        let file = dir.write("metrics.prom", TextEncoder.encode(Fixtures.agent + Fixtures.openMetricsOnly))
        let result = Shell.run(["/bin/sh", "-c", "\(promtool) check metrics < \(file)"])
        #expect(result.status == 0)
        #expect(result.output == "", "promtool said: \(result.output)")
        // promtool is not a rubber stamp: a counter without _total and without HELP is reported.
        let bad = dir.write("bad.prom", TextEncoder.encode([.counter("requests", help: "", [([:], 1)])]))
        let complaint = Shell.run(["/bin/sh", "-c", "\(promtool) check metrics < \(bad)"])
        #expect(complaint.status != 0)
        #expect(complaint.output.contains("requests"))
    }
}
