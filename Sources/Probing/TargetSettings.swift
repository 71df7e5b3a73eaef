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
/// label regexes), compiled once when the config loads.
public final class BodyPattern: @unchecked Sendable, Hashable {
    // @unchecked: `Regex` is an immutable value; `AnyRegexOutput` only lacks the annotation.
    public let pattern: String
    private let regex: Regex<AnyRegexOutput>

    public init(_ pattern: String) throws {
        self.pattern = pattern
        regex = try Regex(pattern)
    }

    public func matches(_ text: String) -> Bool {
        (try? regex.firstMatch(in: text)) != nil
    }

    public static func == (a: BodyPattern, b: BodyPattern) -> Bool { a.pattern == b.pattern }
    public func hash(into h: inout Hasher) { h.combine(pattern) }
}

/// How requests to a target authenticate. Secrets come from the config or from files read
/// when the config loads; they are never logged or shown in the APIs.
public enum TargetAuth: Sendable, Hashable {
    case bearer(Secret)
    case basic(BasicCredentials)
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
    /// Total time allowed for one request.
    public var timeout: Duration = .seconds(5)
    public var connectTimeout: Duration = .seconds(2)
    public var bodySizeLimit: Int = 10 << 20
    public var sampleLimit: Int = 50_000
    /// Labels per scraped sample, bytes of a label name, bytes of a label value; 0 = no limit.
    public var labelLimit: Int = 0
    public var labelNameLengthLimit: Int = 0
    public var labelValueLengthLimit: Int = 0
    /// Follow redirects (off by default: a health endpoint that redirects is usually misconfigured).
    public var followRedirects = false
    /// Extra request headers sent to every endpoint of the target.
    public var headers: [HTTPHeader] = []
    public var auth: TargetAuth?
    public var tls: TLSOptions?

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

    public static let keys = [
        "name", "metrics", "health", "interval", "timeout", "connect_timeout", "body_size_limit", "sample_limit",
        "label_limit", "label_name_length_limit", "label_value_length_limit", "follow_redirects", "headers",
        "bearer_token", "bearer_token_file", "basic_auth", "tls_config",
    ]
    static let endpointKeys = ["url", "expect_status", "body_regex", "json_field", "json_value", "parse"]

    /// Reads secret files (`bearer_token_file`, `basic_auth.password_file`); relative paths are
    /// resolved against the config file's directory before this is called.
    public typealias SecretReader = (String) throws -> String

    public static func readSecretFile(_ path: String) throws -> String {
        try FileIO.readText(path, limit: 1 << 20)
    }

    public static func parse(_ value: YAMLValue, index: Int, readSecret: SecretReader = readSecretFile) -> TargetSettings? {
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
        if let v = m["timeout"]?.duration("\(what).timeout", positive: true) { t.timeout = v }
        if let v = m["connect_timeout"]?.duration("\(what).connect_timeout", positive: true) { t.connectTimeout = v }
        if let v = m["body_size_limit"]?.byteSize("\(what).body_size_limit") { t.bodySizeLimit = v }
        if let v = m["sample_limit"]?.int("\(what).sample_limit", range: 0...Int(Int32.max)) { t.sampleLimit = v }
        if let v = m["label_limit"]?.int("\(what).label_limit", range: 0...Int(Int32.max)) { t.labelLimit = v }
        if let v = m["label_name_length_limit"]?.int("\(what).label_name_length_limit", range: 0...Int(Int32.max)) {
            t.labelNameLengthLimit = v
        }
        if let v = m["label_value_length_limit"]?.int("\(what).label_value_length_limit", range: 0...Int(Int32.max)) {
            t.labelValueLengthLimit = v
        }
        if let v = m["follow_redirects"]?.bool("\(what).follow_redirects") { t.followRedirects = v }
        if let v = m["headers"] { t.headers = parseHeaders(v, "\(what).headers") }
        t.auth = parseAuth(m, what, readSecret: readSecret)
        if t.auth != nil, let h = t.headers.first(where: { $0.name.lowercased() == "authorization" }) {
            m["headers"]?.error("\(what): header \"\(h.name)\" conflicts with bearer_token/basic_auth; set one of them")
        }
        if let v = m["tls_config"] { t.tls = parseTLS(v, "\(what).tls_config") }
        if t.metrics == nil && t.health.isEmpty {
            m.error("\(what) (\(name)) has no endpoints: set metrics and/or health")
        }
        if t.timeout > t.interval {
            m.error("\(what) (\(name)): timeout \(PromDuration.format(t.timeout)) is longer than interval \(PromDuration.format(t.interval))")
        }
        if t.connectTimeout > t.timeout {
            if m.contains("connect_timeout") {
                m.error(
                    "\(what) (\(name)): connect_timeout \(PromDuration.format(t.connectTimeout)) is longer than timeout \(PromDuration.format(t.timeout))"
                )
            } else {
                // The default connect timeout never outlasts a shorter total timeout.
                t.connectTimeout = t.timeout
            }
        }
        return t
    }

    /// `headers: {Name: value}`; names lookout sets itself are refused.
    public static func parseHeaders(_ v: YAMLValue, _ what: String, reserved: Set<String> = []) -> [HTTPHeader] {
        guard let pairs = v.stringMap(what) else { return [] }
        var headers: [HTTPHeader] = []
        for (key, value, location) in pairs {
            if !isToken(key) {
                v.document.error("\(what): \"\(key)\" is not a valid header name", at: location)
            } else if value.contains(where: { $0 == "\r" || $0 == "\n" }) {
                v.document.error("\(what).\(key): the value must not contain a line break", at: location)
            } else if ["user-agent", "host", "content-length"].contains(key.lowercased()) || reserved.contains(key.lowercased()) {
                v.document.error("\(what): \"\(key)\" is set by lookout and cannot be configured", at: location)
            } else {
                headers.append(HTTPHeader(key, value))
            }
        }
        return headers
    }

    public static func parseURL(_ v: YAMLValue, _ what: String) -> String? {
        guard let url = v.string(what) else { return nil }
        guard url.hasPrefix("http://") || url.hasPrefix("https://"), url.count > 8 else {
            v.error("\(what) must be an http:// or https:// URL, found \"\(url)\"")
            return nil
        }
        guard !url.contains(where: { $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" }) else {
            v.error("\(what) must not contain spaces or line breaks")
            return nil
        }
        return url
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
                regexValue.error("\(what).body_regex: invalid regex \"\(pattern)\": \(error)")
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

    public static func parseAuth(_ m: YAMLMapping, _ what: String, readSecret: SecretReader = readSecretFile) -> TargetAuth? {
        let token = m["bearer_token"], tokenFile = m["bearer_token_file"], basic = m["basic_auth"]
        if token != nil && tokenFile != nil {
            m.error("\(what): set bearer_token or bearer_token_file, not both")
            return nil
        }
        if (token != nil || tokenFile != nil) && basic != nil {
            m.error("\(what): set bearer_token or basic_auth, not both")
            return nil
        }
        if let token, let s = token.string("\(what).bearer_token") {
            if s.isEmpty { token.error("\(what).bearer_token must not be empty") }
            return .bearer(Secret(s))
        }
        if let tokenFile, let s = readSecretValue(tokenFile, "\(what).bearer_token_file", readSecret) {
            return .bearer(Secret(s))
        }
        if let basic, let b = basic.mapping("\(what).basic_auth", allowedKeys: ["username", "password", "password_file"]) {
            guard let user = b.required("username")?.string("\(what).basic_auth.username") else { return nil }
            let pw = b["password"], pwFile = b["password_file"]
            if pw != nil && pwFile != nil {
                b.error("\(what).basic_auth: set password or password_file, not both")
                return nil
            }
            var password = ""
            if let pw, let s = pw.string("\(what).basic_auth.password") { password = s }
            if let pwFile {
                guard let s = readSecretValue(pwFile, "\(what).basic_auth.password_file", readSecret) else { return nil }
                password = s
            }
            return .basic(BasicCredentials(username: user, password: Secret(password)))
        }
        return nil
    }

    /// `tls_config: {ca_file, cert_file, key_file, insecure_skip_verify}`; the files must be readable now.
    public static func parseTLS(_ v: YAMLValue, _ what: String) -> TLSOptions? {
        guard let m = v.mapping(what, allowedKeys: ["ca_file", "cert_file", "key_file", "insecure_skip_verify"]) else {
            return nil
        }
        var tls = TLSOptions()
        func file(_ key: String) -> String? {
            guard let value = m[key], let path = value.string("\(what).\(key)") else { return nil }
            let full = resolve(path, relativeTo: v.document.file)
            guard FileIO.exists(full) else {
                value.error("\(what).\(key): \(full) does not exist")
                return nil
            }
            return full
        }
        tls.caFile = file("ca_file")
        tls.certFile = file("cert_file")
        tls.keyFile = file("key_file")
        if (m["cert_file"] == nil) != (m["key_file"] == nil) {
            m.error("\(what): cert_file and key_file go together")
        }
        if let b = m["insecure_skip_verify"]?.bool("\(what).insecure_skip_verify") { tls.insecureSkipVerify = b }
        return tls
    }

    /// Reads a secret file; trailing and leading whitespace (the usual final newline) is dropped.
    static func readSecretValue(_ v: YAMLValue, _ what: String, _ read: SecretReader) -> String? {
        guard let path = v.string(what) else { return nil }
        guard !path.isEmpty else {
            v.error("\(what) must not be empty")
            return nil
        }
        let full = resolve(path, relativeTo: v.document.file)
        do {
            let text = try read(full).trimmingSpaces()
            if text.isEmpty {
                v.error("\(what): \(full) is empty")
                return nil
            }
            return text
        } catch {
            // The error names the file, never its contents.
            if let e = error as? FileIO.Error {
                v.error("\(what): cannot read \(e)")
            } else {
                v.error("\(what): cannot read \(full): \(error)")
            }
            return nil
        }
    }

    /// A relative path is relative to the directory of the config file, as in Prometheus.
    static func resolve(_ path: String, relativeTo configFile: String) -> String {
        if path.hasPrefix("/") { return path }
        guard let slash = configFile.lastIndex(of: "/") else { return path }
        return String(configFile[...slash]) + path
    }

    /// RFC 9110 token characters.
    static func isToken(_ s: String) -> Bool {
        !s.isEmpty
            && s.utf8.allSatisfy { b in
                (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122)
                    || "!#$%&'*+-.^_`|~".utf8.contains(b)
            }
    }
}
