import Testing

@testable import PromQL

/// Go's `math` functions to the last bit: values Go 1.19 gives on amd64 (with FMA), the
/// toolchain and machine of Debian's Prometheus 2.42.
@Suite struct GoMathTests {
    static let inputs: [Double] = [-93, -2.5, -0.3931836065179125, 0.1, 0.75, 3, 17.25, 700.5, 1e-7]

    static let functions: [String: @Sendable (Double) -> Double] = [
        "sin": GoMath.sin, "cos": GoMath.cos, "tan": GoMath.tan, "atan": GoMath.atan, "asin": GoMath.asin,
        "acos": GoMath.acos, "sinh": GoMath.sinh, "cosh": GoMath.cosh, "tanh": GoMath.tanh, "acosh": GoMath.acosh,
        "atanh": GoMath.atanh, "exp": GoMath.exp, "log": GoMath.log, "log2": GoMath.log2, "log10": GoMath.log10,
    ]

    static let expected: [(String, [UInt64])] = [
            ("sin", [0x3fee5853ca04542d, 0xbfe326af0dcfcab0, 0xbfd8853802f92c74, 0x3fb98eaecb8bcb2c, 0x3fe5cffc16bf8f0e, 0x3fc210386db6d55b, 0xbfeffc9cc480614f, 0x3fb33929f64471c2, 0x3e7ad7f29abcaf3b]),
            ("cos", [0x3fd450c078f5aff3, 0xbfe9a2f7ef858b7d, 0x3fed8ee6ba9410d6, 0x3fefd712f9a817c0, 0x3fe769fec655211f, 0xbfefae04be85e5d2, 0xbf9d721daf5be0c3, 0xbfefe8df14616bc1, 0x3fefffffffffffd3]),
            ("tan", [0x4007e62ac4664fdb, 0x3fe7e79b4e00bb15, 0xbfda8bc70085c8b6, 0x3fb9af8877430b80, 0x3fedcfa36110eeec, 0xbfc23ef71254b86f, 0x4041617620ef593e, 0xbfb34718e533bb52, 0x3e7ad7f29abcaf48]),
            ("atan", [0xbff8f5f0c0bf878b, 0xbff30b6d796a4da8, 0xbfd7f9b7101c080e, 0x3fb983e282e2cc4d, 0x3fe4978fa3269ee1, 0x3ff3fc176b7a8560, 0x3ff834cc45a7c241, 0x3ff91c226f05a0d3, 0x3e7ad7f29abcaf2f]),
            ("asin", [0x7ff8000000000001, 0x7ff8000000000001, 0xbfd9dca2a7a5f5dd, 0x3fb9a49276037884, 0x3feb235315c680dc, 0x7ff8000000000001, 0x7ff8000000000001, 0x7ff8000000000001, 0x3e7ad7f29abcaf55]),
            ("acos", [0x7ff8000000000001, 0x7ff8000000000001, 0x3fff9923fe2daa8f, 0x3ff787b22ce3f590, 0x3fe720a392c1d954, 0x7ff8000000000001, 0x7ff8000000000001, 0x7ff8000000000001, 0x3ff921fb396c3a7d]),
            ("sinh", [0xc8420247cc4c46c1, 0xc0183368cdb0b6d3, 0xbfd9d13005263a90, 0x3fb9a487337b59b4, 0x3fea506b2dd3c690, 0x40240926e70949ae, 0x416d942954644772, 0x7f08625c7d4f56c3, 0x3e7ad7f29abcaf54]),
            ("cosh", [0x48420247cc4c46c1, 0x40188776e4b30aa3, 0x3ff140b500357913, 0x3ff0147f40224b38, 0x3ff4b705d1e5d6a8, 0x402422a497d6185e, 0x416d942954644784, 0x7f08625c7d4f56c3, 0x3ff0000000000016]),
            ("tanh", [0xbff0000000000000, 0xbfef9258260a71c2, 0xbfd7f14793d03984, 0x3fb983d7795f413a, 0x3fe45323e552f228, 0x3fefd77d111a0b00, 0x3fefffffffffffed, 0x3ff0000000000000, 0x3e7ad7f29abcaf2f]),
            ("acosh", [0x7ff8000000000001, 0x7ff8000000000001, 0x7ff8000000000001, 0x7ff8000000000001, 0x7ff8000000000001, 0x3ffc34366179d426, 0x400c522970b852e5, 0x401cfad1d2bb0f0a, 0x7ff8000000000001]),
            ("atanh", [0x7ff8000000000001, 0x7ff8000000000001, 0xbfda988a093e40c5, 0x3fb9af93cd234412, 0x3fef2272ae325a57, 0x7ff8000000000001, 0x7ff8000000000001, 0x7ff8000000000001, 0x3e7ad7f29abcaf61]),
            ("exp", [0x378c6e2d05bbc000, 0x3fb50385c094f425, 0x3fe598d1fdd7d4de, 0x3ff1aec7b35a00d4, 0x4000ef9db467dcf8, 0x403415e5bf6fb106, 0x417d94295464477b, 0x7f18625c7d4f56c3, 0x3ff000001ad7f2b1]),
            ("log", [0x7ff8000000000001, 0x7ff8000000000001, 0x7ff8000000000001, 0xc0026bb1bbb55515, 0xbfd269621134db92, 0x3ff193ea7aad030a, 0x4006c851bbab187e, 0x401a3509950c84a7, 0xc0301e3b843eaa73]),
            ("log2", [0x7ff8000000000001, 0x7ff8000000000001, 0x7ff8000000000001, 0xc00a934f0979a371, 0xbfda8ff971810a5d, 0x3ff95c01a39fbd69, 0x40106f210902b6af, 0x4022e78c29f31b0d, 0xc03740e5284a6f03]),
            ("log10", [0x7ff8000000000001, 0x7ff8000000000001, 0x7ff8000000000001, 0xbfefffffffffffff, 0xbfbffbfc2bbc7802, 0x3fde8927964fd5fc, 0x3ff3c9e35de031ff, 0x4006c36557bb951b, 0xc01c000000000000]),
    ]

    @Test func bitForBitAsGo() {
        for (name, bits) in Self.expected {
            let f = Self.functions[name]!
            for (x, want) in zip(Self.inputs, bits) {
                let got = f(x)
                let wanted = Double(bitPattern: want)
                #expect(got.bitPattern == want || (got.isNaN && wanted.isNaN), "\(name)(\(x)): \(got), Go: \(wanted)")
            }
        }
        #expect(GoMath.atan2(-2.5, 17.25).bitPattern == 0xbfc2_6c26_2d17_9d71)
        #expect(GoMath.atan2(3, -0.75).bitPattern == 0x3ffd_0d6a_1369_bd34)
        #expect(GoMath.pow(17.25, 0.3).bitPattern == 0x4002_cc74_7b4a_3654)
        #expect(GoMath.pow(2.5, -7.75).bitPattern == 0x3f4b_00d0_3a07_7098)
        // Special cases.
        #expect(GoMath.exp(-.infinity) == 0 && GoMath.exp(710) == .infinity && GoMath.exp(-746) == 0)
        #expect(GoMath.log(0) == -.infinity && GoMath.log(-1).isNaN && GoMath.log(.infinity) == .infinity)
        #expect(GoMath.atan2(0, -1) == .pi && GoMath.atan2(-.infinity, .infinity) == -.pi / 4)
        #expect(GoMath.sin(-0.0).sign == .minus && GoMath.tan(.infinity).isNaN)
    }
}
