import LookoutCore

/// What a `TickReporter` asks the sampler to collect. Reading wait channels and
/// kernel stacks costs a file read per sampled thread per tick, so it is done only while
/// a reporter asks for it (e.g. while a profile is being recorded).
public struct ThreadSampleDemand: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// The wait channel (`task/TID/wchan`) of each sampled thread.
    public static let waitChannel = ThreadSampleDemand(rawValue: 1)
    /// The kernel stack (`task/TID/stack`, root only) of each sampled thread; the wait
    /// channel stands in for it where it cannot be read.
    public static let kernelStack = ThreadSampleDemand(rawValue: 2)
}

/// Receives each tick's value (the pprof profile recorder is one). The sampler knows
/// nothing else about it.
public protocol TickReporter: Sendable {
    /// What to collect on the next tick; nil while the reporter has no use for samples,
    /// which makes them cost nothing. Read once per tick, so it may change at any time.
    var demand: ThreadSampleDemand? { get }
    /// Called on the tick thread after each tick (but the first, which has no interval)
    /// while `demand` is non-nil. Must be quick (aggregate under a lock and return).
    func report(_ tick: SampleTick)
}

/// One thread seen in one tick.
public struct ThreadSample: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// The thread ran during the tick (cpu profile).
        case cpu
        /// The thread was in uninterruptible sleep (`D`) at the tick (block profile; block sampling on).
        case blocked
        /// The thread was waiting in `futex` at the tick (mutex profile; mutex sampling on).
        case mutexWait
    }

    public var kind: Kind
    public var pid: Int32
    public var tid: Int32
    /// The `processes[].name` of the group the process belongs to.
    public var group: String
    /// The thread's name (`comm`).
    public var thread: String
    /// cpu: on-CPU nanoseconds during the tick; blocked and mutex: the tick's interval.
    public var nanoseconds: UInt64
    /// The kernel function the thread waits in, when known (blocked samples; cpu samples
    /// when the reporter asked for it).
    public var waitChannel: String?
    /// The kernel stack, leaf first, when the reporter asked for it and it was readable.
    public var kernelStack: [String]?

    public init(
        kind: Kind, pid: Int32, tid: Int32, group: String, thread: String, nanoseconds: UInt64,
        waitChannel: String? = nil, kernelStack: [String]? = nil
    ) {
        self.kind = kind
        self.pid = pid
        self.tid = tid
        self.group = group
        self.thread = thread
        self.nanoseconds = nanoseconds
        self.waitChannel = waitChannel
        self.kernelStack = kernelStack
    }
}
