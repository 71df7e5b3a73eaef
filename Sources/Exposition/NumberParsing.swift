#if canImport(Glibc)
import Glibc
#endif

/// Number syntax of the exposition formats, parsed straight from the bytes of a line.
///
/// Floats are decimal (`-1.5e3`, `.5`, `08`) or the specials `Inf`/`Infinity` with an
/// optional sign and `NaN`, in any case, as Go's `ParseFloat` accepts them; hexadecimal,
/// binary, octal and `_` separators are rejected, as Prometheus' parsers do.
enum NumberParsing {
    private static let powersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18,
        1e19, 1e20, 1e21, 1e22,
    ]

    /// Parses `p[range]` as a float. With `canonicalSpecials`, the specials must be spelled
    /// `+Inf`, `-Inf` or `NaN` exactly (OpenMetrics `le` and `quantile` values).
    static func parseFloat(_ p: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, canonicalSpecials: Bool = false)
        -> Double?
    {
        var i = range.lowerBound
        let end = range.upperBound
        guard i < end else { return nil }
        var negative = false
        let c0 = p[i]
        if c0 == UInt8(ascii: "+") || c0 == UInt8(ascii: "-") {
            negative = c0 == UInt8(ascii: "-")
            i += 1
            guard i < end else { return nil }
        }
        let first = p[i] | 0x20
        if first == UInt8(ascii: "i") || first == UInt8(ascii: "n") {
            return special(p, range, signed: i != range.lowerBound, negative: negative, canonical: canonicalSpecials)
        }
        // Decimal: digits [. digits] [e [sign] digits], at least one mantissa digit.
        var mantissa: UInt64 = 0
        var significant = 0
        var dropped = 0  // significant digits beyond what fits, before the point
        var fractionDigits = 0
        var sawDigit = false
        var exact = true
        while i < end, p[i] &- 48 < 10 {
            sawDigit = true
            let d = UInt64(p[i] &- 48)
            if significant < 19 {
                if mantissa != 0 || d != 0 {
                    mantissa = mantissa &* 10 &+ d
                    significant += 1
                }
            } else {
                dropped += 1
                exact = false
            }
            i += 1
        }
        if i < end, p[i] == UInt8(ascii: ".") {
            i += 1
            while i < end, p[i] &- 48 < 10 {
                sawDigit = true
                let d = UInt64(p[i] &- 48)
                if significant < 19 {
                    if mantissa != 0 || d != 0 {
                        mantissa = mantissa &* 10 &+ d
                        significant += 1
                    }
                    fractionDigits += 1
                } else if d != 0 {
                    exact = false
                }
                i += 1
            }
        }
        guard sawDigit else { return nil }
        var exponent = 0
        if i < end, p[i] | 0x20 == UInt8(ascii: "e") {
            i += 1
            guard i < end else { return nil }
            var expNegative = false
            if p[i] == UInt8(ascii: "+") || p[i] == UInt8(ascii: "-") {
                expNegative = p[i] == UInt8(ascii: "-")
                i += 1
            }
            var sawExpDigit = false
            while i < end, p[i] &- 48 < 10 {
                sawExpDigit = true
                if exponent < 100_000 { exponent = exponent * 10 + Int(p[i] &- 48) }
                i += 1
            }
            guard sawExpDigit else { return nil }
            if expNegative { exponent = -exponent }
        }
        guard i == end else { return nil }
        let e10 = exponent - fractionDigits + dropped
        if exact, mantissa <= 1 << 53, e10 >= -22, e10 <= 22 {
            // Both the mantissa and the power of ten are exact doubles, so one rounding gives
            // the correctly rounded result (Clinger's fast path).
            var v = Double(mantissa)
            if e10 < 0 { v /= powersOfTen[-e10] } else { v *= powersOfTen[e10] }
            return negative ? -v : v
        }
        if mantissa == 0 && exact { return negative ? -0.0 : 0 }
        return slowParse(p, range)
    }

    private static func special(
        _ p: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, signed: Bool, negative: Bool, canonical: Bool
    ) -> Double? {
        let start = range.lowerBound + (signed ? 1 : 0)
        let n = range.upperBound - start
        func matches(_ word: StaticString) -> Bool {
            guard n == word.utf8CodeUnitCount else { return false }
            let w = word.utf8Start
            for k in 0..<n where p[start + k] | 0x20 != w[k] | 0x20 { return false }
            return true
        }
        func exactly(_ word: StaticString) -> Bool {
            guard range.count == word.utf8CodeUnitCount else { return false }
            let w = word.utf8Start
            for k in 0..<range.count where p[range.lowerBound + k] != w[k] { return false }
            return true
        }
        if canonical {
            if exactly("+Inf") { return .infinity }
            if exactly("-Inf") { return -.infinity }
            if exactly("NaN") { return .nan }
            return nil
        }
        if matches("inf") || matches("infinity") { return negative ? -.infinity : .infinity }
        if !signed && matches("nan") { return .nan }
        return nil
    }

    /// Long or extreme decimals, already checked for syntax: correctly rounded by strtod.
    private static func slowParse(_ p: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Double? {
        let n = range.count
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: n + 1) { buf -> Double? in
            for k in 0..<n { buf[k] = CChar(bitPattern: p[range.lowerBound + k]) }
            buf[n] = 0
            var endPointer: UnsafeMutablePointer<CChar>?
            let v = strtod(buf.baseAddress!, &endPointer)
            guard let endPointer, endPointer - buf.baseAddress! == n else { return nil }
            return v
        }
    }

    /// A decimal integer with optional sign (text format timestamps, in milliseconds).
    static func parseInt64(_ p: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Int64? {
        var i = range.lowerBound
        let end = range.upperBound
        guard i < end else { return nil }
        var negative = false
        if p[i] == UInt8(ascii: "+") || p[i] == UInt8(ascii: "-") {
            negative = p[i] == UInt8(ascii: "-")
            i += 1
        }
        guard i < end else { return nil }
        var v: UInt64 = 0
        while i < end {
            let d = p[i] &- 48
            guard d < 10 else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(d))
            guard !o1, !o2 else { return nil }
            v = a
            i += 1
        }
        if negative {
            guard v <= UInt64(Int64.max) + 1 else { return nil }
            return v == UInt64(Int64.max) + 1 ? Int64.min : -Int64(v)
        }
        guard v <= UInt64(Int64.max) else { return nil }
        return Int64(v)
    }

    /// An OpenMetrics timestamp (decimal seconds, no specials) in milliseconds, rounded.
    static func parseSecondsAsMilliseconds(_ p: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Int64? {
        guard let first = range.first else { return nil }
        let c = p[first] | 0x20
        if c == UInt8(ascii: "i") || c == UInt8(ascii: "n") { return nil }
        if range.count > 1, p[first] == UInt8(ascii: "+") || p[first] == UInt8(ascii: "-") {
            let c1 = p[first + 1] | 0x20
            if c1 == UInt8(ascii: "i") || c1 == UInt8(ascii: "n") { return nil }
        }
        guard let s = parseFloat(p, range), s.isFinite else { return nil }
        let ms = (s * 1000).rounded()
        // Beyond 64-bit milliseconds Prometheus' int64(ts * 1000) gives, on amd64, the
        // smallest int64: the body is still accepted (the sample is then out of bounds).
        guard ms > -9.2e18, ms < 9.2e18 else { return Int64.min }
        return Int64(ms)
    }
}
