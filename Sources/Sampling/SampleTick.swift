import LookoutCore
import ProcFS

/// What the sampler saw in one tick: one value, filled by the tick's readers (the /proc
/// reader first, then any other `TickReader`), then handed, immutable, to the aggregation
/// and to the reporters. What a tick did not read is nil or empty.
///
/// The tick thread refills one tick's storage for the next (arrays keep their capacity), so
/// an ordinary tick allocates nothing. A consumer may keep a tick; the next one then copies.
public struct SampleTick: Sendable {
    public internal(set) var monotonicTime: MonotonicInstant
    public internal(set) var wallTime: WallTime
    /// Time since the previous tick: the span the CPU figures and cpu samples cover, and the
    /// time each blocked or mutex sample stands for. Zero on the first tick.
    public internal(set) var interval: Duration
    /// Ticks per second of the schedule the tick belongs to.
    public internal(set) var frequency: Int
    /// What the reporters asked to be collected this tick; nil when none asked (no samples).
    public internal(set) var demand: ThreadSampleDemand?
    /// All CPUs of the host.
    public internal(set) var host = HostCPUTick()
    /// Whether this tick did the once-a-second reads (selection, the `slow` figures of each
    /// group, PSI, the cgroup).
    public internal(set) var isSlow = false
    /// PSI `some` total of /proc/pressure/cpu in microseconds (a counter); read once a second
    /// when the kernel has PSI.
    public internal(set) var pressureWaitingMicroseconds: UInt64?
    /// The agent's cgroup CPU accounting (counters); read once a second when found.
    public internal(set) var cgroup: CgroupCPUStat?
    /// The agent's cgroup CPU limit and weight (gauges); read with `cgroup`, nil when the
    /// cgroup has no cpu controller files.
    public internal(set) var cgroupLimit: CgroupCPULimit?
    /// One entry per `processes:` group, in configuration order.
    public internal(set) var groups: [GroupTick] = []
    /// Changes whenever a group's processes change (at most once a second, and when one
    /// exits): a reader that follows the selection compares it with the last one it saw.
    public internal(set) var selectionGeneration: UInt64 = 0
    /// Per-thread samples; only while `demand` is non-nil.
    public internal(set) var samples: [ThreadSample] = []

    public init(
        wallTime: WallTime, monotonicTime: MonotonicInstant, interval: Duration, frequency: Int, samples: [ThreadSample] = []
    ) {
        self.wallTime = wallTime
        self.monotonicTime = monotonicTime
        self.interval = interval
        self.frequency = frequency
        self.samples = samples
    }

    /// Adds a sample (a reader after the /proc reader adds its own).
    public mutating func append(_ sample: ThreadSample) { samples.append(sample) }

    /// Starts the next tick in this storage: the header is set, samples are emptied; the
    /// readers reset and refill their own parts.
    mutating func begin(
        monotonicTime: MonotonicInstant, wallTime: WallTime, interval: Duration, frequency: Int, demand: ThreadSampleDemand?
    ) {
        self.monotonicTime = monotonicTime
        self.wallTime = wallTime
        self.interval = interval
        self.frequency = frequency
        self.demand = demand
        samples.removeAll(keepingCapacity: true)
    }
}

/// The host's CPUs in one tick.
public struct HostCPUTick: Sendable {
    /// Busy fraction of all CPUs since the previous reading (0...1). nil when per-tick CPU
    /// sampling is off, on the first reading, and when a counter went back.
    public internal(set) var utilization: Double?
    /// Per-CPU times as read this tick (ticks of USER_HZ); nil when not read. Counters the
    /// kernel may move back a little (iowait): the aggregation keeps them from going back.
    public internal(set) var cpus: [CPUTimes]?

    public init(utilization: Double? = nil, cpus: [CPUTimes]? = nil) {
        self.utilization = utilization
        self.cpus = cpus
    }
}

/// One `processes:` group in one tick. CPU figures are what the group's counters grew by
/// (never negative): a process or thread seen for the first time brings its whole counter,
/// one that left takes nothing away.
public struct GroupTick: Sendable {
    public internal(set) var name: String
    /// On-CPU nanoseconds of the group's threads during the tick (schedstat deltas of the
    /// threads read before). nil when per-tick CPU sampling is off or no thread had a
    /// previous reading.
    public internal(set) var cpuNanoseconds: UInt64?
    /// Names of the group's threads by slot (groups with `threads: true`). Slots are only
    /// ever appended: a name keeps its slot for the life of the group.
    public internal(set) var threadNames: [String] = []
    /// What each slot's thread CPU counter grew by this tick, in nanoseconds (indexed like
    /// `threadNames`).
    public internal(set) var threadNanoseconds: [UInt64] = []
    /// Threads found in uninterruptible sleep at the tick, by wait channel (block sampling).
    public internal(set) var blocked: [WaitChannelCount] = []
    /// Threads found waiting in futex at the tick (mutex sampling).
    public internal(set) var mutexWaits: UInt64 = 0
    /// The group's processes as last selected (changes bump `SampleTick.selectionGeneration`).
    public internal(set) var processes: [SelectedProcess] = []
    /// The once-a-second figures; nil on other ticks.
    public internal(set) var slow: GroupSlowFigures?

    public init(name: String) { self.name = name }
}

/// A group's figures read once a second.
public struct GroupSlowFigures: Sendable, Hashable {
    /// Processes in the group after this read.
    public var processes = 0
    /// Threads of those processes (`num_threads` of their `stat`).
    public var threads: Int64 = 0
    public var residentBytes: UInt64 = 0
    public var openFDs = 0
    /// A process' fd list could not be read (another user's, without privileges): the
    /// group's count is unknown, and not exported.
    public var openFDsUnknown = false
    /// What the group's user and system CPU counters grew by since the last read, in USER_HZ ticks.
    public var userTicks: UInt64 = 0
    public var systemTicks: UInt64 = 0
    /// What the group's threads' context switch counters grew by since the last read.
    public var voluntarySwitches: UInt64 = 0
    public var nonvoluntarySwitches: UInt64 = 0

    public init() {}
}

/// Threads waiting in one kernel function.
public struct WaitChannelCount: Sendable, Hashable {
    public var waitChannel: String
    public var count: UInt64

    public init(waitChannel: String, count: UInt64) {
        self.waitChannel = waitChannel
        self.count = count
    }
}
