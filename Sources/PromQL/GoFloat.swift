#if canImport(Glibc)
import Glibc
#endif

/// Formats floating point numbers the way Go's `strconv` and `fmt` do, because the texts
/// Prometheus produces (API values, `le` labels, template output, promtool messages) come
/// from there and lookout must produce the same.
public enum GoFloat {
    /// Decimal digits (no leading or trailing zeros) and the position of the decimal point:
    /// the value is `0.d1d2d3... × 10^dp`.
    struct Digits {
        var digits: [UInt8]
        var dp: Int
    }

    /// The shortest digits that read back as `v` (like `strconv` with precision -1).
    static func shortest(_ v: Double) -> Digits {
        if v == 0 { return Digits(digits: [], dp: 0) }
        // Swift's description is the shortest round-trip representation too.
        return parse(Array(abs(v).description.utf8))
    }

    /// `v` rounded to `n` significant digits (correctly rounded, ties to even, as Go does).
    static func rounded(_ v: Double, significant n: Int) -> Digits {
        if v == 0 { return Digits(digits: [], dp: 0) }
        return parse(Array(cFormat(abs(v), "%.*e", max(n, 1) - 1).utf8))
    }

    /// Parses `d.ddd[e±x]` or `ddd.ddd` into digits.
    private static func parse(_ s: [UInt8]) -> Digits {
        var mantissa = s[...]
        var exp = 0
        if let e = s.firstIndex(where: { $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) {
            mantissa = s[..<e]
            exp = Int(String(decoding: s[(e + 1)...], as: UTF8.self)) ?? 0
        }
        var digits: [UInt8] = []
        var dp = 0
        var seenPoint = false
        for c in mantissa {
            if c == UInt8(ascii: ".") {
                seenPoint = true
                continue
            }
            digits.append(c)
            if !seenPoint { dp += 1 }
        }
        // Leading zeros move the decimal point.
        while let f = digits.first, f == UInt8(ascii: "0") {
            digits.removeFirst()
            dp -= 1
        }
        while let l = digits.last, l == UInt8(ascii: "0") { digits.removeLast() }
        if digits.isEmpty { return Digits(digits: [], dp: 0) }
        return Digits(digits: digits, dp: dp + exp)
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

    private static func special(_ v: Double, plusSign: Bool = true) -> String? {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? (plusSign ? "+Inf" : "Inf") : "-Inf" }
        return nil
    }

    private static func fmtE(_ neg: Bool, _ d: Digits, _ prec: Int, upper: Bool = false) -> String {
        var out = neg ? "-" : ""
        let first: UInt8 = d.digits.first ?? UInt8(ascii: "0")
        out.unicodeScalars.append(Unicode.Scalar(first))
        if prec > 0 {
            out += "."
            var i = 1
            let m = min(d.digits.count, prec + 1)
            while i < m {
                out.unicodeScalars.append(Unicode.Scalar(d.digits[i]))
                i += 1
            }
            while i <= prec {
                out += "0"
                i += 1
            }
        }
        out += upper ? "E" : "e"
        var exp = d.digits.isEmpty ? 0 : d.dp - 1
        if exp < 0 {
            out += "-"
            exp = -exp
        } else {
            out += "+"
        }
        out += exp < 10 ? "0\(exp)" : "\(exp)"
        return out
    }

    private static func fmtF(_ neg: Bool, _ d: Digits, _ prec: Int) -> String {
        var out = neg ? "-" : ""
        if d.dp > 0 {
            var m = min(d.digits.count, d.dp)
            for i in 0..<m { out.unicodeScalars.append(Unicode.Scalar(d.digits[i])) }
            while m < d.dp {
                out += "0"
                m += 1
            }
        } else {
            out += "0"
        }
        if prec > 0 {
            out += "."
            for i in 1...prec {
                let j = d.dp + i - 1
                let ch: UInt8 = (j >= 0 && j < d.digits.count) ? d.digits[j] : UInt8(ascii: "0")
                out.unicodeScalars.append(Unicode.Scalar(ch))
            }
        }
        return out
    }

    /// `strconv.FormatFloat(v, 'g', precision, 64)`; precision -1 is the shortest form.
    /// Also what `fmt` prints for `%v` (precision -1) and `%.Ng`.
    public static func formatG(_ v: Double, precision: Int = -1, plusInf: Bool = true) -> String {
        if let s = special(v, plusSign: plusInf) { return s }
        let neg = v.sign == .minus
        let shortest = precision < 0
        var prec = precision == 0 ? 1 : precision
        let d = shortest ? Self.shortest(v) : rounded(v, significant: prec)
        if shortest { prec = d.digits.count }
        var eprec = prec
        if eprec > d.digits.count && d.digits.count >= d.dp { eprec = d.digits.count }
        if shortest { eprec = 6 }
        let exp = d.dp - 1
        if exp < -4 || exp >= eprec {
            if prec > d.digits.count { prec = d.digits.count }
            return fmtE(neg, d, prec - 1)
        }
        if prec > d.dp { prec = d.digits.count }
        return fmtF(neg, d, max(prec - d.dp, 0))
    }

    /// `strconv.FormatFloat(v, 'e', -1, 64)`: the value format of Prometheus' alerts API.
    public static func formatE(_ v: Double, upper: Bool = false) -> String {
        if let s = special(v) { return s }
        let d = shortest(v)
        return fmtE(v.sign == .minus, d, max(d.digits.count - 1, 0), upper: upper)
    }

    /// `strconv.FormatFloat(v, 'f', -1, 64)`.
    public static func formatF(_ v: Double) -> String {
        if let s = special(v) { return s }
        let d = shortest(v)
        return fmtF(v.sign == .minus, d, max(d.digits.count - d.dp, 0))
    }

    /// `fmt`'s `%.Nf` / `%.Ne` (fixed precision), which C formats identically for finite values.
    public static func formatFixed(_ v: Double, verb: Character, precision: Int) -> String {
        if let s = special(v) { return s }
        switch verb {
        case "e": return cFormat(v, "%.*e", precision)
        case "E": return cFormat(v, "%.*E", precision)
        default: return cFormat(v, "%.*f", precision)
        }
    }

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
}
