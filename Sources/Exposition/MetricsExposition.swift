import CLookout
import Series

/// What the HTTP server calls for `GET /metrics`.
public enum MetricsExposition {
    /// Encodes `families` in the format `accept` asks for, gzipped when `acceptEncoding`
    /// allows it. `families` should come from `Registry.gather()` (merged, sorted).
    ///
    /// `sizeHint` is the expected uncompressed size (e.g. the previous response's), so the
    /// buffer is allocated once.
    public static func render(
        families: [MetricFamily], accept: String?, acceptEncoding: String?, sizeHint: Int = 0
    ) -> (body: [UInt8], contentType: String, contentEncoding: String?) {
        var body: [UInt8] = []
        var scratch: [UInt8] = []
        body.reserveCapacity(max(sizeHint, families.count * 256))
        let (contentType, contentEncoding) = render(
            families: families, accept: accept, acceptEncoding: acceptEncoding, into: &body, scratch: &scratch)
        return (body, contentType, contentEncoding)
    }

    /// The same, writing the response body into `body` (emptied first) and using `scratch`
    /// for the uncompressed text when gzipping, so a caller that keeps both buffers (one
    /// per event loop, say) allocates nothing once they have grown to size.
    public static func render(
        families: [MetricFamily], accept: String?, acceptEncoding: String?, into body: inout [UInt8],
        scratch: inout [UInt8]
    ) -> (contentType: String, contentEncoding: String?) {
        let format = ContentNegotiation.format(accept: accept)
        body.removeAll(keepingCapacity: true)
        guard ContentNegotiation.acceptsGzip(acceptEncoding) else {
            encode(families, as: format, into: &body)
            return (format.contentType, nil)
        }
        scratch.removeAll(keepingCapacity: true)
        encode(families, as: format, into: &scratch)
        if gzip(scratch, into: &body) { return (format.contentType, "gzip") }
        body.removeAll(keepingCapacity: true)
        body.append(contentsOf: scratch)
        return (format.contentType, nil)
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
        var out: [UInt8] = []
        return gzip(bytes, into: &out, level: level) ? out : nil
    }

    /// Compresses `bytes` into `out` (replacing its contents); false if zlib fails.
    @discardableResult
    public static func gzip(_ bytes: [UInt8], into out: inout [UInt8], level: Int32 = 1) -> Bool {
        let bound = lookout_gzip_bound(bytes.count)
        out.removeAll(keepingCapacity: true)
        out.append(contentsOf: repeatElement(0, count: bound))
        let n = bytes.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                lookout_gzip_compress(src.baseAddress, src.count, dst.baseAddress, dst.count, level)
            }
        }
        guard n >= 0 else {
            out.removeAll(keepingCapacity: true)
            return false
        }
        out.removeLast(bound - n)
        return true
    }
}
