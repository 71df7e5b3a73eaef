import Config
import Exposition
import LookoutCore
import Series

/// The endpoints a target can have; the `endpoint` label value.
public enum EndpointKind: String, Sendable, Hashable, CaseIterable, Comparable {
    case metrics, live, ready, health, detailed

    public static func < (a: Self, b: Self) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// One endpoint to probe and what counts as success.
public struct EndpointSettings: Sendable, Hashable {
    public var url: String
    /// Statuses that count as success; empty means any 2xx.
    public var expectedStatuses: [Int]
    /// An optional check of the body, applied after the status check.
    public var bodyCheck: BodyCheck?
    /// How the body is read per component (`parse:`); nil means the endpoint's default.
    public var parse: HealthBodyFormat?

    public init(url: String, expectedStatuses: [Int] = [], bodyCheck: BodyCheck? = nil, parse: HealthBodyFormat? = nil) {
        self.url = url
        self.expectedStatuses = expectedStatuses
        self.bodyCheck = bodyCheck
        self.parse = parse
    }

    /// `parse:` as set, else `auto` for the `detailed` endpoint and `none` for the others.
    public func bodyFormat(for kind: EndpointKind) -> HealthBodyFormat {
        parse ?? (kind == .detailed ? .auto : .none)
    }

    public func statusIsExpected(_ status: Int) -> Bool {
        expectedStatuses.isEmpty ? (200...299).contains(status) : expectedStatuses.contains(status)
    }
}

/// What the body of a health answer must contain.
public enum BodyCheck: Sendable, Hashable, CustomStringConvertible {
    /// The body (as UTF-8 text) contains a match of the regex anywhere.
    case regex(BodyPattern)
    /// The body is JSON and the field at `path` (dot-separated, e.g. `status` or
    /// `checks.db.status`; array elements by index) has this value as text
    /// (`"UP"` matches the string UP, `true` and `1` match the boolean and the number).
    case jsonField(path: String, equals: String)

    public var description: String {
        switch self {
        case .regex(let p): return "body matches /\(p.pattern)/"
        case .jsonField(let path, let value): return "JSON field \(path) == \"\(value)\""
        }
    }
}

/// A regular expression searched for anywhere in a body (not anchored, unlike the config's
/// label regexes), compiled once when the config loads. RE2: linear in the body's length.
public final class BodyPattern: Sendable, Hashable {
    public let regex: RE2Regex
    public var pattern: String { regex.pattern }

    public init(_ pattern: String) throws(RE2Regex.SyntaxError) {
        regex = try RE2Regex(pattern)
    }

    public func matches(_ text: String) -> Bool { regex.search(text) }

    public static func == (a: BodyPattern, b: BodyPattern) -> Bool { a.regex == b.regex }
    public func hash(into h: inout Hasher) { h.combine(regex) }
}

/// One entry of `targets:`.
public struct TargetSettings: Sendable, Hashable {
    /// The `target` label value.
    public var name: String
    /// URL of the Prometheus exposition to scrape, if any.
    public var metrics: String?
    /// Health endpoints by kind (`live`, `ready`, `health`, `detailed`).
    public var health: [EndpointKind: EndpointSettings] = [:]
    public var interval: Duration = .seconds(15)
    /// Headers, auth, TLS, the timeouts (total and connect) and redirects of every request to
    /// the target. Redirects are not followed by default: a health endpoint that redirects is
    /// usually misconfigured.
    public var http = HTTPClientConfig()
    public var bodySizeLimit: Int = 10 << 20
    public var sampleLimit: Int = 50_000
    /// Labels per scraped sample, bytes of a label name, bytes of a label value; 0 = no limit.
    public var labelLimit: Int = 0
    public var labelNameLengthLimit: Int = 0
    public var labelValueLengthLimit: Int = 0

    public init(name: String) { self.name = name }

    /// The limits a scrape of `metrics` must stay within (a scrape over any is rejected whole).
    public var scrapeLimits: ScrapeLimits {
        ScrapeLimits(
            sampleLimit: sampleLimit, labelLimit: labelLimit, labelNameLengthLimit: labelNameLengthLimit,
            labelValueLengthLimit: labelValueLengthLimit, bodySizeLimit: bodySizeLimit)
    }

    /// Every configured endpoint, in a stable order (metrics, live, ready, health, detailed).
    public var endpoints: [(kind: EndpointKind, settings: EndpointSettings)] {
        var out: [(EndpointKind, EndpointSettings)] = []
        if let metrics { out.append((.metrics, EndpointSettings(url: metrics))) }
        for kind in EndpointKind.allCases where kind != .metrics {
            if let e = health[kind] { out.append((kind, e)) }
        }
        return out
    }

    public static let keys =
        [
            "name", "metrics", "health", "interval", "timeout", "connect_timeout", "body_size_limit", "sample_limit",
            "label_limit", "label_name_length_limit", "label_value_length_limit",
        ] + HTTPClientConfig.keys
    static let endpointKeys = ["url", "expect_status", "body_regex", "json_field", "json_value", "parse"]

    /// - Parameter readSecret: reads secret files (`bearer_token_file`, `basic_auth.password_file`).
    public static func parse(
        _ value: YAMLValue, index: Int, readSecret: SecretFile.Reader = SecretFile.readBytes
    ) -> TargetSettings? {
        let what = "targets[\(index)]"
        guard let m = value.mapping(what, allowedKeys: keys) else { return nil }
        guard let name = m.required("name")?.string("\(what).name") else { return nil }
        if name.isEmpty { m["name"]?.error("\(what).name must not be empty") }
        var t = TargetSettings(name: name)
        if let v = m["metrics"], let url = parseURL(v, "\(what).metrics") { t.metrics = url }
        if let h = m["health"], let hm = h.mapping("\(what).health", allowedKeys: ["live", "ready", "health", "detailed"]) {
            for (key, _, v) in hm.entries where !v.isNull {
                if let e = parseEndpoint(v, "\(what).health.\(key)") { t.health[EndpointKind(rawValue: key)!] = e }
            }
        }
        if let v = m["interval"]?.duration("\(what).interval", positive: true) { t.interval = v }
        if let v = m["body_size_limit"]?.byteSize("\(what).body_size_limit") { t.bodySizeLimit = v }
        if let v = m["sample_limit"]?.int("\(what).sample_limit", range: 0...Int(Int32.max)) { t.sampleLimit = v }
        if let v = m["label_limit"]?.int("\(what).label_limit", range: 0...Int(Int32.max)) { t.labelLimit = v }
        if let v = m["label_name_length_limit"]?.int("\(what).label_name_length_limit", range: 0...Int(Int32.max)) {
            t.labelNameLengthLimit = v
        }
        if let v = m["label_value_length_limit"]?.int("\(what).label_value_length_limit", range: 0...Int(Int32.max)) {
            t.labelValueLengthLimit = v
        }
        t.http = HTTPClientConfig.parse(m, what, readSecret: readSecret)
        if t.metrics == nil && t.health.isEmpty {
            m.error("\(what) (\(name)) has no endpoints: set metrics and/or health")
        }
        if t.http.timeout > t.interval {
            m.error(
                "\(what) (\(name)): timeout \(PromDuration.format(t.http.timeout)) is longer than interval \(PromDuration.format(t.interval))"
            )
        }
        if t.http.connectTimeout > t.http.timeout {
            if m.contains("connect_timeout") {
                m.error(
                    "\(what) (\(name)): connect_timeout \(PromDuration.format(t.http.connectTimeout)) is longer than timeout \(PromDuration.format(t.http.timeout))"
                )
            } else {
                // The default connect timeout never outlasts a shorter total timeout.
                t.http.connectTimeout = t.http.timeout
            }
        }
        return t
    }

    static func parseURL(_ v: YAMLValue, _ what: String) -> String? {
        v.httpURL(what)?.text
    }

    /// A health endpoint: a URL, or `{url, expect_status, body_regex, json_field, json_value, parse}`.
    static func parseEndpoint(_ v: YAMLValue, _ what: String) -> EndpointSettings? {
        if case .scalar = v.node {
            return parseURL(v, what).map { EndpointSettings(url: $0) }
        }
        guard let m = v.mapping(what, allowedKeys: endpointKeys) else { return nil }
        guard let urlValue = m.required("url"), let url = parseURL(urlValue, "\(what).url") else { return nil }
        var e = EndpointSettings(url: url)
        if let s = m["expect_status"], let items = s.sequence("\(what).expect_status") {
            for (i, item) in items.enumerated() {
                if let code = item.int("\(what).expect_status[\(i)]", range: 100...599) { e.expectedStatuses.append(code) }
            }
            if items.isEmpty { s.error("\(what).expect_status must list at least one status") }
        }
        let regexValue = m["body_regex"], fieldValue = m["json_field"], jsonValue = m["json_value"]
        if let regexValue, let pattern = regexValue.string("\(what).body_regex") {
            do {
                e.bodyCheck = .regex(try BodyPattern(pattern))
            } catch {
                regexValue.error("\(what).body_regex: \(error)")
            }
        }
        if let fieldValue, let field = fieldValue.string("\(what).json_field") {
            if regexValue != nil {
                fieldValue.error("\(what): set body_regex or json_field, not both")
            } else if field.isEmpty || field.split(separator: ".", omittingEmptySubsequences: false).contains(where: \.isEmpty) {
                fieldValue.error("\(what).json_field must be a dot-separated path like \"status\" or \"checks.db.status\", found \"\(field)\"")
            } else if let jsonValue {
                if let expected = jsonValue.string("\(what).json_value") { e.bodyCheck = .jsonField(path: field, equals: expected) }
            } else {
                m.error("\(what): json_field needs json_value (the value the field must have)")
            }
        } else if let jsonValue {
            jsonValue.error("\(what): json_value needs json_field")
        }
        if let parseValue = m["parse"], let text = parseValue.string("\(what).parse") {
            if let format = HealthBodyFormat(rawValue: text) {
                e.parse = format
            } else {
                let names = HealthBodyFormat.allCases.map(\.rawValue).joined(separator: ", ")
                parseValue.error("\(what).parse must be one of \(names), found \"\(text)\"")
            }
        }
        return e
    }
}
