import Series


/// The three formats `/metrics` speaks.
public enum ExpositionFormat: String, Sendable, Hashable, CaseIterable {
    case text
    case openMetrics = "openmetrics"
    case protobuf

    /// The exact `Content-Type` of a response in this format.
    public var contentType: String {
        switch self {
        case .text: return TextEncoder.contentType
        case .openMetrics: return OpenMetricsEncoder.contentType
        case .protobuf: return ProtobufEncoder.contentType
        }
    }
}

/// Choosing a format from `Accept` and a content coding from `Accept-Encoding`, as
/// Prometheus' client_golang does: the acceptable media ranges in order of preference
/// (q-value, then specificity); the first one naming a format served here wins; nothing
/// usable means text 0.0.4.
public enum ContentNegotiation {
    /// One media range of an `Accept` header.
    struct MediaRange {
        var type: Substring
        var subtype: Substring
        var parameters: [(name: String, value: Substring)]
        var q: Double

        func parameter(_ name: String) -> Substring? {
            parameters.first { $0.name == name }?.value
        }

        var specificity: Int { (type == "*" ? 0 : 2) + (subtype == "*" ? 0 : 1) }
    }

    public static func format(accept: String?) -> ExpositionFormat {
        guard let accept, !accept.isEmpty else { return .text }
        for r in mediaRanges(accept) {
            let type = r.type.lowercased()
            let subtype = r.subtype.lowercased()
            if type == "application" && subtype == "vnd.google.protobuf" {
                if r.parameter("proto") == "io.prometheus.client.MetricFamily" && r.parameter("encoding") == "delimited" {
                    return .protobuf
                }
                continue
            }
            let version = r.parameter("version")
            if type == "text" && subtype == "plain" && (version == nil || version == "0.0.4") {
                return .text
            }
            // client_golang answers 0.0.1 requests with the 0.0.1 flavour; 1.0.0 is a superset
            // every OpenMetrics parser reads, so it is served for both.
            if type == "application" && subtype == "openmetrics-text"
                && (version == nil || version == "1.0.0" || version == "0.0.1")
            {
                return .openMetrics
            }
        }
        return .text
    }

    /// Whether the response may be gzipped: `gzip` (or `*`, when gzip is not named) with a
    /// q-value above zero.
    public static func acceptsGzip(_ acceptEncoding: String?) -> Bool {
        guard let acceptEncoding else { return false }
        var gzip: Double?
        var star: Double?
        for part in acceptEncoding.split(separator: ",") {
            let fields = part.split(separator: ";")
            guard let first = fields.first else { continue }
            let coding = trim(first).lowercased()
            var q = 1.0
            for p in fields.dropFirst() {
                let kv = p.split(separator: "=", maxSplits: 1)
                if kv.count == 2, trim(kv[0]).lowercased() == "q" {
                    q = Double(trim(kv[1])) ?? 0
                }
            }
            if coding == "gzip" || coding == "x-gzip" {
                gzip = max(gzip ?? 0, q)
            } else if coding == "*" {
                star = q
            }
        }
        if let gzip { return gzip > 0 }
        return (star ?? 0) > 0
    }

    /// Parses `Accept` into media ranges with q > 0, most preferred first. Equal preferences
    /// keep the header's order.
    static func mediaRanges(_ accept: String) -> [MediaRange] {
        var out: [(Int, MediaRange)] = []
        for (i, part) in accept.split(separator: ",").enumerated() {
            let fields = part.split(separator: ";")
            guard let first = fields.first else { continue }
            let media = trim(first)
            let ts = media.split(separator: "/", maxSplits: 1)
            guard ts.count == 2 else { continue }
            var r = MediaRange(type: trim(ts[0]), subtype: trim(ts[1]), parameters: [], q: 1)
            for p in fields.dropFirst() {
                let kv = p.split(separator: "=", maxSplits: 1)
                guard kv.count == 2 else { continue }
                let name = trim(kv[0]).lowercased()
                var value = trim(kv[1])
                if value.count >= 2, value.first == "\"", value.last == "\"" {
                    value = value.dropFirst().dropLast()
                }
                if name == "q" {
                    r.q = Double(value) ?? 0
                } else {
                    r.parameters.append((name, value))
                }
            }
            if r.q > 0 { out.append((i, r)) }
        }
        out.sort { a, b in
            if a.1.q != b.1.q { return a.1.q > b.1.q }
            if a.1.specificity != b.1.specificity { return a.1.specificity > b.1.specificity }
            return a.0 < b.0
        }
        return out.map(\.1)
    }

    private static func trim(_ s: Substring) -> Substring {
        var s = s
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return s
    }
}
