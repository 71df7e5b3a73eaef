import Series


/// Prometheus text exposition format 0.0.4.
///
/// HELP escapes `\` and newline; label values also `"`. Histograms are written as
/// `_bucket{le=...}`, `_sum`, `_count` with `le` last, summaries as `{quantile=...}`,
/// `_sum`, `_count`, as client_golang does. OpenMetrics-only types are mapped onto the
/// types this format knows: info and stateset become gauges, a gauge histogram a histogram.
/// Families without metrics are left out.
public enum TextEncoder {
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Appends the exposition of `families` to `out` (which may be a reused buffer).
    public static func encode(_ families: [MetricFamily], into out: inout [UInt8]) {
        var w = SampleWriter(openMetrics: false)
        for f in families where !f.metrics.isEmpty {
            encode(f, into: &out, writer: &w)
        }
    }

    public static func encode(_ families: [MetricFamily]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(families.count * 256)
        encode(families, into: &out)
        return out
    }

    static func typeName(_ t: MetricType) -> StaticString {
        switch t {
        case .counter: return "counter"
        case .gauge, .info, .stateset: return "gauge"
        case .histogram, .gaugeHistogram: return "histogram"
        case .summary: return "summary"
        case .untyped: return "untyped"
        }
    }

    private static func encode(_ f: MetricFamily, into out: inout [UInt8], writer w: inout SampleWriter) {
        if !f.help.isEmpty {
            out.appendASCII("# HELP ")
            out.appendUTF8(f.name)
            out.append(UInt8(ascii: " "))
            out.appendEscapedHelp(f.help, quotes: false)
            out.append(UInt8(ascii: "\n"))
        }
        out.appendASCII("# TYPE ")
        out.appendUTF8(f.name)
        out.append(UInt8(ascii: " "))
        out.appendASCII(typeName(f.type))
        out.append(UInt8(ascii: "\n"))
        w.startFamily()
        for m in f.metrics {
            switch m.value {
            case .single(let v):
                w.writeSingle(name: f.name, suffix: "", labels: m.labels, value: v, timestamp: m.timestampMilliseconds, into: &out)
            case .histogram(let h):
                w.writeHistogram(
                    name: f.name, labels: m.labels, h, gauge: false, withSumAndCount: true,
                    timestamp: m.timestampMilliseconds, into: &out)
            case .summary(let s):
                w.writeSummary(name: f.name, labels: m.labels, s, timestamp: m.timestampMilliseconds, into: &out)
            }
        }
    }
}
