/// Durations in Prometheus' syntax: `[0-9]+` followed by `y w d h m s ms`, units in that
/// order, each at most once (`1h30m`, `500ms`, `15s`, `0`).
public enum PromDuration {
    private static let units: [(String, Int64)] = [
        ("y", 365 * 24 * 3600 * 1000), ("w", 7 * 24 * 3600 * 1000), ("d", 24 * 3600 * 1000),
        ("h", 3600 * 1000), ("m", 60 * 1000), ("s", 1000), ("ms", 1),
    ]

    public struct ParseError: Error, CustomStringConvertible, Sendable {
        public let text: String
        public var description: String {
            "invalid duration \"\(text)\": expected e.g. 500ms, 15s, 1m30s (units y w d h m s ms)"
        }
    }

    /// Parses a duration; returns milliseconds.
    public static func parseMilliseconds(_ text: String) throws(ParseError) -> Int64 {
        if text == "0" { return 0 }
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty else { throw ParseError(text: text) }
        var i = 0
        var total: Int64 = 0
        var lastUnitIndex = -1
        while i < bytes.count {
            var value: Int64 = 0
            let start = i
            while i < bytes.count, bytes[i] >= 48, bytes[i] <= 57 {
                let (v1, o1) = value.multipliedReportingOverflow(by: 10)
                let (v2, o2) = v1.addingReportingOverflow(Int64(bytes[i] - 48))
                if o1 || o2 { throw ParseError(text: text) }
                value = v2
                i += 1
            }
            guard i > start, i < bytes.count else { throw ParseError(text: text) }
            // Longest unit first so "ms" is not read as "m".
            var unitIndex = -1
            if bytes[i] == UInt8(ascii: "m"), i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "s") {
                unitIndex = 6
                i += 2
            } else {
                switch bytes[i] {
                case UInt8(ascii: "y"): unitIndex = 0
                case UInt8(ascii: "w"): unitIndex = 1
                case UInt8(ascii: "d"): unitIndex = 2
                case UInt8(ascii: "h"): unitIndex = 3
                case UInt8(ascii: "m"): unitIndex = 4
                case UInt8(ascii: "s"): unitIndex = 5
                default: throw ParseError(text: text)
                }
                i += 1
            }
            guard unitIndex > lastUnitIndex else { throw ParseError(text: text) }
            lastUnitIndex = unitIndex
            let (part, o3) = value.multipliedReportingOverflow(by: units[unitIndex].1)
            let (sum, o4) = total.addingReportingOverflow(part)
            if o3 || o4 { throw ParseError(text: text) }
            total = sum
        }
        return total
    }

    public static func parse(_ text: String) throws(ParseError) -> Duration {
        .milliseconds(try parseMilliseconds(text))
    }

    /// Formats like Prometheus: `1h30m`, `500ms`, `0s`.
    public static func format(milliseconds ms: Int64) -> String {
        if ms == 0 { return "0s" }
        var rest = ms < 0 ? -ms : ms
        var out = ms < 0 ? "-" : ""
        for (unit, size) in units where rest >= size {
            let n = rest / size
            rest -= n * size
            out += "\(n)\(unit)"
        }
        return out
    }

    public static func format(_ d: Duration) -> String { format(milliseconds: d.milliseconds) }
}

/// Byte sizes in Prometheus' syntax: `512`, `10KiB`, `10MiB`, `1GiB`, also `KB`/`MB`/`GB` (decimal) and `B`.
public enum ByteSize {
    public struct ParseError: Error, CustomStringConvertible, Sendable {
        public let text: String
        public var description: String { "invalid size \"\(text)\": expected e.g. 512KiB, 10MiB, 1GiB" }
    }

    public static func parse(_ text: String) throws(ParseError) -> Int {
        let t = text.trimmingSpaces()
        var digitsEnd = t.startIndex
        while digitsEnd < t.endIndex, t[digitsEnd].isASCII, t[digitsEnd].isNumber { digitsEnd = t.index(after: digitsEnd) }
        guard digitsEnd > t.startIndex, let n = Int(t[t.startIndex..<digitsEnd]) else { throw ParseError(text: text) }
        let multiplier: Int
        switch String(t[digitsEnd...]) {
        case "", "B": multiplier = 1
        case "KB": multiplier = 1000
        case "KiB": multiplier = 1 << 10
        case "MB": multiplier = 1_000_000
        case "MiB": multiplier = 1 << 20
        case "GB": multiplier = 1_000_000_000
        case "GiB": multiplier = 1 << 30
        default: throw ParseError(text: text)
        }
        let (v, o) = n.multipliedReportingOverflow(by: multiplier)
        if o { throw ParseError(text: text) }
        return v
    }
}

extension StringProtocol {
    /// The string without leading and trailing ASCII spaces, tabs and newlines.
    public func trimmingSpaces() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}
