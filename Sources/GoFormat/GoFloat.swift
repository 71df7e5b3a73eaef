#if canImport(Glibc)
import Glibc
#endif

/// Formats floating point numbers the way Go's `strconv` and `fmt` do, because the texts
/// Prometheus produces (sample values and `le` labels of its clients, API values, template
/// output, promtool messages) come from there and lookout must produce the same.
///
/// Every format is written into a byte buffer (the `/metrics` encoders append to theirs
/// without building strings); the `String` forms wrap the same code.
public enum GoFloat {
    // MARK: Strings

    /// `strconv.FormatFloat(v, 'g', precision, 64)`; precision -1 is the shortest form that
    /// reads back as `v`. Also what `fmt` prints for `%v` (precision -1) and `%.Ng`.
    /// Infinity is `+Inf` (Prometheus' spelling) unless `plusInf` is false (Go's `Inf`).
    public static func formatG(_ v: Double, precision: Int = -1, plusInf: Bool = true) -> String {
        string { appendG(v, precision: precision, plusInf: plusInf, to: &$0) }
    }

    /// `strconv.FormatFloat(v, 'e', -1, 64)`: the value format of Prometheus' alerts API.
    public static func formatE(_ v: Double, upper: Bool = false) -> String {
        string { appendE(v, upper: upper, to: &$0) }
    }

    /// `strconv.FormatFloat(v, 'f', -1, 64)`.
    public static func formatF(_ v: Double) -> String {
        string { appendF(v, to: &$0) }
    }

    /// `fmt`'s `%.Nf` / `%.Ne` / `%.NE` (fixed precision), which C formats identically for
    /// finite values.
    public static func formatFixed(_ v: Double, verb: Character, precision: Int) -> String {
        if let s = special(v, plusInf: true) { return String(decoding: s.utf8, as: UTF8.self) }
        switch verb {
        case "e": return cFormat(v, "%.*e", precision)
        case "E": return cFormat(v, "%.*E", precision)
        default: return cFormat(v, "%.*f", precision)
        }
    }

    // MARK: Bytes

    /// `formatG`, appended to `out`.
    public static func appendG(_ v: Double, precision: Int = -1, plusInf: Bool = true, to out: inout [UInt8]) {
        if let s = special(v, plusInf: plusInf) { return out.append(contentsOf: s.utf8) }
        let negative = v.sign == .minus
        if precision < 0 {
            withShortestDigits(v) { d in appendG(negative, d, precision: d.count, shortest: true, to: &out) }
        } else {
            let prec = precision == 0 ? 1 : precision
            withRoundedDigits(v, significant: prec) { d in appendG(negative, d, precision: prec, shortest: false, to: &out) }
        }
    }

    /// `formatE`, appended to `out`.
    public static func appendE(_ v: Double, upper: Bool = false, to out: inout [UInt8]) {
        if let s = special(v, plusInf: true) { return out.append(contentsOf: s.utf8) }
        withShortestDigits(v) { d in appendE(v.sign == .minus, d, precision: max(d.count - 1, 0), upper: upper, to: &out) }
    }

    /// `formatF`, appended to `out`.
    public static func appendF(_ v: Double, to out: inout [UInt8]) {
        if let s = special(v, plusInf: true) { return out.append(contentsOf: s.utf8) }
        withShortestDigits(v) { d in appendF(v.sign == .minus, d, precision: max(d.count - d.point, 0), to: &out) }
    }

    // MARK: Parsing

    /// Parses a float as Go's `strconv.ParseFloat` does for the forms that occur in label
    /// values and test files: decimal, exponent, hexadecimal integers, `Inf`, `NaN`.
    public static func parse(_ s: String) -> Double? {
        var t = Substring(s)
        var sign = 1.0
        if t.hasPrefix("+") {
            t = t.dropFirst()
        } else if t.hasPrefix("-") {
            sign = -1
            t = t.dropFirst()
        }
        let lower = t.lowercased()
        if lower == "inf" || lower == "infinity" { return sign * .infinity }
        if lower == "nan" { return .nan }
        if t.isEmpty { return nil }
        if lower.hasPrefix("0x") {
            guard let v = UInt64(lower.dropFirst(2), radix: 16) else { return nil }
            return sign * Double(v)
        }
        // Swift accepts a few forms Go does not (e.g. hex floats); digits, '.', 'e' only here.
        for c in t.utf8 {
            let ok = (c >= 48 && c <= 57) || c == UInt8(ascii: ".") || c == UInt8(ascii: "e") || c == UInt8(ascii: "E")
                || c == UInt8(ascii: "+") || c == UInt8(ascii: "-")
            if !ok { return nil }
        }
        guard let v = Double(t) else { return nil }
        return sign * v
    }

    // MARK: Digits

    /// The decimal digits of a finite |v| (no leading or trailing zeros; none for zero) and
    /// where the decimal point goes: the value is `0.d1d2d3... × 10^point`.
    struct Digits {
        var bytes: UnsafeBufferPointer<UInt8>
        var point: Int
        var count: Int { bytes.count }
        subscript(i: Int) -> UInt8 { bytes[i] }
    }

    /// The shortest digits that read back as `v` (`strconv` with precision -1). Swift's
    /// `description` is the shortest round-trip form too; only its layout differs.
    static func withShortestDigits<R>(_ v: Double, _ body: (Digits) -> R) -> R {
        var text = v.magnitude.description
        return text.withUTF8 { p in
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { buf in body(digits(of: p, into: buf)) }
        }
    }

    /// `v` rounded to `n` significant digits (correctly rounded, ties to even, as Go does).
    static func withRoundedDigits<R>(_ v: Double, significant n: Int, _ body: (Digits) -> R) -> R {
        var text = cFormat(v.magnitude, "%.*e", max(n, 1) - 1)
        return text.withUTF8 { p in
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: p.count) { buf in body(digits(of: p, into: buf)) }
        }
    }

    /// Reads `d.ddd[e±x]`, `ddd.ddd` or `0.000ddd` into digits.
    private static func digits(of p: UnsafeBufferPointer<UInt8>, into buf: UnsafeMutableBufferPointer<UInt8>) -> Digits {
        var n = 0
        var point = 0
        var seenPoint = false
        var leading = true
        var i = 0
        while i < p.count {
            let c = p[i]
            if c == UInt8(ascii: "e") || c == UInt8(ascii: "E") { break }
            if c == UInt8(ascii: ".") {
                seenPoint = true
            } else if leading && c == UInt8(ascii: "0") {
                // Leading zeros move the decimal point.
                if seenPoint { point -= 1 }
            } else {
                leading = false
                buf[n] = c
                n += 1
                if !seenPoint { point += 1 }
            }
            i += 1
        }
        if i < p.count {
            i += 1
            var negative = false
            if p[i] == UInt8(ascii: "-") {
                negative = true
                i += 1
            } else if p[i] == UInt8(ascii: "+") {
                i += 1
            }
            var e = 0
            while i < p.count {
                e = e * 10 + Int(p[i] &- 48)
                i += 1
            }
            point += negative ? -e : e
        }
        while n > 0 && buf[n - 1] == UInt8(ascii: "0") { n -= 1 }
        if n == 0 { point = 0 }
        return Digits(bytes: UnsafeBufferPointer(rebasing: buf[..<n]), point: point)
    }

    // MARK: Layout (Go's fmtE, fmtF and the %g decision of strconv/ftoa.go)

    private static func appendG(_ negative: Bool, _ d: Digits, precision: Int, shortest: Bool, to out: inout [UInt8]) {
        var prec = precision
        var eprec = prec
        if eprec > d.count && d.count >= d.point { eprec = d.count }
        // %e is used if the exponent from the conversion is less than -4 or greater than or
        // equal to the precision; when printing the shortest form, the precision is 6.
        if shortest { eprec = 6 }
        let exp = d.point - 1
        if exp < -4 || exp >= eprec {
            if prec > d.count { prec = d.count }
            return appendE(negative, d, precision: prec - 1, upper: false, to: &out)
        }
        if prec > d.point { prec = d.count }
        appendF(negative, d, precision: max(prec - d.point, 0), to: &out)
    }

    private static func appendE(_ negative: Bool, _ d: Digits, precision: Int, upper: Bool, to out: inout [UInt8]) {
        if negative { out.append(UInt8(ascii: "-")) }
        out.append(d.count > 0 ? d[0] : UInt8(ascii: "0"))
        if precision > 0 {
            out.append(UInt8(ascii: "."))
            var i = 1
            let m = min(d.count, precision + 1)
            while i < m {
                out.append(d[i])
                i += 1
            }
            while i <= precision {
                out.append(UInt8(ascii: "0"))
                i += 1
            }
        }
        out.append(upper ? UInt8(ascii: "E") : UInt8(ascii: "e"))
        var exp = d.count == 0 ? 0 : d.point - 1
        if exp < 0 {
            out.append(UInt8(ascii: "-"))
            exp = -exp
        } else {
            out.append(UInt8(ascii: "+"))
        }
        // At least two digits.
        if exp < 10 { out.append(UInt8(ascii: "0")) }
        appendDecimal(exp, to: &out)
    }

    private static func appendF(_ negative: Bool, _ d: Digits, precision: Int, to out: inout [UInt8]) {
        if negative { out.append(UInt8(ascii: "-")) }
        if d.point > 0 {
            let m = min(d.count, d.point)
            out.append(contentsOf: UnsafeBufferPointer(rebasing: d.bytes[..<m]))
            for _ in m..<d.point { out.append(UInt8(ascii: "0")) }
        } else {
            out.append(UInt8(ascii: "0"))
        }
        if precision > 0 {
            out.append(UInt8(ascii: "."))
            for i in 1...precision {
                let j = d.point + i - 1
                out.append(j >= 0 && j < d.count ? d[j] : UInt8(ascii: "0"))
            }
        }
    }

    private static func appendDecimal(_ v: Int, to out: inout [UInt8]) {
        if v >= 10 { appendDecimal(v / 10, to: &out) }
        out.append(UInt8(truncatingIfNeeded: v % 10) &+ 48)
    }

    private static func special(_ v: Double, plusInf: Bool) -> StaticString? {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? (plusInf ? "+Inf" : "Inf") : "-Inf" }
        return nil
    }

    private static func string(_ body: (inout [UInt8]) -> Void) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(24)
        body(&out)
        return String(decoding: out, as: UTF8.self)
    }

    /// snprintf with one double argument and an int precision.
    static func cFormat(_ v: Double, _ format: String, _ precision: Int) -> String {
        var buf = [CChar](repeating: 0, count: 512)
        let n = withVaList([Int32(precision), v]) { va in
            buf.withUnsafeMutableBufferPointer { vsnprintf($0.baseAddress, 512, format, va) }
        }
        if n >= 512 {
            buf = [CChar](repeating: 0, count: Int(n) + 1)
            _ = withVaList([Int32(precision), v]) { va in
                buf.withUnsafeMutableBufferPointer { vsnprintf($0.baseAddress, Int(n) + 1, format, va) }
            }
        }
        return buf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}

extension StaticString {
    fileprivate var utf8: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: utf8Start, count: utf8CodeUnitCount) }
}
