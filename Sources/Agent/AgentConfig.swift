import Config
import LookoutCore
import Notify
import Probing
import RemoteWrite
import Rules
import Sampling

#if canImport(Glibc)
import Glibc
#endif

extension AgentConfig {
    /// `alerts/lookout.rules.yml`, embedded: the rules used when the config names none.
    public static let defaultRulesText = String(decoding: PackageResources.lookout_rules_yml, as: UTF8.self)
}

/// The whole configuration file (DESIGN.md, "Configuration").
public struct AgentConfig: Sendable, Hashable {
    public var listen: String = "0.0.0.0:9477"
    public var sampling = SamplerSettings()
    public var processes: [ProcessGroupSettings] = []
    public var targets: [TargetSettings] = []
    public var rules = RuleSettings()
    public var notify = NotifySettings()
    /// Off unless the config has a `remote_write` block.
    public var remoteWrite: RemoteWriteSettings?
    /// Where the config came from (a path, or "<default>").
    public var source: String = "<default>"

    public init() {}

    public static let keys = ["listen", "sampling", "processes", "targets", "rules", "notify", "remote_write"]

    /// The embedded default: the host and the agent's own process at 19 Hz, default rules, no
    /// targets. The agent's own stacks are not sampled: symbolizing its own symbol tables would
    /// cost more than they tell.
    public static var embeddedDefault: AgentConfig {
        var c = AgentConfig()
        c.processes = [ProcessGroupSettings(name: "lookout", selector: .current, threads: true, stacks: false)]
        return c
    }

    /// Parses a config file's text. Every problem is reported, each as `FILE:LINE:COL: message`.
    /// State the config does not place (the notification outbox) goes under `stateDirectory`
    /// (systemd's `$STATE_DIRECTORY` by default), else under `data/` beside the config file.
    public static func parse(
        _ text: String, file: String, stateDirectory: String? = AgentConfig.environmentStateDirectory()
    ) throws(Diagnostics) -> AgentConfig {
        let doc = YAMLDocument(text: text, file: file)
        var c = AgentConfig()
        c.source = file
        if let root = doc.root, !root.isNull, let m = root.mapping("config", allowedKeys: keys) {
            if let v = m["listen"], let listen = v.string("listen") {
                if ListenAddress(listen) == nil {
                    v.error("listen must be HOST:PORT, found \"\(listen)\"")
                } else {
                    c.listen = listen
                }
            }
            if let v = m["sampling"] { c.sampling = SamplerSettings.parse(v) }
            if let v = m["processes"]?.sequence("processes") {
                var seen: [String: SourceLocation] = [:]
                for (i, item) in v.enumerated() {
                    guard let g = ProcessGroupSettings.parse(item, index: i) else { continue }
                    if let first = seen[g.name] {
                        item.error("processes[\(i)]: duplicate group name \"\(g.name)\" (first at \(first))")
                        continue
                    }
                    seen[g.name] = item.location
                    c.processes.append(g)
                }
            }
            if let v = m["targets"]?.sequence("targets") {
                var seen: [String: SourceLocation] = [:]
                for (i, item) in v.enumerated() {
                    guard let t = TargetSettings.parse(item, index: i) else { continue }
                    if let first = seen[t.name] {
                        item.error("targets[\(i)]: duplicate target name \"\(t.name)\" (first at \(first))")
                        continue
                    }
                    seen[t.name] = item.location
                    c.targets.append(t)
                }
            }
            if let v = m["rules"] { c.rules = RuleSettings.parse(v) }
            if let v = m["notify"] { c.notify = NotifySettings.parse(v) }
            if let v = m["remote_write"], !v.isNull { c.remoteWrite = RemoteWriteSettings.parse(v) }
        }
        try doc.check()
        var resolved = c.resolvingRuleFiles
        if resolved.notify.outboxIsDefault {
            resolved.notify.outbox = Self.stateDirectory(stateDirectory, configFile: file) + "/outbox"
        }
        if resolved.remoteWrite?.walIsDefault == true {
            resolved.remoteWrite?.wal = Self.stateDirectory(stateDirectory, configFile: file) + "/wal"
        }
        return resolved
    }

    /// The first directory of `$STATE_DIRECTORY` (systemd sets it from `StateDirectory=`,
    /// colon-separated when there are several); nil when unset or empty.
    public static func environmentStateDirectory() -> String? {
        guard let v = getenv("STATE_DIRECTORY") else { return nil }
        let first = String(cString: v).split(separator: ":", omittingEmptySubsequences: true).first.map(String.init)
        return first?.isEmpty == false ? first : nil
    }

    /// Where the agent keeps its state: `stateDirectory` when given, else `data` beside the config file.
    static func stateDirectory(_ stateDirectory: String?, configFile: String) -> String {
        if let stateDirectory { return stateDirectory.count > 1 && stateDirectory.hasSuffix("/") ? String(stateDirectory.dropLast()) : stateDirectory }
        return ConfigPath.resolve("data", relativeTo: configFile)
    }

    /// Reads and parses a config file.
    public static func load(path: String) throws(Diagnostics) -> AgentConfig {
        let text: String
        do {
            text = try FileIO.readText(path)
        } catch {
            throw Diagnostics([Diagnostic("cannot read config: \(error)", file: path)])
        }
        return try parse(text, file: path)
    }
}

/// `HOST:PORT`, `[IPv6]:PORT` or `:PORT`.
public struct ListenAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port)
        else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        self.host = host.isEmpty ? "0.0.0.0" : host
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

extension AgentConfig {
    /// Checks the files a valid config refers to (rule files, secret files). Each problem names
    /// the file; rule-file problems carry their own file:line:col.
    public static func checkReferencedFiles(_ config: AgentConfig) -> [Diagnostic] {
        guard let files = config.rules.files else { return [] }
        return RuleFileLoader.load(files: files, maxLookback: config.rules.maxLookback).diagnostics
    }

    /// The config with rule file paths made relative to the config file's directory, as in Prometheus.
    var resolvingRuleFiles: AgentConfig {
        var c = self
        c.rules.files = rules.files?.map { ConfigPath.resolve($0, relativeTo: source) }
        return c
    }
}
