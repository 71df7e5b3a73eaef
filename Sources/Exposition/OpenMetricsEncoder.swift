import Series


/// OpenMetrics 1.0.0 text exposition.
///
/// Families are written under their OpenMetrics names: a counter without `_total` in
/// `# TYPE` and with it on its samples (a counter whose name lacks `_total` gets it
/// appended to the samples), an info family without `_info`. `untyped` is `unknown`.
/// `# UNIT` is written when the family has a unit and its name ends with it, as the
/// specification requires. Timestamps are seconds. The exposition ends with `# EOF`.
public enum OpenMetricsEncoder {
    public static let contentType = "application/openmetrics-text; version=1.0.0; charset=utf-8"

    public static func encode(_ families: [MetricFamily], into out: inout [UInt8]) {
        var w = SampleWriter(openMetrics: true)
        for f in families where !f.metrics.isEmpty {
            encode(f, into: &out, writer: &w)
        }
        out.appendASCII("# EOF\n")
    }

    public static func encode(_ families: [MetricFamily]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(families.count * 256 + 8)
        encode(families, into: &out)
        return out
    }

    static func typeName(_ t: MetricType) -> StaticString {
        switch t {
        case .counter: return "counter"
        case .gauge: return "gauge"
        case .histogram: return "histogram"
        case .gaugeHistogram: return "gaugehistogram"
        case .summary: return "summary"
        case .untyped: return "unknown"
        case .info: return "info"
        case .stateset: return "stateset"
        }
    }

    private static func encode(_ f: MetricFamily, into out: inout [UInt8], writer w: inout SampleWriter) {
        let familyName = f.openMetricsName
        if !f.help.isEmpty {
            out.appendASCII("# HELP ")
            out.appendUTF8(familyName)
            out.append(UInt8(ascii: " "))
            out.appendEscapedHelp(f.help, quotes: true)
            out.append(UInt8(ascii: "\n"))
        }
        out.appendASCII("# TYPE ")
        out.appendUTF8(familyName)
        out.append(UInt8(ascii: " "))
        out.appendASCII(typeName(f.type))
        out.append(UInt8(ascii: "\n"))
        if !f.unit.isEmpty, f.type != .info, f.type != .stateset, familyName.hasSuffix("_" + f.unit) {
            out.appendASCII("# UNIT ")
            out.appendUTF8(familyName)
            out.append(UInt8(ascii: " "))
            out.appendUTF8(f.unit)
            out.append(UInt8(ascii: "\n"))
        }
        w.startFamily()
        // The name the samples carry: the family name plus the type's suffix.
        let sampleSuffix: StaticString
        switch f.type {
        case .counter: sampleSuffix = "_total"
        case .info: sampleSuffix = "_info"
        default: sampleSuffix = ""
        }
        for m in f.metrics {
            switch m.value {
            case .single(let v):
                w.writeSingle(
                    name: familyName, suffix: sampleSuffix, labels: m.labels, value: v,
                    timestamp: m.timestampMilliseconds, into: &out)
            case .histogram(let h):
                // A histogram with negative buckets must not have a sum (it would not be a
                // counter); OpenMetrics allows the count only together with the sum.
                let negative = (h.buckets.first?.upperBound ?? 0) < 0
                let gauge = f.type == .gaugeHistogram
                w.writeHistogram(
                    name: familyName, labels: m.labels, h, gauge: gauge, withSumAndCount: gauge || !negative,
                    timestamp: m.timestampMilliseconds, into: &out)
            case .summary(let s):
                w.writeSummary(name: familyName, labels: m.labels, s, timestamp: m.timestampMilliseconds, into: &out)
            }
        }
    }
}
