import CProtobuf
import Series
import Testing
@testable import Exposition

/// The protobuf exposition, decoded with protobuf-c's generated code, must carry what the
/// text exposition carries.
@Suite struct ProtobufEncoderTests {
    struct DecodeError: Error, CustomStringConvertible {
        var description: String
    }

    /// Splits the delimited stream and unpacks each message into the model, in the shape
    /// the text format gives it (a `+Inf` bucket holding the count; gauge histograms are
    /// histograms there).
    static func decode(_ bytes: [UInt8]) throws -> (families: [MetricFamily], raw: [RawFamily]) {
        var out: [MetricFamily] = []
        var raw: [RawFamily] = []
        var offset = 0
        while offset < bytes.count {
            var length = 0
            var shift = 0
            while true {
                guard offset < bytes.count, shift < 64 else { throw DecodeError(description: "bad varint") }
                let b = bytes[offset]
                offset += 1
                length |= Int(b & 0x7F) << shift
                shift += 7
                if b < 0x80 { break }
            }
            guard offset + length <= bytes.count else { throw DecodeError(description: "truncated message") }
            let message = bytes.withUnsafeBufferPointer { p in
                io__prometheus__client__metric_family__unpack(nil, length, p.baseAddress! + offset)
            }
            guard let mf = message else { throw DecodeError(description: "unpack failed at \(offset)") }
            defer { io__prometheus__client__metric_family__free_unpacked(mf, nil) }
            offset += length
            let (family, r) = convert(mf.pointee)
            out.append(family)
            raw.append(r)
        }
        return (out, raw)
    }

    /// What the test checks besides values: which fields protobuf-c saw set.
    struct RawFamily {
        var type: Io__Prometheus__Client__MetricType
        var hasType: Bool
        var unit: String?
        var counterFieldsSet = 0
        var finiteBucketsOnly = true
        var floatCounts = 0
    }

    static func string(_ p: UnsafeMutablePointer<CChar>?) -> String? {
        p.map { String(cString: $0) }
    }

    static func convert(_ mf: Io__Prometheus__Client__MetricFamily) -> (MetricFamily, RawFamily) {
        var raw = RawFamily(type: mf.type, hasType: mf.has_type != 0, unit: string(mf.unit))
        let type: MetricType
        switch mf.type {
        case IO__PROMETHEUS__CLIENT__METRIC_TYPE__COUNTER: type = .counter
        case IO__PROMETHEUS__CLIENT__METRIC_TYPE__GAUGE: type = .gauge
        case IO__PROMETHEUS__CLIENT__METRIC_TYPE__SUMMARY: type = .summary
        case IO__PROMETHEUS__CLIENT__METRIC_TYPE__HISTOGRAM, IO__PROMETHEUS__CLIENT__METRIC_TYPE__GAUGE_HISTOGRAM:
            type = .histogram
        default: type = .untyped
        }
        var metrics: [Metric] = []
        for i in 0..<mf.n_metric {
            let m = mf.metric[i]!.pointee
            var pairs: [(String, String)] = []
            for j in 0..<m.n_label {
                let l = m.label[j]!.pointee
                pairs.append((string(l.name) ?? "", string(l.value) ?? ""))
            }
            let labels = Labels(pairs)
            let ts: Int64? = m.has_timestamp_ms != 0 ? m.timestamp_ms : nil
            var value: MetricValue = .single(.nan)
            if let c = m.counter {
                raw.counterFieldsSet += 1
                value = .single(c.pointee.value)
            } else if let g = m.gauge {
                value = .single(g.pointee.value)
            } else if let u = m.untyped {
                value = .single(u.pointee.value)
            } else if let h = m.histogram?.pointee {
                let count = h.has_sample_count_float != 0 ? h.sample_count_float : Double(h.sample_count)
                if h.has_sample_count_float != 0 { raw.floatCounts += 1 }
                var buckets: [HistogramValue.Bucket] = []
                for k in 0..<h.n_bucket {
                    let b = h.bucket[k]!.pointee
                    if b.upper_bound == .infinity { raw.finiteBucketsOnly = false }
                    let c = b.has_cumulative_count_float != 0 ? b.cumulative_count_float : Double(b.cumulative_count)
                    buckets.append(.init(upperBound: b.upper_bound, cumulativeCount: c))
                }
                buckets.append(.init(upperBound: .infinity, cumulativeCount: count))
                value = .histogram(HistogramValue(buckets: buckets, sum: h.sample_sum, count: count))
            } else if let s = m.summary?.pointee {
                var qs: [SummaryValue.Quantile] = []
                for k in 0..<s.n_quantile {
                    let q = s.quantile[k]!.pointee
                    qs.append(.init(quantile: q.quantile, value: q.value))
                }
                value = .summary(SummaryValue(quantiles: qs, sum: s.sample_sum, count: Double(s.sample_count)))
            }
            metrics.append(Metric(labels: labels, value: value, timestampMilliseconds: ts))
        }
        let family = MetricFamily(name: string(mf.name) ?? "", help: string(mf.help) ?? "", type: type, metrics: metrics)
        return (family, raw)
    }

    @Test func matchesTheTextExpositionFamilyByFamily() throws {
        let families = Fixtures.allTypes + Fixtures.openMetricsOnly
        let text = TextEncoder.encode(families)
        let fromText = try ScrapeParser.parse(text, format: .text)
        let (fromProto, raw) = try Self.decode(ProtobufEncoder.encode(families))
        #expect(fromProto.count == fromText.count)
        for (p, t) in zip(fromProto, fromText) {
            #expect(sameFamilies([p], [t]), "\(p.name):\n\(describe([p]))\n---\n\(describe([t]))")
        }
        // Field-level details a Prometheus server relies on.
        for (f, r) in zip(families.filter { !$0.metrics.isEmpty }, raw) {
            #expect(r.hasType)
            #expect(r.type == ProtobufEncoder.protoType(f.type))
            if f.type == .counter { #expect(r.counterFieldsSet == f.metrics.count) }
            #expect(r.finiteBucketsOnly, "\(f.name): the +Inf bucket is left out, as client_golang does")
            #expect(r.unit == (f.unit.isEmpty ? nil : f.unit))
            #expect(r.floatCounts == 0)
        }
        #expect(raw.contains { $0.type == IO__PROMETHEUS__CLIENT__METRIC_TYPE__GAUGE_HISTOGRAM })
    }

    @Test func fractionalCountsUseTheFloatFields() throws {
        let h = HistogramValue(
            buckets: [.init(upperBound: 1, cumulativeCount: 0.5), .init(upperBound: .infinity, cumulativeCount: 2.5)],
            sum: 3, count: 2.5)
        let (decoded, raw) = try Self.decode(ProtobufEncoder.encode([.histogram("f", help: "h", [(Labels.empty, h)])]))
        #expect(raw[0].floatCounts == 1)
        #expect(describe(decoded) == "f histogram help=\"h\"\n  {} [1:0.5 +Inf:2.5] sum=3 count=2.5")
    }

    @Test func manyFamiliesAndEmptyOnes() throws {
        var families: [MetricFamily] = [MetricFamily(name: "empty", help: "", type: .gauge)]
        for i in 0..<300 {
            families.append(.gauge("g\(i)", help: String(repeating: "h", count: i), [(Labels(["i": "\(i)"]), Double(i))]))
        }
        let (decoded, _) = try Self.decode(ProtobufEncoder.encode(families))
        #expect(decoded.count == 300)
        #expect(decoded[299].name == "g299" && decoded[299].help.count == 299)
        #expect(decoded[299].metrics[0].labels["i"] == "299")
        #expect(try Self.decode(ProtobufEncoder.encode([])).families.isEmpty)
    }
}
