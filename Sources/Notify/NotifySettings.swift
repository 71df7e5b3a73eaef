import LookoutCore

/// `notify:` in the config.
public struct NotifySettings: Sendable, Hashable {
    public var webhooks: [WebhookSettings] = []
    /// Alertmanager base URLs; alerts are POSTed to `<url>/api/v2/alerts`.
    public var alertmanagers: [String] = []
    /// Directory of the durable outbox; relative paths are under the working directory.
    public var outbox: String = "data/outbox"

    public init() {}

    public static let keys = ["webhooks", "alertmanagers", "outbox"]

    public static func parse(_ value: YAMLValue) -> NotifySettings {
        var s = NotifySettings()
        guard let m = value.mapping("notify", allowedKeys: keys) else { return s }
        if let items = m["webhooks"]?.sequence("notify.webhooks") {
            for (i, item) in items.enumerated() {
                if let w = WebhookSettings.parse(item, index: i) { s.webhooks.append(w) }
            }
        }
        if let v = m["alertmanagers"]?.stringList("notify.alertmanagers") { s.alertmanagers = v }
        if let v = m["outbox"]?.string("notify.outbox") { s.outbox = v }
        return s
    }
}

/// One entry of `notify.webhooks`.
public struct WebhookSettings: Sendable, Hashable {
    public var url: String
    public var sendResolved = true
    public var groupWait: Duration = .seconds(5)
    public var hmacSecretFile: String?

    public init(url: String) { self.url = url }

    public static let keys = ["url", "send_resolved", "group_wait", "hmac_secret_file"]

    public static func parse(_ value: YAMLValue, index: Int) -> WebhookSettings? {
        let what = "notify.webhooks[\(index)]"
        guard let m = value.mapping(what, allowedKeys: keys) else { return nil }
        guard let url = m.required("url")?.string("\(what).url") else { return nil }
        var w = WebhookSettings(url: url)
        if let v = m["send_resolved"]?.bool("\(what).send_resolved") { w.sendResolved = v }
        if let v = m["group_wait"]?.duration("\(what).group_wait") { w.groupWait = v }
        if let v = m["hmac_secret_file"]?.string("\(what).hmac_secret_file") { w.hmacSecretFile = v }
        return w
    }
}
