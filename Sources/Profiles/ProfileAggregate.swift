import Sampling

/// The interned strings of one profile. Index 0 is "", as profile.proto requires of
/// `string_table[0]`; every other string appears once.
public struct StringTable: Sendable {
    public private(set) var strings: [String] = [""]
    private var indices: [String: Int32] = ["": 0]

    public init() {}

    public var count: Int { strings.count }

    /// The index of `s` if it is interned already (a lookup: hashing, no allocation).
    public func index(of s: String) -> Int32? { indices[s] }

    public mutating func intern(_ s: String) -> Int32 {
        if let i = indices[s] { return i }
        let i = Int32(strings.count)
        strings.append(s)
        indices[s] = i
        return i
    }

    public subscript(_ i: Int32) -> String { strings[Int(i)] }
}

/// What identifies one aggregated sample: its stack (leaf frames, thread, process) and the
/// thread it came from. Fixed size, so looking a sample up never allocates.
struct StackKey: Hashable, Sendable {
    /// 1-based index into `ProfileAggregate.kernelStacks`; 0 when the sample has none.
    var kernelStack: UInt32 = 0
    /// String index of the wait channel standing in for the kernel stack; 0 when none.
    var waitChannel: Int32 = 0
    /// String index of the thread name.
    var thread: Int32 = 0
    /// String index of the group name.
    var group: Int32 = 0
    var pid: Int32 = 0
    var tid: Int32 = 0
}

struct StackValues: Sendable {
    var count: Int64
    var nanoseconds: Int64
}

/// One profile's samples, aggregated per stack as they arrive: a dictionary from a compact
/// key to (count, nanoseconds), with every string interned. Memory is bounded by the
/// number of distinct stacks: past `maxStacks`, samples of new stacks are dropped and
/// counted, samples of known stacks still count.
public struct ProfileAggregate: Sendable {
    public let type: ProfileType
    public let maxStacks: Int
    public internal(set) var strings = StringTable()
    /// Interned kernel stacks, leaf first, as string indices.
    var kernelStacks: [[Int32]] = []
    private var kernelStackIndex: [[String]: UInt32] = [:]
    var stacks: [StackKey: StackValues] = [:]

    /// Sampler ticks seen.
    public private(set) var ticks = 0
    /// The sampler's frequency at the last tick (0 before the first).
    public private(set) var frequency = 0
    /// Samples counted (in `stacks`) and their nanoseconds.
    public private(set) var samples: Int64 = 0
    public private(set) var nanoseconds: Int64 = 0
    /// Samples dropped because their stack was new and `maxStacks` were known already.
    public private(set) var droppedSamples: Int64 = 0
    public private(set) var droppedNanoseconds: Int64 = 0

    public init(type: ProfileType, maxStacks: Int = 10_000) {
        self.type = type
        self.maxStacks = max(maxStacks, 1)
    }

    /// Distinct stacks (with their thread) held.
    public var stackCount: Int { stacks.count }

    public mutating func add(_ tick: SampleTick) {
        ticks += 1
        frequency = tick.frequency
        let kind = type.sampleKind
        for s in tick.samples where s.kind == kind { add(s) }
    }

    /// Counts one sample. A known stack costs a few hash lookups and no allocation; a new
    /// one interns what it lacks, unless the cap is reached.
    mutating func add(_ s: ThreadSample) {
        let ns = Int64(clamping: s.nanoseconds)
        var key = StackKey(pid: s.pid, tid: s.tid)
        var complete = true
        let kernelStack = Self.usefulKernelStack(s.kernelStack)
        if let stack = kernelStack {
            if let i = kernelStackIndex[stack] { key.kernelStack = i } else { complete = false }
        } else if let w = s.waitChannel, !w.isEmpty {
            if let i = strings.index(of: w) { key.waitChannel = i } else { complete = false }
        }
        if !s.thread.isEmpty {
            if let i = strings.index(of: s.thread) { key.thread = i } else { complete = false }
        } else {
            // Not named yet (the sampler reads names once a second): the TID stands in.
            if let i = strings.index(of: Self.unnamedThread(s.tid)) { key.thread = i } else { complete = false }
        }
        if let i = strings.index(of: s.group) { key.group = i } else { complete = false }

        if complete, let at = stacks.index(forKey: key) {
            stacks.values[at].count += 1
            stacks.values[at].nanoseconds &+= ns
            samples += 1
            nanoseconds &+= ns
            return
        }
        guard stacks.count < maxStacks else {
            droppedSamples += 1
            droppedNanoseconds &+= ns
            return
        }
        if !complete {
            if let stack = kernelStack {
                if let i = kernelStackIndex[stack] {
                    key.kernelStack = i
                } else {
                    kernelStacks.append(stack.map { strings.intern($0) })
                    let i = UInt32(kernelStacks.count)
                    kernelStackIndex[stack] = i
                    key.kernelStack = i
                }
            } else if let w = s.waitChannel, !w.isEmpty {
                key.waitChannel = strings.intern(w)
            }
            key.thread = strings.intern(s.thread.isEmpty ? Self.unnamedThread(s.tid) : s.thread)
            key.group = strings.intern(s.group)
        }
        // Either a part was new or the lookup above missed: the stack is new.
        stacks[key] = StackValues(count: 1, nanoseconds: ns)
        samples += 1
        nanoseconds &+= ns
    }

    static func unnamedThread(_ tid: Int32) -> String { "[tid \(tid)]" }

    /// The kernel stack if it says where in the kernel the thread was. A thread preempted
    /// while in user space shows only the way back to it (`irqentry_exit_to_user_mode`
    /// under an interrupt entry, the scheduler's own frames being hidden): that says
    /// nothing about where its CPU time went, so it counts as no stack, like an empty one.
    static func usefulKernelStack(_ stack: [String]?) -> [String]? {
        guard let stack, let leaf = stack.first else { return nil }
        if leaf.utf8.count >= 17, leaf.contains("exit_to_user_mode") { return nil }
        return stack
    }

    /// The frames of a stack's leaf end, leaf first: the kernel stack, or the wait channel,
    /// or nothing.
    func leafFrames(_ key: StackKey) -> ArraySlice<Int32> {
        if key.kernelStack > 0 { return kernelStacks[Int(key.kernelStack) - 1][...] }
        if key.waitChannel > 0 { return [key.waitChannel][...] }
        return []
    }

    /// The process frame under the group: `pid N`.
    static func processFrame(_ pid: Int32) -> String { "pid \(pid)" }
}
