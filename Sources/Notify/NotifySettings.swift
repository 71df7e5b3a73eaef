import LookoutCore
import Series

/// `notify:` in the config.
///
/// ```yaml
/// notify:
///   webhooks:
///     - url: http://127.0.0.1:5001/hook
///       name: oncall                 # default: the URL's host[:port]
///       send_resolved: true
///       group_by: [alertname, target]  # [...] groups by all labels
///       group_wait: 5s
///       group_interval: 5m
///       repeat_interval: 4h
///       max_alerts: 0                # 0: no limit
///       timeout: 10s
///       bearer_token_file: /etc/lookout/hook.token   # or bearer_token, or basic_auth
///       hmac_secret_file: /etc/lookout/hook.key      # or hmac_secret
///   inhibit_rules:                   # default: a critical alert of a target inhibits its warnings
///     - source_matchers: ['severity="critical"', 'target=~".+"']
///       target_matchers: ['severity="warning"']
///       equal: [target]
///   alertmanagers: [http://127.0.0.1:9093]
///   resend_delay: 1m                 # how often still-firing alerts are re-sent to Alertmanager
///   alertmanager_timeout: 10s
///   outbox: data/outbox
///   outbox_max_entries: 10000
///   outbox_max_bytes: 16MiB
///   outbox_compaction_min_bytes: 1MiB  # the log is rewritten once this large and mostly acked
///   min_backoff: 500ms
///   max_backoff: 5m
///   external_url: http://lookout.example:9477
/// ```
public struct NotifySettings: Sendable, Hashable {
    public var webhooks: [WebhookSettings] = []
    /// Alertmanager base URLs; alerts are POSTed to `<url>/api/v2/alerts`.
    public var alertmanagers: [String] = []
    /// Applied to webhook receivers before grouping. Alertmanager does its own inhibition.
    public var inhibitRules: [InhibitRule] = InhibitRule.defaults
    /// Directory of the durable outbox; relative paths are under the working directory.
    public var outbox: String = "data/outbox"
    /// The outbox keeps at most this many undelivered notifications; the oldest go first.
    public var outboxMaxEntries: Int = 10_000
    /// ... and at most this many bytes of them.
    public var outboxMaxBytes: Int = 16 << 20
    /// The outbox log is rewritten without its acked records once it is at least this large
    /// (and more than half dead). Smaller means less disk, more rewrites; nil leaves the
    /// notifier's default (1 MiB).
    public var outboxCompactionMinBytes: Int?
    /// First retry delay; each failure doubles it (with jitter) up to `maxBackoff`.
    public var minBackoff: Duration = .milliseconds(500)
    public var maxBackoff: Duration = .seconds(300)
    /// Alerts still firing are re-sent to Alertmanager this often (Prometheus' `--rules.alert.resend-delay`).
    public var resendDelay: Duration = .seconds(60)
    public var alertmanagerTimeout: Duration = .seconds(10)
    /// `externalURL` of webhook payloads; when nil the agent's own URL is used.
    public var externalURL: String?

    public init() {}

    public static let keys = [
        "webhooks", "alertmanagers", "inhibit_rules", "outbox", "outbox_max_entries", "outbox_max_bytes",
        "outbox_compaction_min_bytes",
        "min_backoff", "max_backoff", "resend_delay", "alertmanager_timeout", "external_url",
    ]

    public static func parse(_ value: YAMLValue) -> NotifySettings {
        var s = NotifySettings()
        guard let m = value.mapping("notify", allowedKeys: keys) else { return s }
        if let items = m["webhooks"]?.sequence("notify.webhooks") {
            var seen: [String: Int] = [:]
            for (i, item) in items.enumerated() {
                guard let w = WebhookSettings.parse(item, index: i) else { continue }
                if let first = seen[w.name] {
                    item.error(
                        "notify.webhooks[\(i)]: receiver name \"\(w.name)\" is already used by notify.webhooks[\(first)]; set a distinct name"
                    )
                    continue
                }
                seen[w.name] = i
                s.webhooks.append(w)
            }
        }
        if let items = m["alertmanagers"]?.sequence("notify.alertmanagers") {
            for (i, item) in items.enumerated() {
                guard let url = parseURL(item, "notify.alertmanagers[\(i)]") else { continue }
                s.alertmanagers.append(url.hasSuffix("/") ? String(url.dropLast()) : url)
            }
        }
        if m.contains("inhibit_rules") {
            s.inhibitRules = []
            if let items = m["inhibit_rules"]?.sequence("notify.inhibit_rules") {
                for (i, item) in items.enumerated() {
                    if let r = InhibitRule.parse(item, index: i) { s.inhibitRules.append(r) }
                }
            }
        }
        if let v = m["outbox"]?.string("notify.outbox") {
            if v.isEmpty { m["outbox"]?.error("notify.outbox must not be empty") } else { s.outbox = v }
        }
        if let v = m["outbox_max_entries"]?.int("notify.outbox_max_entries", range: 1...10_000_000) {
            s.outboxMaxEntries = v
        }
        if let node = m["outbox_max_bytes"], let v = node.byteSize("notify.outbox_max_bytes") {
            if v < 4096 { node.error("notify.outbox_max_bytes must be at least 4KiB, found \(v) bytes") } else {
                s.outboxMaxBytes = v
            }
        }
        if let node = m["outbox_compaction_min_bytes"], let v = node.byteSize("notify.outbox_compaction_min_bytes") {
            s.outboxCompactionMinBytes = v
        }
        if let v = m["min_backoff"]?.duration("notify.min_backoff", positive: true) { s.minBackoff = v }
        if let v = m["max_backoff"]?.duration("notify.max_backoff", positive: true) { s.maxBackoff = v }
        if s.maxBackoff < s.minBackoff {
            m.error(
                "notify: max_backoff \(PromDuration.format(s.maxBackoff)) is shorter than min_backoff \(PromDuration.format(s.minBackoff))"
            )
        }
        if let v = m["resend_delay"]?.duration("notify.resend_delay", positive: true) { s.resendDelay = v }
        if let v = m["alertmanager_timeout"]?.duration("notify.alertmanager_timeout", positive: true) {
            s.alertmanagerTimeout = v
        }
        if let node = m["external_url"], let v = parseURL(node, "notify.external_url") { s.externalURL = v }
        return s
    }

    static func parseURL(_ v: YAMLValue, _ what: String) -> String? {
        guard let url = v.string(what) else { return nil }
        guard URLParts(url) != nil else {
            v.error("\(what) must be an http:// or https:// URL with a host, found \"\(url)\"")
            return nil
        }
        return url
    }
}

/// One entry of `notify.webhooks`: a receiver of Alertmanager's webhook payload (version 4).
public struct WebhookSettings: Sendable, Hashable {
    public var url: String
    /// The `receiver` of the payload and the `receiver` label of the metrics.
    public var name: String
    public var sendResolved = true
    /// Labels that make up a group; `["..."]` groups by all labels (one alert per group).
    public var groupBy: [String] = ["alertname", "target"]
    public var groupWait: Duration = .seconds(5)
    public var groupInterval: Duration = .seconds(300)
    public var repeatInterval: Duration = .seconds(4 * 3600)
    /// At most this many alerts per payload (the rest are counted in `truncatedAlerts`); 0 means no limit.
    public var maxAlerts = 0
    public var timeout: Duration = .seconds(10)
    public var bearerToken: Secret?
    public var bearerTokenFile: String?
    public var basicAuth: BasicAuth?
    /// Key of the `X-Lookout-Signature: sha256=<hex>` header (HMAC-SHA256 of the body).
    public var hmacSecret: Secret?
    public var hmacSecretFile: String?

    public struct BasicAuth: Sendable, Hashable {
        public var username: String
        public var password: Secret
        public var passwordFile: String?

        public init(username: String, password: Secret, passwordFile: String? = nil) {
            self.username = username
            self.password = password
            self.passwordFile = passwordFile
        }
    }

    /// A receiver named after the URL's host unless `name` is given.
    public init(url: String, name: String? = nil) {
        self.url = url
        self.name = name ?? URLParts(url)?.hostPort ?? url
    }

    /// `group_by: [...]`: every label is a grouping label.
    public var groupsByAll: Bool { groupBy == ["..."] }

    public static let keys = [
        "url", "name", "send_resolved", "group_by", "group_wait", "group_interval", "repeat_interval", "max_alerts",
        "timeout", "bearer_token", "bearer_token_file", "basic_auth", "hmac_secret", "hmac_secret_file",
    ]

    public static func parse(_ value: YAMLValue, index: Int) -> WebhookSettings? {
        let what = "notify.webhooks[\(index)]"
        guard let m = value.mapping(what, allowedKeys: keys) else { return nil }
        guard let urlNode = m.required("url"), let url = NotifySettings.parseURL(urlNode, "\(what).url") else {
            return nil
        }
        var name: String?
        if let node = m["name"], let v = node.string("\(what).name") {
            if v.isEmpty { node.error("\(what).name must not be empty") } else { name = v }
        }
        var w = WebhookSettings(url: url, name: name)
        if let v = m["send_resolved"]?.bool("\(what).send_resolved") { w.sendResolved = v }
        if let node = m["group_by"], let v = node.stringList("\(what).group_by") {
            if v.contains("...") && v.count > 1 {
                node.error("\(what).group_by: \"...\" must be the only item (it groups by all labels)")
            } else if let bad = v.first(where: { $0 != "..." && !MetricNames.isValidLabelName($0) }) {
                node.error("\(what).group_by: \"\(bad)\" is not a valid label name")
            } else {
                w.groupBy = v
            }
        }
        if let v = m["group_wait"]?.duration("\(what).group_wait") { w.groupWait = v }
        if let v = m["group_interval"]?.duration("\(what).group_interval", positive: true) { w.groupInterval = v }
        if let v = m["repeat_interval"]?.duration("\(what).repeat_interval", positive: true) { w.repeatInterval = v }
        if let v = m["max_alerts"]?.int("\(what).max_alerts", range: 0...1_000_000) { w.maxAlerts = v }
        if let v = m["timeout"]?.duration("\(what).timeout", positive: true) { w.timeout = v }

        if m["bearer_token"] != nil && m["bearer_token_file"] != nil {
            m.error("\(what): set at most one of bearer_token and bearer_token_file")
        } else if let node = m["bearer_token"], let v = node.string("\(what).bearer_token") {
            if v.isEmpty { node.error("\(what).bearer_token must not be empty") } else { w.bearerToken = Secret(v) }
        } else if let node = m["bearer_token_file"], let path = node.string("\(what).bearer_token_file") {
            w.bearerTokenFile = path
            w.bearerToken = readSecret(node, path, "\(what).bearer_token_file", trim: .whitespace)
        }
        if let node = m["basic_auth"] {
            if w.bearerToken != nil || w.bearerTokenFile != nil {
                node.error("\(what): set either a bearer token or basic_auth, not both")
            } else {
                w.basicAuth = parseBasicAuth(node, "\(what).basic_auth")
            }
        }
        if m["hmac_secret"] != nil && m["hmac_secret_file"] != nil {
            m.error("\(what): set at most one of hmac_secret and hmac_secret_file")
        } else if let node = m["hmac_secret"], let v = node.string("\(what).hmac_secret") {
            if v.isEmpty { node.error("\(what).hmac_secret must not be empty") } else { w.hmacSecret = Secret(v) }
        } else if let node = m["hmac_secret_file"], let path = node.string("\(what).hmac_secret_file") {
            w.hmacSecretFile = path
            w.hmacSecret = readSecret(node, path, "\(what).hmac_secret_file", trim: .lineEnd)
        }
        return w
    }

    static func parseBasicAuth(_ value: YAMLValue, _ what: String) -> BasicAuth? {
        guard let m = value.mapping(what, allowedKeys: ["username", "password", "password_file"]) else { return nil }
        guard let username = m.required("username")?.string("\(what).username") else { return nil }
        if m["password"] != nil && m["password_file"] != nil {
            m.error("\(what): set at most one of password and password_file")
            return nil
        }
        if let v = m["password"]?.string("\(what).password") {
            return BasicAuth(username: username, password: Secret(v))
        }
        if let node = m["password_file"], let path = node.string("\(what).password_file") {
            guard let secret = readSecret(node, path, "\(what).password_file", trim: .whitespace) else { return nil }
            return BasicAuth(username: username, password: secret, passwordFile: path)
        }
        m.error("\(what): missing password or password_file")
        return nil
    }

    enum Trim { case whitespace, lineEnd }

    /// Reads a secret when the config is loaded, so a reload picks up a rotated file. A relative
    /// path is relative to the config file's directory, as in Prometheus. The content never
    /// appears in a message.
    static func readSecret(_ node: YAMLValue, _ path: String, _ what: String, trim: Trim) -> Secret? {
        let full = resolve(path, relativeTo: node.document.file)
        let bytes: [UInt8]
        do {
            bytes = try FileIO.read(full, limit: 1 << 16)
        } catch {
            node.error("cannot read \(what): \(error)")
            return nil
        }
        var slice = bytes[...]
        let isSpace: (UInt8) -> Bool = { $0 == 32 || $0 == 9 || $0 == 10 || $0 == 13 }
        switch trim {
        case .whitespace:
            while let f = slice.first, isSpace(f) { slice = slice.dropFirst() }
            while let l = slice.last, isSpace(l) { slice = slice.dropLast() }
        case .lineEnd:
            // A key file may hold any bytes; only the line end editors add is not part of it.
            while let l = slice.last, l == 10 || l == 13 { slice = slice.dropLast() }
        }
        guard !slice.isEmpty else {
            node.error("\(what): \(full) is empty")
            return nil
        }
        return Secret(Array(slice))
    }

    static func resolve(_ path: String, relativeTo configFile: String) -> String {
        guard !path.hasPrefix("/"), let slash = configFile.lastIndex(of: "/") else { return path }
        return String(configFile[...slash]) + path
    }
}

/// A credential loaded from the config. It never prints: `description`, `debugDescription`
/// and reflection (`dump`) show `<secret>`.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public let bytes: [UInt8]

    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public init(_ text: String) { self.bytes = Array(text.utf8) }

    public var text: String { String(decoding: bytes, as: UTF8.self) }
    public var description: String { "<secret>" }
    public var debugDescription: String { "<secret>" }
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}

/// One entry of `notify.inhibit_rules`, as in Alertmanager: while an alert matching all
/// `sourceMatchers` fires, alerts matching all `targetMatchers` that have the same values
/// for the `equal` labels are not notified.
public struct InhibitRule: Sendable, Hashable {
    public var sourceMatchers: [LabelMatcher]
    public var targetMatchers: [LabelMatcher]
    public var equal: [String]

    public init(sourceMatchers: [LabelMatcher], targetMatchers: [LabelMatcher], equal: [String]) {
        self.sourceMatchers = sourceMatchers
        self.targetMatchers = targetMatchers
        self.equal = equal
    }

    /// DESIGN's "a critical alert of a target inhibits that target's warning": per target,
    /// across its endpoints (a timeout on /health/live makes a slow /health/ready noise).
    /// The source must have a `target`, so an alert without one (LookoutOverhead, or a
    /// user's host-wide critical) never silences warnings that have no target either,
    /// which Alertmanager's "missing equals empty" rule would otherwise do.
    public static let defaults: [InhibitRule] = [
        InhibitRule(
            sourceMatchers: [
                try! LabelMatcher(parsing: "severity=\"critical\""), try! LabelMatcher(parsing: "target=~\".+\""),
            ],
            targetMatchers: [try! LabelMatcher(parsing: "severity=\"warning\"")],
            equal: ["target"])
    ]

    public static let keys = ["source_matchers", "target_matchers", "equal"]

    public static func parse(_ value: YAMLValue, index: Int) -> InhibitRule? {
        let what = "notify.inhibit_rules[\(index)]"
        guard let m = value.mapping(what, allowedKeys: keys) else { return nil }
        func matchers(_ key: String) -> [LabelMatcher]? {
            guard let items = m[key]?.sequence("\(what).\(key)") else { return [] }
            var out: [LabelMatcher] = []
            var ok = true
            for (i, item) in items.enumerated() {
                guard let text = item.string("\(what).\(key)[\(i)]") else {
                    ok = false
                    continue
                }
                do {
                    out.append(try LabelMatcher(parsing: text))
                } catch {
                    item.error("\(what).\(key)[\(i)]: \(error)")
                    ok = false
                }
            }
            return ok ? out : nil
        }
        guard let source = matchers("source_matchers"), let target = matchers("target_matchers") else { return nil }
        var equal: [String] = []
        if let node = m["equal"], let v = node.stringList("\(what).equal") {
            if let bad = v.first(where: { !MetricNames.isValidLabelName($0) }) {
                node.error("\(what).equal: \"\(bad)\" is not a valid label name")
                return nil
            }
            equal = v
        }
        if source.isEmpty && target.isEmpty {
            m.error("\(what): needs source_matchers or target_matchers")
            return nil
        }
        return InhibitRule(sourceMatchers: source, targetMatchers: target, equal: equal)
    }
}

/// The pieces of an http(s) URL the notifier needs: its scheme and `host[:port]`.
struct URLParts {
    var scheme: String
    var hostPort: String

    init?(_ url: String) {
        let b = Array(url.utf8)
        let schemeEnd: Int
        if b.starts(with: Array("http://".utf8)) {
            scheme = "http"
            schemeEnd = 7
        } else if b.starts(with: Array("https://".utf8)) {
            scheme = "https"
            schemeEnd = 8
        } else {
            return nil
        }
        var end = schemeEnd
        while end < b.count, b[end] != UInt8(ascii: "/"), b[end] != UInt8(ascii: "?"), b[end] != UInt8(ascii: "#") {
            end += 1
        }
        var authority = b[schemeEnd..<end]
        if let at = authority.lastIndex(of: UInt8(ascii: "@")) { authority = authority[(at + 1)...] }
        guard !authority.isEmpty, authority.first != UInt8(ascii: ":") else { return nil }
        hostPort = String(decoding: authority, as: UTF8.self)
    }
}
