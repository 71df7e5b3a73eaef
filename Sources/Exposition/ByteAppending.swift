import GoFormat

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
        if v == 0 { return append(UInt8(ascii: "0")) }
        GoFloat.appendG(v, to: &self)
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
