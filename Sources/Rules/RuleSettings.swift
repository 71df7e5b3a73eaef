import Config
import LookoutCore

/// `rules:` in the config.
public struct RuleSettings: Sendable, Hashable {
    /// Rule files; nil means the embedded default (`alerts/lookout.rules.yml`).
    public var files: [String]?
    /// Evaluation interval of groups that do not set their own.
    public var interval: Duration = .seconds(1)

    public init() {}

    public static let keys = ["files", "interval"]

    public static func parse(_ value: YAMLValue) -> RuleSettings {
        var s = RuleSettings()
        guard let m = value.mapping("rules", allowedKeys: keys) else { return s }
        if let v = m["files"]?.stringList("rules.files") { s.files = v }
        if let v = m["interval"]?.duration("rules.interval", positive: true) { s.interval = v }
        return s
    }
}
