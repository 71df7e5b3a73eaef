/// Stack samples aggregated per stack, ready for pprof: functions, mappings and locations
/// interned once each (in first-seen order, so their pprof IDs are index + 1), and one
/// count per distinct (stack, process, thread name, group). Adding a sample of a known
/// stack costs hash lookups and no allocation. Memory is bounded by `maxStacks`: past it,
/// samples of new stacks are dropped and counted, samples of known stacks still count.
public struct StackAggregate: Sendable {
    /// One code address: pprof's Location.
    public struct Location: Sendable, Hashable {
        public var address: UInt64
        /// Index into `functions`.
        public var function: Int32
        /// Index into `mappings`, -1 when none.
        public var mapping: Int32
        public var line: Int32
        public var kind: StackFrame.Kind
    }

    /// One distinct stack with its labels and count.
    public struct Stack: Sendable {
        /// Indices into `locations`, leaf first.
        public var locations: [UInt32]
        public var pid: Int32
        /// Index into `labels` of the group name and of the thread name.
        public var group: Int32
        public var thread: Int32
        public var count: Int64
    }

    public let maxStacks: Int
    /// Nanoseconds of CPU time one sample stands for (1e9 / frequency).
    public let periodNanoseconds: Int64
    public private(set) var functions: [FunctionInfo] = []
    public private(set) var mappings: [MappingInfo] = []
    public private(set) var locations: [Location] = []
    public private(set) var stacks: [Stack] = []
    /// Group and thread names.
    public private(set) var labels: [String] = []
    public private(set) var samples: Int64 = 0
    /// Samples of new stacks dropped because `maxStacks` were known.
    public private(set) var droppedSamples: Int64 = 0

    private var functionIndex: [ObjectIdentifier: Int32] = [:]
    private var mappingIndex: [ObjectIdentifier: Int32] = [:]
    private var locationIndex: [LocationKey: UInt32] = [:]
    private var labelIndex: [String: Int32] = [:]
    private var stackIndex: [StackKey: Int] = [:]
    private var scratch: [UInt32] = []

    private struct LocationKey: Hashable {
        var address: UInt64
        var function: ObjectIdentifier
        var mapping: ObjectIdentifier?
    }

    private struct StackKey: Hashable {
        var locations: [UInt32]
        var pid: Int32
        var group: Int32
        var thread: Int32
    }

    public init(periodNanoseconds: Int64, maxStacks: Int = 10_000) {
        self.periodNanoseconds = max(periodNanoseconds, 1)
        self.maxStacks = max(maxStacks, 1)
    }

    /// Adds every sample of a drain.
    public mutating func add(_ batch: StackBatch) {
        for s in batch.samples { add(batch.frames(of: s), pid: s.pid, group: s.group, thread: s.thread) }
    }

    /// Adds one sample: its frames leaf first.
    public mutating func add(_ frames: ArraySlice<StackFrame>, pid: Int32, group: String, thread: String) {
        scratch.removeAll(keepingCapacity: true)
        for f in frames { scratch.append(location(f)) }
        let key = StackKey(locations: scratch, pid: pid, group: label(group), thread: label(thread))
        if let i = stackIndex[key] {
            stacks[i].count += 1
            samples += 1
            return
        }
        guard stacks.count < maxStacks else {
            droppedSamples += 1
            return
        }
        stackIndex[key] = stacks.count
        stacks.append(Stack(locations: key.locations, pid: pid, group: key.group, thread: key.thread, count: 1))
        samples += 1
    }

    private mutating func location(_ f: StackFrame) -> UInt32 {
        let key = LocationKey(
            address: f.address, function: ObjectIdentifier(f.function), mapping: f.mapping.map { ObjectIdentifier($0) })
        if let i = locationIndex[key] { return i }
        let i = UInt32(locations.count)
        locations.append(
            Location(address: f.address, function: function(f.function), mapping: f.mapping.map { mapping($0) } ?? -1, line: f.line,
                kind: f.kind))
        locationIndex[key] = i
        return i
    }

    private mutating func function(_ f: FunctionInfo) -> Int32 { Self.intern(f, &functions, &functionIndex) }
    private mutating func mapping(_ m: MappingInfo) -> Int32 { Self.intern(m, &mappings, &mappingIndex) }

    /// The index of `object` in `all`, appending it when new.
    private static func intern<T: AnyObject>(_ object: T, _ all: inout [T], _ index: inout [ObjectIdentifier: Int32]) -> Int32 {
        let id = ObjectIdentifier(object)
        if let i = index[id] { return i }
        let i = Int32(all.count)
        all.append(object)
        index[id] = i
        return i
    }

    private mutating func label(_ s: String) -> Int32 {
        if let i = labelIndex[s] { return i }
        let i = Int32(labels.count)
        labels.append(s)
        labelIndex[s] = i
        return i
    }

    /// Function names of a stack, leaf first.
    public func functionNames(_ stack: Stack) -> [String] {
        stack.locations.map { functions[Int(locations[Int($0)].function)].name }
    }
}
