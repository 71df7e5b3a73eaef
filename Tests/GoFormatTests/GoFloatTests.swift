import Testing

@testable import GoFormat

@Suite struct GoFloatTests {
    @Test func formatsLikeGo() {
        // Reference values printed by Go 1.19 (fmt.Println, strconv, %.4g).
        let g: [(Double, String)] = [
            (1e6, "1e+06"), (123456789, "1.23456789e+08"), (1234567, "1.234567e+06"), (100000, "100000"),
            (1e21, "1e+21"), (0.0001, "0.0001"), (0.00001, "1e-05"), (5, "5"), (2.5, "2.5"), (0, "0"), (-0.5, "-0.5"),
            (.infinity, "+Inf"), (-.infinity, "-Inf"), (0.1 + 0.2, "0.30000000000000004"),
        ]
        for (v, s) in g { #expect(GoFloat.formatG(v) == s, "\(v)") }
        let g4: [(Double, String)] = [(100, "100"), (2.5, "2.5"), (12345, "1.234e+04"), (0.000123456, "0.0001235"), (0, "0"), (999.95, "1000"), (999.94, "999.9"), (1000, "1000")]
        for (v, s) in g4 { #expect(GoFloat.formatG(v, precision: 4) == s, "\(v)") }
        let e: [(Double, String)] = [(1, "1e+00"), (0, "0e+00"), (3.5, "3.5e+00"), (0.25, "2.5e-01"), (1234.5, "1.2345e+03"), (.nan, "NaN")]
        for (v, s) in e { #expect(GoFloat.formatE(v) == s, "\(v)") }
        #expect(GoFloat.formatF(1e21) == "1000000000000000000000")
        #expect(GoFloat.formatF(0.001) == "0.001")
        #expect(GoFloat.formatFixed(2.345, verb: "f", precision: 2) == "2.35")
        #expect(GoFloat.formatFixed(2.675, verb: "f", precision: 2) == "2.67")
        #expect(GoFloat.formatFixed(.infinity, verb: "f", precision: 2) == "+Inf")
    }
}
