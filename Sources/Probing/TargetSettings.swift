import LookoutCore

/// The endpoints a target can have; the `endpoint` label value.
public enum EndpointKind: String, Sendable, Hashable, CaseIterable, Comparable {
    case metrics, live, ready, health, detailed

    public static func < (a: Self, b: Self) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// One entry of `targets:`.
public struct TargetSettings: Sendable, Hashable {
    /// The `target` label value.
    public var name: String
    /// URL of the Prometheus exposition to scrape, if any.
    public var metrics: String?
    /// Health endpoints by kind (`live`, `ready`, `health`, `detailed`).
    public var health: [EndpointKind: String] = [:]
    public var interval: Duration = .seconds(15)
    /// Total time allowed for one request.
    public var timeout: Duration = .seconds(5)
    public var connectTimeout: Duration = .seconds(2)
    public var bodySizeLimit: Int = 10 << 20
    public var sampleLimit: Int = 50_000

    public init(name: String) { self.name = name }

    /// Every configured endpoint with its URL, in a stable order.
    public var endpoints: [(kind: EndpointKind, url: String)] {
        var out: [(EndpointKind, String)] = []
        if let metrics { out.append((.metrics, metrics)) }
        for kind in EndpointKind.allCases where kind != .metrics {
            if let url = health[kind] { out.append((kind, url)) }
        }
        return out
    }

    public static let keys = [
        "name", "metrics", "health", "interval", "timeout", "connect_timeout", "body_size_limit", "sample_limit",
    ]

    public static func parse(_ value: YAMLValue, index: Int) -> TargetSettings? {
        let what = "targets[\(index)]"
        guard let m = value.mapping(what, allowedKeys: keys) else { return nil }
        guard let name = m.required("name")?.string("\(what).name") else { return nil }
        var t = TargetSettings(name: name)
        if let v = m["metrics"], let url = parseURL(v, "\(what).metrics") { t.metrics = url }
        if let h = m["health"], let hm = h.mapping("\(what).health", allowedKeys: ["live", "ready", "health", "detailed"]) {
            for (key, _, v) in hm.entries {
                if let url = parseURL(v, "\(what).health.\(key)") { t.health[EndpointKind(rawValue: key)!] = url }
            }
        }
        if let v = m["interval"]?.duration("\(what).interval", positive: true) { t.interval = v }
        if let v = m["timeout"]?.duration("\(what).timeout", positive: true) { t.timeout = v }
        if let v = m["connect_timeout"]?.duration("\(what).connect_timeout", positive: true) { t.connectTimeout = v }
        if let v = m["body_size_limit"]?.byteSize("\(what).body_size_limit") { t.bodySizeLimit = v }
        if let v = m["sample_limit"]?.int("\(what).sample_limit", range: 0...Int(Int32.max)) { t.sampleLimit = v }
        if t.metrics == nil && t.health.isEmpty {
            m.error("\(what) (\(name)) has no endpoints: set metrics and/or health")
        }
        if t.timeout > t.interval {
            m.error("\(what) (\(name)): timeout \(PromDuration.format(t.timeout)) is longer than interval \(PromDuration.format(t.interval))")
        }
        return t
    }

    static func parseURL(_ v: YAMLValue, _ what: String) -> String? {
        guard let url = v.string(what) else { return nil }
        guard url.hasPrefix("http://") || url.hasPrefix("https://"), url.count > 8 else {
            v.error("\(what) must be an http:// or https:// URL, found \"\(url)\"")
            return nil
        }
        return url
    }
}
