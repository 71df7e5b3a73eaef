/// Durations as Go's `time.ParseDuration` reads them: decimal numbers with a unit each,
/// `1h2m3.5s`, `150ms`, `2.1s`, `800us` (units ns, us or µs, ms, s, m, h).
/// Prometheus' own duration syntax (integers, `y w d h m s ms`) is `PromDuration`.
public enum GoDuration {
    /// The duration in seconds; nil when the text is not one (or is not finite).
    public static func seconds(_ text: String) -> Double? {
        var total = 0.0
        var rest = Substring(text)
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let number = rest.prefix { $0.isNumber || $0 == "." }
            guard !number.isEmpty, let n = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            let unit = rest.prefix { $0.isLetter || $0 == "µ" }
            rest = rest.dropFirst(unit.count)
            switch unit {
            case "ns": total += n * 1e-9
            case "us", "µs": total += n * 1e-6
            case "ms": total += n * 1e-3
            case "s": total += n
            case "m": total += n * 60
            case "h": total += n * 3600
            default: return nil
            }
        }
        return total.isFinite ? total : nil
    }
}
