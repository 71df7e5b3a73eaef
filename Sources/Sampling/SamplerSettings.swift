import Config
import LookoutCore

/// `sampling:` in the config.
public struct SamplerSettings: Sendable, Hashable {
    /// Ticks per second, 1...1000; 19 by default (a prime, so sampling never locks step with periodic work).
    public var frequency: Int = 19
    public var cpu: Bool = true
    /// Threads in uninterruptible sleep, by wait channel. Off by default: it costs a read per thread per tick.
    public var block: Bool = false
    /// Threads waiting in futex. Off by default.
    public var mutex: Bool = false
    /// Window of the `*_peak_ratio` gauges.
    public var peakWindow: Duration = .seconds(15)
    /// perf_event CPU stacks (user and kernel) of the groups' threads; a group's `stacks:`
    /// overrides it. Profiles are thread-level where stacks are off or refused.
    public var stacks: Bool = true
    /// When the copied user stack is unwound with DWARF CFI: `auto` (where the frame-pointer
    /// chain looks truncated), `always` or `never` (the raw values of Stacks' `DwarfUnwinding`).
    public var dwarfUnwinding: String = "auto"

    public init() {}

    public static let keys = ["frequency", "cpu", "block", "mutex", "stacks", "dwarf_unwinding", "peak_window"]
    public static let dwarfUnwindingValues = ["auto", "always", "never"]

    /// Reads the `sampling:` mapping; problems go to the value's document.
    public static func parse(_ value: YAMLValue) -> SamplerSettings {
        var s = SamplerSettings()
        guard let m = value.mapping("sampling", allowedKeys: keys) else { return s }
        if let v = m["frequency"]?.int("sampling.frequency", range: 1...1000) { s.frequency = v }
        if let v = m["cpu"]?.bool("sampling.cpu") { s.cpu = v }
        if let v = m["block"]?.bool("sampling.block") { s.block = v }
        if let v = m["mutex"]?.bool("sampling.mutex") { s.mutex = v }
        if let v = m["stacks"]?.bool("sampling.stacks") { s.stacks = v }
        if let v = m["dwarf_unwinding"]?.choice("sampling.dwarf_unwinding", dwarfUnwindingValues) { s.dwarfUnwinding = v }
        if let v = m["peak_window"]?.duration("sampling.peak_window", positive: true) { s.peakWindow = v }
        return s
    }
}

/// One entry of `processes:`: a named group of processes to watch.
public struct ProcessGroupSettings: Sendable, Hashable {
    /// The `group` label value.
    public var name: String
    public var selector: ProcessSelector
    /// Per-thread CPU series for this group.
    public var threads: Bool = false
    /// Stack sampling of this group's threads; nil follows `sampling.stacks`.
    public var stacks: Bool?

    public init(name: String, selector: ProcessSelector, threads: Bool = false, stacks: Bool? = nil) {
        self.name = name
        self.selector = selector
        self.threads = threads
        self.stacks = stacks
    }

    /// Whether the group's stacks are sampled under `settings`.
    public func samplesStacks(_ settings: SamplerSettings) -> Bool { stacks ?? settings.stacks }

    public static let keys = ["name", "comm", "cmdline", "pidfile", "pid", "cgroup", "threads", "stacks"]

    public static func parse(_ value: YAMLValue, index: Int) -> ProcessGroupSettings? {
        let what = "processes[\(index)]"
        guard let m = value.mapping(what, allowedKeys: keys) else { return nil }
        guard let name = m.required("name")?.string("\(what).name") else { return nil }
        if name.isEmpty {
            m.error("\(what).name must not be empty")
            return nil
        }
        var selectors: [ProcessSelector] = []
        if let v = m["comm"], let r = v.regex("\(what).comm") { selectors.append(.comm(r)) }
        if let v = m["cmdline"], let r = v.regex("\(what).cmdline") { selectors.append(.cmdline(r)) }
        if let v = m["cgroup"], let r = v.regex("\(what).cgroup") { selectors.append(.cgroup(r)) }
        if let v = m["pidfile"]?.string("\(what).pidfile") { selectors.append(.pidfile(v)) }
        if let v = m["pid"]?.int("\(what).pid", range: 1...Int(Int32.max)) { selectors.append(.pid(Int32(v))) }
        let given = ["comm", "cmdline", "cgroup", "pidfile", "pid"].filter { m.contains($0) }
        if given.count != 1 {
            m.error("\(what) (\(name)) needs exactly one of comm, cmdline, cgroup, pidfile, pid; found \(given.isEmpty ? "none" : given.joined(separator: ", "))")
            return nil
        }
        guard let selector = selectors.first else { return nil }
        var g = ProcessGroupSettings(name: name, selector: selector)
        if let v = m["threads"]?.bool("\(what).threads") { g.threads = v }
        if let v = m["stacks"]?.bool("\(what).stacks") { g.stacks = v }
        return g
    }
}

/// How a group finds its processes.
public enum ProcessSelector: Sendable, Hashable {
    /// Regex on `/proc/PID/comm`.
    case comm(AnchoredRegex)
    /// Regex on the command line (arguments joined by spaces). Never exported.
    case cmdline(AnchoredRegex)
    /// Regex on the process' cgroup path (any hierarchy).
    case cgroup(AnchoredRegex)
    /// The PID written in a file.
    case pidfile(String)
    case pid(Int32)
    /// The agent itself (the embedded default config's group).
    case current
}

extension ProcessSelector: CustomStringConvertible {
    /// The selector as the config writes it, e.g. `cmdline: "svc.py 8081"`.
    public var description: String {
        switch self {
        case .comm(let r): return "comm: \(r.pattern.debugDescription)"
        case .cmdline(let r): return "cmdline: \(r.pattern.debugDescription)"
        case .cgroup(let r): return "cgroup: \(r.pattern.debugDescription)"
        case .pidfile(let path): return "pidfile: \(path.debugDescription)"
        case .pid(let pid): return "pid: \(pid)"
        case .current: return "the agent itself"
        }
    }
}

