import CProtobuf
import Exposition

/// One series of a remote_write request: its labels (with `__name__`, sorted by name, as
/// remote_write 1.0 asks) and its samples in timestamp order.
public struct WriteSeries: Sendable, Hashable {
    public var labels: [(name: String, value: String)]
    public var samples: [(timestampMilliseconds: Int64, value: Double)]

    public init(labels: [(name: String, value: String)], samples: [(timestampMilliseconds: Int64, value: Double)] = []) {
        self.labels = labels
        self.samples = samples
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.labels.elementsEqual(b.labels, by: ==)
            && a.samples.elementsEqual(b.samples) { $0.timestampMilliseconds == $1.timestampMilliseconds && $0.value.bitPattern == $1.value.bitPattern }
    }

    public func hash(into h: inout Hasher) {
        for l in labels {
            h.combine(l.name)
            h.combine(l.value)
        }
        h.combine(samples.count)
    }

    public var metricName: String { labels.first { $0.name == "__name__" }?.value ?? "" }
}

/// `prometheus.WriteRequest` (remote.proto, types.proto), packed by protobuf-c, and the body
/// of a remote_write request: that message in one snappy block.
public enum WriteRequestCodec {
    public static let contentType = "application/x-protobuf"
    public static let contentEncoding = "snappy"
    public static let version = "0.1.0"

    /// The protobuf message, uncompressed.
    public static func encode(_ series: [WriteSeries]) -> [UInt8] {
        let arena = ProtobufArena()
        var request = Prometheus__WriteRequest()
        prometheus__write_request__init(&request)
        let list = arena.allocate(UnsafeMutablePointer<Prometheus__TimeSeries>?.self, count: series.count)
        for (i, s) in series.enumerated() {
            let ts = arena.allocate(Prometheus__TimeSeries.self, count: 1)
            prometheus__time_series__init(ts)
            let labels = arena.allocate(UnsafeMutablePointer<Prometheus__Label>?.self, count: s.labels.count)
            for (j, l) in s.labels.enumerated() {
                let pl = arena.allocate(Prometheus__Label.self, count: 1)
                prometheus__label__init(pl)
                pl.pointee.name = arena.cString(l.name)
                pl.pointee.value = arena.cString(l.value)
                labels[j] = pl
            }
            ts.pointee.n_labels = s.labels.count
            ts.pointee.labels = labels
            let samples = arena.allocate(UnsafeMutablePointer<Prometheus__Sample>?.self, count: s.samples.count)
            for (j, v) in s.samples.enumerated() {
                let ps = arena.allocate(Prometheus__Sample.self, count: 1)
                prometheus__sample__init(ps)
                ps.pointee.value = v.value
                ps.pointee.timestamp = v.timestampMilliseconds
                samples[j] = ps
            }
            ts.pointee.n_samples = s.samples.count
            ts.pointee.samples = samples
            list[i] = ts
        }
        request.n_timeseries = series.count
        request.timeseries = list
        let size = prometheus__write_request__get_packed_size(&request)
        var out = [UInt8](repeating: 0, count: size)
        let written = out.withUnsafeMutableBufferPointer { prometheus__write_request__pack(&request, $0.baseAddress!) }
        precondition(written == size, "protobuf-c packed \(written) bytes, expected \(size)")
        return out
    }

    /// The request body: the message, snappy-compressed.
    public static func body(_ series: [WriteSeries]) -> [UInt8] {
        Snappy.compress(encode(series))
    }

    public struct Malformed: Error, CustomStringConvertible, Sendable {
        public let reason: String
        public var description: String { "malformed write request: \(reason)" }
    }

    /// Reads a request body back (snappy, then protobuf): what a receiver does.
    public static func decode(body: [UInt8]) throws(Malformed) -> [WriteSeries] {
        let raw: [UInt8]
        do {
            raw = try Snappy.uncompress(body)
        } catch {
            throw Malformed(reason: "\(error)")
        }
        return try decode(message: raw)
    }

    public static func decode(message: [UInt8]) throws(Malformed) -> [WriteSeries] {
        let parsed = message.withUnsafeBufferPointer { prometheus__write_request__unpack(nil, $0.count, $0.baseAddress) }
        guard let parsed else { throw Malformed(reason: "not a prometheus.WriteRequest") }
        defer { prometheus__write_request__free_unpacked(parsed, nil) }
        var out: [WriteSeries] = []
        for i in 0..<parsed.pointee.n_timeseries {
            guard let ts = parsed.pointee.timeseries[i] else { continue }
            var s = WriteSeries(labels: [])
            for j in 0..<ts.pointee.n_labels {
                guard let l = ts.pointee.labels[j] else { continue }
                s.labels.append((String(cString: l.pointee.name), String(cString: l.pointee.value)))
            }
            for j in 0..<ts.pointee.n_samples {
                guard let v = ts.pointee.samples[j] else { continue }
                s.samples.append((v.pointee.timestamp, v.pointee.value))
            }
            out.append(s)
        }
        return out
    }
}
