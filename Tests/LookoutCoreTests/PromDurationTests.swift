import LookoutCore
import Testing

@Suite struct PromDurationTests {
    @Test func parsesPrometheusDurations() throws {
        #expect(try PromDuration.parseMilliseconds("500ms") == 500)
        #expect(try PromDuration.parseMilliseconds("15s") == 15_000)
        #expect(try PromDuration.parseMilliseconds("1m30s") == 90_000)
        #expect(try PromDuration.parseMilliseconds("1h") == 3_600_000)
        #expect(try PromDuration.parseMilliseconds("1d2h") == 26 * 3_600_000)
        #expect(try PromDuration.parseMilliseconds("1w") == 7 * 24 * 3_600_000)
        #expect(try PromDuration.parseMilliseconds("1y") == 365 * 24 * 3_600_000)
        #expect(try PromDuration.parseMilliseconds("0") == 0)
        #expect(try PromDuration.parseMilliseconds("1m500ms") == 60_500)
    }

    @Test(arguments: ["", "5", "1.5s", "s", "1x", "30s1m", "1s1s", "-1s", "1 s", "99999999999999999999y"])
    func rejectsInvalid(_ text: String) {
        #expect(throws: PromDuration.ParseError.self) { try PromDuration.parseMilliseconds(text) }
    }

    @Test func formatsLikePrometheus() {
        #expect(PromDuration.format(milliseconds: 0) == "0s")
        #expect(PromDuration.format(milliseconds: 90_000) == "1m30s")
        #expect(PromDuration.format(milliseconds: 500) == "500ms")
        #expect(PromDuration.format(milliseconds: 86_400_000) == "1d")
    }

    @Test func parsesSizes() throws {
        #expect(try ByteSize.parse("10MiB") == 10 << 20)
        #expect(try ByteSize.parse("512") == 512)
        #expect(try ByteSize.parse("1GB") == 1_000_000_000)
        #expect(throws: ByteSize.ParseError.self) { try ByteSize.parse("10 potatoes") }
    }
}
