import Config
import LookoutCore

/// `rules:` in the config.
public struct RuleSettings: Sendable, Hashable {
    /// Rule files; nil means the embedded default (`alerts/lookout.rules.yml`).
    public var files: [String]?
    /// Evaluation interval of groups that do not set their own.
    public var interval: Duration = .seconds(1)
    /// The longest history a rule may read (ranges, offsets, subqueries); a rule that needs
    /// more is a load error.
    public var maxLookback: Duration = RuleSettings.defaultMaxLookback

    public static let defaultMaxLookback: Duration = .seconds(3600)

    public init() {}

    public static let keys = ["files", "interval", "max_lookback"]

    public static func parse(_ value: YAMLValue) -> RuleSettings {
        var s = RuleSettings()
        guard let m = value.mapping("rules", allowedKeys: keys) else { return s }
        if let v = m["files"]?.stringList("rules.files") { s.files = v }
        if let v = m["interval"]?.duration("rules.interval", positive: true) { s.interval = v }
        if let v = m["max_lookback"]?.duration("rules.max_lookback", positive: true) { s.maxLookback = v }
        return s
    }
}
