import CProtobuf
import Series

/// The protobuf exposition: length-delimited `io.prometheus.client.MetricFamily` messages
/// (metrics.proto), packed by protobuf-c.
///
/// Messages are built in an arena that lives for one encode and is reset between families.
/// Counters carry `counter.value`; histograms their cumulative buckets without the `+Inf`
/// bucket (its count is `sample_count`), as client_golang does; counts that are not whole
/// numbers go to the `_float` fields. Info and stateset families are gauges, gauge
/// histograms `GAUGE_HISTOGRAM`. Strings are C strings: a label value with a NUL byte is
/// cut there.
public enum ProtobufEncoder {
    public static let contentType =
        "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"

    public static func encode(_ families: [MetricFamily], into out: inout [UInt8]) {
        let arena = ProtobufArena()
        for f in families where !f.metrics.isEmpty {
            arena.reset()
            var mf = Io__Prometheus__Client__MetricFamily()
            io__prometheus__client__metric_family__init(&mf)
            build(f, into: &mf, arena: arena)
            let size = io__prometheus__client__metric_family__get_packed_size(&mf)
            appendVarint(UInt64(size), to: &out)
            let start = out.count
            out.append(contentsOf: repeatElement(0, count: size))
            let written = out.withUnsafeMutableBufferPointer { p in
                io__prometheus__client__metric_family__pack(&mf, p.baseAddress! + start)
            }
            precondition(written == size, "protobuf-c packed \(written) bytes, expected \(size)")
        }
    }

    public static func encode(_ families: [MetricFamily]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(families.count * 128)
        encode(families, into: &out)
        return out
    }

    /// Appends `v` as a protobuf base-128 varint.
    public static func appendVarint(_ v: UInt64, to out: inout [UInt8]) {
        var v = v
        while v >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    static func protoType(_ t: MetricType) -> Io__Prometheus__Client__MetricType {
        switch t {
        case .counter: return IO__PROMETHEUS__CLIENT__METRIC_TYPE__COUNTER
        case .gauge, .info, .stateset: return IO__PROMETHEUS__CLIENT__METRIC_TYPE__GAUGE
        case .summary: return IO__PROMETHEUS__CLIENT__METRIC_TYPE__SUMMARY
        case .untyped: return IO__PROMETHEUS__CLIENT__METRIC_TYPE__UNTYPED
        case .histogram: return IO__PROMETHEUS__CLIENT__METRIC_TYPE__HISTOGRAM
        case .gaugeHistogram: return IO__PROMETHEUS__CLIENT__METRIC_TYPE__GAUGE_HISTOGRAM
        }
    }

    /// A count as `uint64` when it is a whole, non-negative number that fits; else nil (the
    /// caller sets the `_float` field).
    static func wholeCount(_ v: Double) -> UInt64? {
        guard v >= 0, v < 18_446_744_073_709_551_616.0, v == v.rounded(.towardZero) else { return nil }
        return UInt64(v)
    }

    private static func build(_ f: MetricFamily, into mf: inout Io__Prometheus__Client__MetricFamily, arena: ProtobufArena) {
        mf.name = arena.cString(f.name)
        if !f.help.isEmpty { mf.help = arena.cString(f.help) }
        if !f.unit.isEmpty { mf.unit = arena.cString(f.unit) }
        mf.has_type = 1
        mf.type = protoType(f.type)
        let metrics = arena.allocate(UnsafeMutablePointer<Io__Prometheus__Client__Metric>?.self, count: f.metrics.count)
        for (i, m) in f.metrics.enumerated() {
            let pm = arena.allocate(Io__Prometheus__Client__Metric.self, count: 1)
            io__prometheus__client__metric__init(pm)
            if !m.labels.isEmpty {
                let labels = arena.allocate(
                    UnsafeMutablePointer<Io__Prometheus__Client__LabelPair>?.self, count: m.labels.count)
                for (j, l) in m.labels.enumerated() {
                    let lp = arena.allocate(Io__Prometheus__Client__LabelPair.self, count: 1)
                    io__prometheus__client__label_pair__init(lp)
                    lp.pointee.name = arena.cString(l.name)
                    lp.pointee.value = arena.cString(l.value)
                    labels[j] = lp
                }
                pm.pointee.n_label = m.labels.count
                pm.pointee.label = labels
            }
            if let ts = m.timestampMilliseconds {
                pm.pointee.has_timestamp_ms = 1
                pm.pointee.timestamp_ms = ts
            }
            switch m.value {
            case .single(let v):
                setSingle(v, type: f.type, on: pm, arena: arena)
            case .histogram(let h):
                pm.pointee.histogram = histogram(h, arena: arena)
            case .summary(let s):
                pm.pointee.summary = summary(s, arena: arena)
            }
            metrics[i] = pm
        }
        mf.n_metric = f.metrics.count
        mf.metric = metrics
    }

    private static func setSingle(
        _ v: Double, type: MetricType, on pm: UnsafeMutablePointer<Io__Prometheus__Client__Metric>, arena: ProtobufArena
    ) {
        switch type {
        case .counter:
            let c = arena.allocate(Io__Prometheus__Client__Counter.self, count: 1)
            io__prometheus__client__counter__init(c)
            c.pointee.has_value = 1
            c.pointee.value = v
            pm.pointee.counter = c
        case .untyped:
            let u = arena.allocate(Io__Prometheus__Client__Untyped.self, count: 1)
            io__prometheus__client__untyped__init(u)
            u.pointee.has_value = 1
            u.pointee.value = v
            pm.pointee.untyped = u
        default:
            let g = arena.allocate(Io__Prometheus__Client__Gauge.self, count: 1)
            io__prometheus__client__gauge__init(g)
            g.pointee.has_value = 1
            g.pointee.value = v
            pm.pointee.gauge = g
        }
    }

    private static func histogram(_ h: HistogramValue, arena: ProtobufArena) -> UnsafeMutablePointer<Io__Prometheus__Client__Histogram> {
        let ph = arena.allocate(Io__Prometheus__Client__Histogram.self, count: 1)
        io__prometheus__client__histogram__init(ph)
        if let c = wholeCount(h.count) {
            ph.pointee.has_sample_count = 1
            ph.pointee.sample_count = c
        } else {
            ph.pointee.has_sample_count_float = 1
            ph.pointee.sample_count_float = h.count
        }
        ph.pointee.has_sample_sum = 1
        ph.pointee.sample_sum = h.sum
        let finite = h.buckets.filter { $0.upperBound != .infinity }
        if !finite.isEmpty {
            let buckets = arena.allocate(UnsafeMutablePointer<Io__Prometheus__Client__Bucket>?.self, count: finite.count)
            for (i, b) in finite.enumerated() {
                let pb = arena.allocate(Io__Prometheus__Client__Bucket.self, count: 1)
                io__prometheus__client__bucket__init(pb)
                pb.pointee.has_upper_bound = 1
                pb.pointee.upper_bound = b.upperBound
                if let c = wholeCount(b.cumulativeCount) {
                    pb.pointee.has_cumulative_count = 1
                    pb.pointee.cumulative_count = c
                } else {
                    pb.pointee.has_cumulative_count_float = 1
                    pb.pointee.cumulative_count_float = b.cumulativeCount
                }
                buckets[i] = pb
            }
            ph.pointee.n_bucket = finite.count
            ph.pointee.bucket = buckets
        }
        return ph
    }

    private static func summary(_ s: SummaryValue, arena: ProtobufArena) -> UnsafeMutablePointer<Io__Prometheus__Client__Summary> {
        let ps = arena.allocate(Io__Prometheus__Client__Summary.self, count: 1)
        io__prometheus__client__summary__init(ps)
        ps.pointee.has_sample_count = 1
        ps.pointee.sample_count = wholeCount(s.count.rounded()) ?? 0
        ps.pointee.has_sample_sum = 1
        ps.pointee.sample_sum = s.sum
        if !s.quantiles.isEmpty {
            let qs = arena.allocate(UnsafeMutablePointer<Io__Prometheus__Client__Quantile>?.self, count: s.quantiles.count)
            for (i, q) in s.quantiles.enumerated() {
                let pq = arena.allocate(Io__Prometheus__Client__Quantile.self, count: 1)
                io__prometheus__client__quantile__init(pq)
                pq.pointee.has_quantile = 1
                pq.pointee.quantile = q.quantile
                pq.pointee.has_value = 1
                pq.pointee.value = q.value
                qs[i] = pq
            }
            ps.pointee.n_quantile = s.quantiles.count
            ps.pointee.quantile = qs
        }
        return ps
    }
}

/// Bump allocation for the C message structs of one family. Memory is freed when the arena
/// goes away; `reset()` reuses the first block.
public final class ProtobufArena {
    private var blocks: [(base: UnsafeMutableRawPointer, size: Int)] = []
    private var current: UnsafeMutableRawPointer?
    private var remaining = 0
    private static let blockSize = 64 * 1024

    public init() {}

    deinit {
        for b in blocks { b.base.deallocate() }
    }

    public func reset() {
        guard let first = blocks.first else { return }
        for b in blocks.dropFirst() { b.base.deallocate() }
        blocks = [first]
        current = first.base
        remaining = first.size
    }

    private func raw(_ bytes: Int, alignment: Int) -> UnsafeMutableRawPointer {
        if let c = current {
            let pad = (alignment - Int(bitPattern: c) % alignment) % alignment
            if pad + bytes <= remaining {
                let p = c + pad
                current = p + bytes
                remaining -= pad + bytes
                return p
            }
        }
        let size = max(Self.blockSize, bytes + alignment)
        let base = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        blocks.append((base, size))
        let pad = (alignment - Int(bitPattern: base) % alignment) % alignment
        current = base + pad + bytes
        remaining = size - pad - bytes
        return base + pad
    }

    /// Uninitialized room for `count` values; the caller initializes them (protobuf-c's
    /// `..._init` functions for messages).
    public func allocate<T>(_ type: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        let p = raw(MemoryLayout<T>.stride * max(count, 1), alignment: MemoryLayout<T>.alignment)
        return p.bindMemory(to: T.self, capacity: max(count, 1))
    }

    /// A NUL-terminated copy of `s`.
    public func cString(_ s: String) -> UnsafeMutablePointer<CChar> {
        var s = s
        return s.withUTF8 { u in
            let p = raw(u.count + 1, alignment: 1)
            if u.count > 0 { p.copyMemory(from: u.baseAddress!, byteCount: u.count) }
            p.storeBytes(of: 0, toByteOffset: u.count, as: UInt8.self)
            return p.bindMemory(to: CChar.self, capacity: u.count + 1)
        }
    }
}
