/// Appending text and numbers to a byte buffer without building intermediate strings.
/// The encoders write whole expositions this way, so these are the hot path of `/metrics`.
extension Array where Element == UInt8 {
    @inline(__always)
    mutating func appendASCII(_ s: StaticString) {
        s.withUTF8Buffer { append(contentsOf: $0) }
    }

    @inline(__always)
    mutating func appendUTF8(_ s: String) {
        if let done: Void = s.utf8.withContiguousStorageIfAvailable({ append(contentsOf: $0) }) {
            return done
        }
        append(contentsOf: s.utf8)
    }

    /// Appends a label value with `\`, `"` and newline escaped (text 0.0.4 and OpenMetrics agree).
    mutating func appendEscapedLabelValue(_ s: String) {
        appendEscaped(s, quotes: true)
    }

    /// Appends a HELP text: text 0.0.4 escapes only `\` and newline, OpenMetrics also `"`.
    mutating func appendEscapedHelp(_ s: String, quotes: Bool) {
        appendEscaped(s, quotes: quotes)
    }

    private mutating func appendEscaped(_ s: String, quotes: Bool) {
        var s = s
        s.withUTF8 { p in
            var needs = false
            for b in p where b == 0x5C || b == 0x0A || (quotes && b == 0x22) {
                needs = true
                break
            }
            if !needs {
                append(contentsOf: p)
                return
            }
            var start = 0
            for i in 0..<p.count {
                let b = p[i]
                let esc: UInt8
                switch b {
                case 0x5C: esc = 0x5C
                case 0x0A: esc = UInt8(ascii: "n")
                case 0x22 where quotes: esc = 0x22
                default: continue
                }
                if start < i { append(contentsOf: UnsafeBufferPointer(rebasing: p[start..<i])) }
                append(0x5C)
                append(esc)
                start = i + 1
            }
            if start < p.count { append(contentsOf: UnsafeBufferPointer(rebasing: p[start..<p.count])) }
        }
    }

    /// Appends a signed integer in decimal.
    mutating func appendInt(_ v: Int64) {
        if v < 0 {
            append(UInt8(ascii: "-"))
            appendUInt(v.magnitude)
        } else {
            appendUInt(UInt64(v))
        }
    }

    mutating func appendUInt(_ v: UInt64) {
        if v < 10 {
            append(UInt8(truncatingIfNeeded: v) &+ 48)
            return
        }
        // Up to 20 digits, written backwards into a small stack buffer.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { tmp in
            var n = v
            var i = 20
            while n > 0 {
                i -= 1
                let (q, r) = n.quotientAndRemainder(dividingBy: 10)
                tmp[i] = UInt8(truncatingIfNeeded: r) &+ 48
                n = q
            }
            append(contentsOf: UnsafeBufferPointer(rebasing: tmp[i..<20]))
        }
    }

    /// Appends a sample value: `NaN`, `+Inf`, `-Inf`, integers within exact range as plain
    /// digits (no `.0`, no exponent), anything else as Go's `strconv.FormatFloat(v, 'g', -1, 64)`.
    @inline(__always)
    mutating func appendSampleValue(_ v: Double) {
        if v.magnitude < 1e15, v == v.rounded(.towardZero) {
            appendInt(Int64(v))
        } else {
            appendGoFloat(v)
        }
    }

    /// Appends `v` exactly as Go's `strconv.FormatFloat(v, 'g', -1, 64)` does, with Prometheus'
    /// spellings of the specials. Used for `le` and `quantile` label values so that series
    /// re-exposed from a scrape keep the label values Prometheus' own clients give them.
    mutating func appendGoFloat(_ v: Double) {
        if v.isNaN { return appendASCII("NaN") }
        if v.isInfinite { return appendASCII(v > 0 ? "+Inf" : "-Inf") }
        if v == 0 { return append(UInt8(ascii: "0")) }
        FloatDigits(v).appendGo(to: &self)
    }

    /// Appends an OpenMetrics timestamp: seconds with up to millisecond precision, exact.
    mutating func appendSecondsFromMilliseconds(_ ms: Int64) {
        let (q, r) = ms.quotientAndRemainder(dividingBy: 1000)
        if ms < 0 { append(UInt8(ascii: "-")) }
        appendUInt(q.magnitude)
        var frac = r.magnitude
        if frac == 0 { return }
        append(UInt8(ascii: "."))
        var digits = 3
        while frac % 10 == 0 {
            frac /= 10
            digits -= 1
        }
        let s = UInt64(frac)
        if digits == 3 && s < 100 { append(UInt8(ascii: "0")) }
        if digits >= 2 && s < 10 { append(UInt8(ascii: "0")) }
        appendUInt(s)
    }
}

/// The shortest decimal digits that round-trip a finite, non-zero double, and where the
/// decimal point goes: the value is `0.d1d2d3... × 10^pointPosition`.
///
/// Swift's `description` already produces the shortest round-trip digits (as Go's
/// `strconv` does); only the layout differs, so the digits are taken from it.
struct FloatDigits {
    var negative = false
    var digits: [UInt8] = []
    var pointPosition = 0

    init(_ v: Double) {
        var text = v.description
        text.withUTF8 { p in
            var i = 0
            if p[0] == UInt8(ascii: "-") {
                negative = true
                i = 1
            }
            var seenDot = false
            var leading = true
            digits.reserveCapacity(20)
            while i < p.count {
                let c = p[i]
                if c == UInt8(ascii: "e") || c == UInt8(ascii: "E") { break }
                if c == UInt8(ascii: ".") {
                    seenDot = true
                } else if leading && c == UInt8(ascii: "0") {
                    if seenDot { pointPosition -= 1 }
                } else {
                    leading = false
                    digits.append(c)
                    if !seenDot { pointPosition += 1 }
                }
                i += 1
            }
            if i < p.count {
                i += 1
                var expNegative = false
                if p[i] == UInt8(ascii: "-") {
                    expNegative = true
                    i += 1
                } else if p[i] == UInt8(ascii: "+") {
                    i += 1
                }
                var e = 0
                while i < p.count {
                    e = e * 10 + Int(p[i] &- 48)
                    i += 1
                }
                pointPosition += expNegative ? -e : e
            }
        }
        while let last = digits.last, last == UInt8(ascii: "0") { digits.removeLast() }
    }

    /// Go's `%g` with the shortest precision: exponent form when the exponent is below -4
    /// or at least 6 (Go uses 6 as the precision for that decision when printing shortest).
    func appendGo(to out: inout [UInt8]) {
        if negative { out.append(UInt8(ascii: "-")) }
        let exp = pointPosition - 1
        let nd = digits.count
        if exp < -4 || exp >= 6 {
            out.append(digits[0])
            if nd > 1 {
                out.append(UInt8(ascii: "."))
                out.append(contentsOf: digits[1...])
            }
            out.append(UInt8(ascii: "e"))
            out.append(exp < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
            let m = exp.magnitude
            if m < 10 { out.append(UInt8(ascii: "0")) }
            out.appendUInt(UInt64(m))
            return
        }
        if pointPosition <= 0 {
            out.append(UInt8(ascii: "0"))
            out.append(UInt8(ascii: "."))
            for _ in 0..<(-pointPosition) { out.append(UInt8(ascii: "0")) }
            out.append(contentsOf: digits)
        } else if pointPosition >= nd {
            out.append(contentsOf: digits)
            for _ in 0..<(pointPosition - nd) { out.append(UInt8(ascii: "0")) }
        } else {
            out.append(contentsOf: digits[0..<pointPosition])
            out.append(UInt8(ascii: "."))
            out.append(contentsOf: digits[pointPosition...])
        }
    }
}

/// Formats numbers the way the exposition formats print them, as strings (for tests, the
/// PromQL layer and anything not writing into a byte buffer).
public enum ExpositionNumber {
    /// Go's `strconv.FormatFloat(v, 'g', -1, 64)` with `+Inf`, `-Inf`, `NaN`: the form
    /// Prometheus clients give `le` and `quantile` label values.
    public static func goString(_ v: Double) -> String {
        var out: [UInt8] = []
        out.appendGoFloat(v)
        return String(decoding: out, as: UTF8.self)
    }

    /// A sample value as the encoders write it.
    public static func sampleString(_ v: Double) -> String {
        var out: [UInt8] = []
        out.appendSampleValue(v)
        return String(decoding: out, as: UTF8.self)
    }
}
