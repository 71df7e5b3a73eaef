/// Prometheus' humanize functions.
public enum Humanize {
    /// `humanize`: SI prefixes, 4 significant digits: 1234 → 1.234k, 0.005 → 5m.
    public static func humanize(_ value: Double) -> String {
        var v = value
        if v == 0 || v.isNaN || v.isInfinite { return GoFloat.formatG(v, precision: 4) }
        if Swift.abs(v) >= 1 { return scaled(v, by: 1000, ["k", "M", "G", "T", "P", "E", "Z", "Y"]) }
        var prefix = ""
        for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
            if Swift.abs(v) >= 1 { break }
            prefix = p
            v *= 1000
        }
        return GoFloat.formatG(v, precision: 4) + prefix
    }

    /// `humanize1024`: binary prefixes, 4 significant digits: 2048 → 2ki.
    public static func humanize1024(_ value: Double) -> String {
        if Swift.abs(value) <= 1 || value.isNaN || value.isInfinite { return GoFloat.formatG(value, precision: 4) }
        return scaled(value, by: 1024, ["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"])
    }

    /// `value` divided by `base` while it is at least `base`, with the prefix of the last division.
    static func scaled(_ value: Double, by base: Double, _ prefixes: [String]) -> String {
        var v = value
        var prefix = ""
        for p in prefixes {
            if Swift.abs(v) < base { break }
            prefix = p
            v /= base
        }
        return GoFloat.formatG(v, precision: 4) + prefix
    }

    /// `humanizeDuration`: seconds as `1d 2h 3m 4s`, or `1.5s`, `250ms`.
    public static func duration(_ value: Double) -> String {
        var v = value
        if v.isNaN || v.isInfinite { return GoFloat.formatG(v, precision: 4) }
        if v == 0 { return GoFloat.formatG(v, precision: 4) + "s" }
        if Swift.abs(v) >= 1 {
            var sign = ""
            if v < 0 {
                sign = "-"
                v = -v
            }
            // Go's int64(v) on amd64: out-of-range values become the minimum int64.
            let d = v < 9.223372036854775807e18 ? Int64(v) : Int64.min
            let seconds = d % 60, minutes = (d / 60) % 60, hours = (d / 3600) % 24, days = d / 86400
            if days != 0 { return "\(sign)\(days)d \(hours)h \(minutes)m \(seconds)s" }
            if hours != 0 { return "\(sign)\(hours)h \(minutes)m \(seconds)s" }
            if minutes != 0 { return "\(sign)\(minutes)m \(seconds)s" }
            return "\(sign)\(GoFloat.formatG(v, precision: 4))s"
        }
        var prefix = ""
        for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
            if Swift.abs(v) >= 1 { break }
            prefix = p
            v *= 1000
        }
        return GoFloat.formatG(v, precision: 4) + prefix + "s"
    }

    /// `humanizePercentage`: 0.1234 → 12.34%.
    public static func percentage(_ value: Double) -> String {
        GoFloat.formatG(value * 100, precision: 4) + "%"
    }
}
