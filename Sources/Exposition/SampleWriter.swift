import Series


/// Writes sample lines for both text formats. Keeps the formatted `le` values of the last
/// histogram, since every series of a family almost always has the same bounds.
struct SampleWriter {
    let openMetrics: Bool
    private var labelScratch: [UInt8] = []
    private var leBounds: [Double] = []
    private var leText: [[UInt8]] = []

    init(openMetrics: Bool) {
        self.openMetrics = openMetrics
        labelScratch.reserveCapacity(256)
    }

    mutating func startFamily() {
        leBounds.removeAll(keepingCapacity: true)
        leText.removeAll(keepingCapacity: true)
    }

    @inline(__always)
    private static func appendLabels(_ labels: Labels, into out: inout [UInt8]) {
        var first = true
        for l in labels {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            out.appendUTF8(l.name)
            out.appendASCII("=\"")
            out.appendEscapedLabelValue(l.value)
            out.append(UInt8(ascii: "\""))
        }
    }

    @inline(__always)
    private func appendTimestamp(_ ts: Int64?, into out: inout [UInt8]) {
        guard let ts else { return }
        out.append(UInt8(ascii: " "))
        if openMetrics {
            out.appendSecondsFromMilliseconds(ts)
        } else {
            out.appendInt(ts)
        }
    }

    mutating func writeSingle(
        name: String, suffix: StaticString, labels: Labels, value: Double, timestamp: Int64?, into out: inout [UInt8]
    ) {
        out.appendUTF8(name)
        if suffix.utf8CodeUnitCount > 0 { out.appendASCII(suffix) }
        if !labels.isEmpty {
            out.append(UInt8(ascii: "{"))
            Self.appendLabels(labels, into: &out)
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: " "))
        out.appendSampleValue(value)
        appendTimestamp(timestamp, into: &out)
        out.append(UInt8(ascii: "\n"))
    }

    /// `name_suffix{labels} value` where the labels were rendered once into `labelScratch`.
    @inline(__always)
    private func writeAggregate(
        name: String, suffix: StaticString, value: Double, timestamp: Int64?, into out: inout [UInt8]
    ) {
        out.appendUTF8(name)
        out.appendASCII(suffix)
        if !labelScratch.isEmpty {
            out.append(UInt8(ascii: "{"))
            out.append(contentsOf: labelScratch)
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: " "))
        out.appendSampleValue(value)
        appendTimestamp(timestamp, into: &out)
        out.append(UInt8(ascii: "\n"))
    }

    private mutating func leText(at i: Int, _ bound: Double) -> [UInt8] {
        if i < leBounds.count {
            if leBounds[i] == bound { return leText[i] }
        }
        var t: [UInt8] = []
        t.appendGoFloat(bound)
        if i == leBounds.count {
            leBounds.append(bound)
            leText.append(t)
        } else if i < leBounds.count {
            leBounds[i] = bound
            leText[i] = t
        }
        return t
    }

    mutating func writeHistogram(
        name: String, labels: Labels, _ h: HistogramValue, gauge: Bool, withSumAndCount: Bool, timestamp: Int64?,
        into out: inout [UInt8]
    ) {
        labelScratch.removeAll(keepingCapacity: true)
        Self.appendLabels(labels, into: &labelScratch)
        let sep = !labels.isEmpty
        var sawInf = false
        for (i, b) in h.buckets.enumerated() {
            if b.upperBound == .infinity { sawInf = true }
            out.appendUTF8(name)
            out.appendASCII("_bucket{")
            out.append(contentsOf: labelScratch)
            if sep { out.append(UInt8(ascii: ",")) }
            out.appendASCII("le=\"")
            let text = leText(at: i, b.upperBound)
            out.append(contentsOf: text)
            out.appendASCII("\"} ")
            out.appendSampleValue(b.cumulativeCount)
            appendTimestamp(timestamp, into: &out)
            out.append(UInt8(ascii: "\n"))
        }
        if !sawInf {
            // Every histogram has a +Inf bucket; it holds the total count.
            out.appendUTF8(name)
            out.appendASCII("_bucket{")
            out.append(contentsOf: labelScratch)
            if sep { out.append(UInt8(ascii: ",")) }
            out.appendASCII("le=\"+Inf\"} ")
            out.appendSampleValue(h.count)
            appendTimestamp(timestamp, into: &out)
            out.append(UInt8(ascii: "\n"))
        }
        guard withSumAndCount else { return }
        // What came is what goes; OpenMetrics has the two together or neither.
        let sum = !h.sumMissing && !(openMetrics && h.countMissing)
        let count = !h.countMissing && !(openMetrics && h.sumMissing)
        if gauge {
            if count { writeAggregate(name: name, suffix: "_gcount", value: h.count, timestamp: timestamp, into: &out) }
            if sum { writeAggregate(name: name, suffix: "_gsum", value: h.sum, timestamp: timestamp, into: &out) }
        } else {
            if openMetrics {
                if count { writeAggregate(name: name, suffix: "_count", value: h.count, timestamp: timestamp, into: &out) }
                if sum { writeAggregate(name: name, suffix: "_sum", value: h.sum, timestamp: timestamp, into: &out) }
            } else {
                if sum { writeAggregate(name: name, suffix: "_sum", value: h.sum, timestamp: timestamp, into: &out) }
                if count { writeAggregate(name: name, suffix: "_count", value: h.count, timestamp: timestamp, into: &out) }
            }
        }
    }

    mutating func writeSummary(
        name: String, labels: Labels, _ s: SummaryValue, timestamp: Int64?, into out: inout [UInt8]
    ) {
        labelScratch.removeAll(keepingCapacity: true)
        Self.appendLabels(labels, into: &labelScratch)
        let sep = !labels.isEmpty
        for q in s.quantiles {
            out.appendUTF8(name)
            out.append(UInt8(ascii: "{"))
            out.append(contentsOf: labelScratch)
            if sep { out.append(UInt8(ascii: ",")) }
            out.appendASCII("quantile=\"")
            out.appendGoFloat(q.quantile)
            out.appendASCII("\"} ")
            out.appendSampleValue(q.value)
            appendTimestamp(timestamp, into: &out)
            out.append(UInt8(ascii: "\n"))
        }
        // What came is what goes: unlike a histogram's, a summary's _sum and _count may come alone.
        let sum = !s.sumMissing
        let count = !s.countMissing
        if openMetrics {
            if count { writeAggregate(name: name, suffix: "_count", value: s.count, timestamp: timestamp, into: &out) }
            if sum { writeAggregate(name: name, suffix: "_sum", value: s.sum, timestamp: timestamp, into: &out) }
        } else {
            if sum { writeAggregate(name: name, suffix: "_sum", value: s.sum, timestamp: timestamp, into: &out) }
            if count { writeAggregate(name: name, suffix: "_count", value: s.count, timestamp: timestamp, into: &out) }
        }
    }
}
