import Series
import Testing
@testable import Exposition

@Suite struct NumberFormattingTests {
    /// Expected strings printed by Go's `strconv.FormatFloat(v, 'g', -1, 64)` (go1.19 on this machine).
    static let goCases: [(Double, String)] = [
        (0.1, "0.1"), (1, "1"), (2.5, "2.5"), (0.005, "0.005"), (0.01, "0.01"), (0.025, "0.025"), (0.05, "0.05"),
        (0.25, "0.25"), (0.5, "0.5"), (10, "10"), (100000, "100000"), (1e6, "1e+06"), (1234567, "1.234567e+06"),
        (1.55555555555552e+06, "1.55555555555552e+06"), (1e23, "1e+23"), (1e-05, "1e-05"), (0.0001, "0.0001"),
        (0.00011, "0.00011"), (123.456, "123.456"), (-0.5, "-0.5"), (-1e-07, "-1e-07"),
        (1.7976931348623157e308, "1.7976931348623157e+308"), (Double.leastNonzeroMagnitude, "5e-324"), (1e21, "1e+21"), (1e20, "1e+20"),
        (123456789012, "1.23456789012e+11"), (0.013300656000000001, "0.013300656000000001"),
        (1756047.3, "1.7560473e+06"), (2478268416, "2.478268416e+09"), (3.14e42, "3.14e+42"), (-12.34, "-12.34"),
        (1e15, "1e+15"), (999999, "999999"), (9999999, "9.999999e+06"), (0.30000000000000004, "0.30000000000000004"),
        (3.141592653589793, "3.141592653589793"), (1.0 / 3, "0.3333333333333333"), (100, "100"), (7e-10, "7e-10"),
        (0, "0"), (-0.0, "0"), (.infinity, "+Inf"), (-.infinity, "-Inf"), (.nan, "NaN"),
    ]

    @Test(arguments: goCases)
    func goFloatFormatting(_ value: Double, _ expected: String) {
        #expect(ExpositionNumber.goString(value) == expected)
    }

    @Test func sampleValuesPrintIntegersPlainly() {
        #expect(ExpositionNumber.sampleString(2478268416) == "2478268416")
        #expect(ExpositionNumber.sampleString(-42) == "-42")
        #expect(ExpositionNumber.sampleString(999_999_999_999_999) == "999999999999999")
        #expect(ExpositionNumber.sampleString(1e15) == "1e+15")
        #expect(ExpositionNumber.sampleString(0.25) == "0.25")
        #expect(ExpositionNumber.sampleString(-0.0) == "0")
        #expect(ExpositionNumber.sampleString(.nan) == "NaN")
        #expect(ExpositionNumber.sampleString(-.infinity) == "-Inf")
    }

    @Test func openMetricsTimestampsAreExactSeconds() {
        func s(_ ms: Int64) -> String {
            var out: [UInt8] = []
            out.appendSecondsFromMilliseconds(ms)
            return out.string
        }
        #expect(s(0) == "0")
        #expect(s(1_520_430_000_123) == "1520430000.123")
        #expect(s(1500) == "1.5")
        #expect(s(1050) == "1.05")
        #expect(s(1005) == "1.005")
        #expect(s(-1500) == "-1.5")
        #expect(s(-5) == "-0.005")
        #expect(s(120_000) == "120")
    }

    @Test func floatParsingMatchesTheStandardLibrary() throws {
        let cases = [
            "0", "1", "-1", "+1", "1.5", ".5", "5.", "08", "1e3", "1E-3", "-2.5e+10", "0.013300656000000001",
            "1.7976931348623157e308", "5e-324", "4.9e-324", "123456789012345678901234567890", "0.1", "0.3",
            "9007199254740993", "1.7560473e+06", "0000000000000000000000000000000000000000001.2e-1", "1e400", "1e-400",
        ]
        for c in cases {
            let bytes = Array(c.utf8)
            let parsed = bytes.withUnsafeBufferPointer { NumberParsing.parseFloat($0, 0..<$0.count) }
            let expected = try #require(Double(c.hasPrefix("+") ? String(c.dropFirst()) : c))
            #expect(parsed == expected, "\(c)")
        }
    }

    @Test func floatParsingSpecialsAndRejects() {
        func parse(_ s: String, canonical: Bool = false) -> Double? {
            Array(s.utf8).withUnsafeBufferPointer { NumberParsing.parseFloat($0, 0..<$0.count, canonicalSpecials: canonical) }
        }
        #expect(parse("+Inf") == .infinity)
        #expect(parse("-inf") == -.infinity)
        #expect(parse("Infinity") == .infinity)
        #expect(parse("NaN")?.isNaN == true)
        #expect(parse("nan")?.isNaN == true)
        for bad in ["", "+", "-", ".", "e5", "1e", "1e+", "1_2", "0x1p-3", "0X1", "0b1", "0o1", "1.1.1", "+nan", "infx", "1 ", " 1", "z"] {
            #expect(parse(bad) == nil, "\(bad)")
        }
        #expect(parse("+INF", canonical: true) == nil)
        #expect(parse("+Inf", canonical: true) == .infinity)
        #expect(parse("1e-04", canonical: true) == 1e-4)
    }

    @Test func timestampParsing() {
        func ms(_ s: String) -> Int64? {
            Array(s.utf8).withUnsafeBufferPointer { NumberParsing.parseSecondsAsMilliseconds($0, 0..<$0.count) }
        }
        func int(_ s: String) -> Int64? { Array(s.utf8).withUnsafeBufferPointer { NumberParsing.parseInt64($0, 0..<$0.count) } }
        #expect(ms("1520430000.123") == 1_520_430_000_123)
        #expect(ms("1.5e3") == 1_500_000)
        #expect(ms("000") == 0)
        #expect(ms("-1.1") == -1100)
        #expect(ms("NaN") == nil)
        #expect(ms("+Inf") == nil)
        #expect(ms("1e300") == .min && ms("-1e300") == .min)
        #expect(int("-2") == -2)
        #expect(int("9223372036854775807") == .max)
        #expect(int("-9223372036854775808") == .min)
        #expect(int("9223372036854775808") == nil)
        #expect(int("2.72") == nil)
        #expect(int("") == nil)
    }
}
