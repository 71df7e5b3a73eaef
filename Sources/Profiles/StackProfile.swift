import LookoutCore
import Stacks

/// A recorded profile of real stacks (perf_event samples, unwound and symbolized): the
/// aggregate and when it was taken, with its encodings.
public struct StackProfile: Sendable {
    public var aggregate: StackAggregate
    /// Wall-clock time the recording started (`time_nanos`).
    public var startTime: WallTime
    /// How long it recorded (`duration_nanos`).
    public var duration: Duration

    public init(aggregate: StackAggregate, startTime: WallTime, duration: Duration) {
        self.aggregate = aggregate
        self.startTime = startTime
        self.duration = duration
    }

    /// The packed `perftools.profiles.Profile`, not compressed.
    public func pprofBytes() -> [UInt8] { StackPprofEncoder.encode(self) }

    /// The gzipped `Profile`, as `go tool pprof` and `/debug/pprof/profile` expect it.
    public func pprofGzip() throws(ProfileError) -> [UInt8] { try Gzip.compress(pprofBytes()) }

    /// Each stack root first, the group, `pid N` and the thread name as its first frames.
    public func rootFirstStacks() -> [(frames: [String], count: Int64)] {
        let a = aggregate
        return a.stacks.map { s in
            var frames = [a.labels[Int(s.group)], ProfileAggregate.processFrame(s.pid), a.labels[Int(s.thread)]]
            for l in s.locations.reversed() { frames.append(a.functions[Int(a.locations[Int(l)].function)].name) }
            return (frames, s.count)
        }
    }

    /// Folded stacks (`group;pid N;thread;main;...;leaf count`), one line per distinct
    /// stack, sorted; threads of one name in one process fold into one line.
    public func folded() -> String {
        var lines: [String: Int64] = [:]
        for (frames, count) in rootFirstStacks() {
            lines[frames.map(FoldedEncoder.frame).joined(separator: ";"), default: 0] += count
        }
        return FoldedEncoder.render(lines)
    }

    /// A self-contained, zoomable SVG flame graph of the profile (of one group's stacks when
    /// `group` is given).
    public func flameGraph(title: String = "CPU", group: String? = nil) -> String {
        let all = rootFirstStacks().filter { group == nil || $0.frames.first == group }
        return FlameGraph.svg(stacks: all, title: FlameGraph.heading(title, stacks: all, duration: duration))
    }

    /// The profile in `format`, as written to a file or an HTTP body.
    public func encoded(_ format: ProfileFormat) throws(ProfileError) -> [UInt8] {
        switch format {
        case .pprof: return try pprofGzip()
        case .folded: return Array(folded().utf8)
        }
    }

    /// One function's share of a profile.
    public struct FunctionShare: Sendable, Hashable {
        public var name: String
        /// Samples with the function as the leaf (its own time).
        public var flat: Int64
        /// Samples with the function anywhere on the stack (once per stack).
        public var cumulative: Int64
    }

    /// The functions with the most own samples (ties by name): what the status page lists.
    public func topFunctions(_ n: Int, group: String? = nil) -> [FunctionShare] {
        let a = aggregate
        var flat: [Int32: Int64] = [:]
        var cumulative: [Int32: Int64] = [:]
        var seen = Set<Int32>()
        for s in a.stacks where group == nil || a.labels[Int(s.group)] == group {
            guard let leaf = s.locations.first else { continue }
            flat[a.locations[Int(leaf)].function, default: 0] += s.count
            seen.removeAll(keepingCapacity: true)
            for l in s.locations {
                let f = a.locations[Int(l)].function
                if seen.insert(f).inserted { cumulative[f, default: 0] += s.count }
            }
        }
        // Functions of one name (the same symbol in two processes) count together.
        var byName: [String: FunctionShare] = [:]
        for (f, c) in cumulative {
            let name = a.functions[Int(f)].name
            byName[name, default: FunctionShare(name: name, flat: 0, cumulative: 0)].cumulative += c
            byName[name]!.flat += flat[f] ?? 0
        }
        return byName.values.sorted { ($0.flat, $1.name) > ($1.flat, $0.name) }.prefix(n).map { $0 }
    }
}
