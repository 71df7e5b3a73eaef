import CLookout

/// What the HTTP server calls for `GET /metrics`.
public enum Exposition {
    /// Encodes `families` in the format `accept` asks for, gzipped when `acceptEncoding`
    /// allows it. `families` should come from `Registry.gather()` (merged, sorted).
    ///
    /// `sizeHint` is the expected uncompressed size (e.g. the previous response's), so the
    /// buffer is allocated once.
    public static func render(
        families: [MetricFamily], accept: String?, acceptEncoding: String?, sizeHint: Int = 0
    ) -> (body: [UInt8], contentType: String, contentEncoding: String?) {
        let format = ContentNegotiation.format(accept: accept)
        var body: [UInt8] = []
        body.reserveCapacity(max(sizeHint, families.count * 256))
        encode(families, as: format, into: &body)
        if ContentNegotiation.acceptsGzip(acceptEncoding), let zipped = gzip(body) {
            return (zipped, format.contentType, "gzip")
        }
        return (body, format.contentType, nil)
    }

    /// Appends `families` in `format` to `out`.
    public static func encode(_ families: [MetricFamily], as format: ExpositionFormat, into out: inout [UInt8]) {
        switch format {
        case .text: TextEncoder.encode(families, into: &out)
        case .openMetrics: OpenMetricsEncoder.encode(families, into: &out)
        case .protobuf: ProtobufEncoder.encode(families, into: &out)
        }
    }

    /// One gzip member of `bytes`, or nil if zlib fails. Level 1: expositions are repetitive
    /// enough that the fastest level already shrinks them about tenfold, and the agent's CPU
    /// is what a sidecar must save.
    public static func gzip(_ bytes: [UInt8], level: Int32 = 1) -> [UInt8]? {
        let bound = lookout_gzip_bound(bytes.count)
        var out = [UInt8](repeating: 0, count: bound)
        let n = bytes.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                lookout_gzip_compress(src.baseAddress, src.count, dst.baseAddress, dst.count, level)
            }
        }
        guard n >= 0 else { return nil }
        out.removeLast(bound - n)
        return out
    }
}
