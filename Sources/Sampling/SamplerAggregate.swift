import Series
import LookoutCore
import ProcFS

/// Everything the sampler exports, added up from tick values: counters that only move
/// forward, per-tick utilization histograms, peaks over `peak_window`, a per-second history,
/// and the gauges of the last once-a-second read. A value: `add(_:)` is arithmetic on what a
/// tick carries (no I/O, no clock), so it is tested with hand-made ticks.
struct SamplerAggregate: Sendable {
    /// The settings in effect (the exposition shows the frequency and which sampling is on).
    private(set) var settings: SamplerSettings
    let userHZ: Int
    let historyCapacity: Int
    private(set) var ticks: UInt64 = 0
    private(set) var missedTicks: UInt64 = 0
    private(set) var tickDuration = HistogramAccumulator(upperBounds: SamplerAggregate.tickDurationBounds)
    /// Per-CPU times, each field never lower than before (counters do not go back).
    private(set) var hostCPUs: [CPUTimes] = []
    /// `{cpu, mode}` labels of `hostCPUs`, made when the CPUs change.
    private(set) var cpuLabels: [[Labels]] = []
    private(set) var hostUtilization = HistogramAccumulator(upperBounds: HistogramAccumulator.utilizationBounds)
    private(set) var hostPeak: PeakWindow
    private(set) var hostHistory: HistoryRing
    private(set) var pressureWaitingMicroseconds: UInt64?
    private(set) var cgroup: CgroupCPUStat?
    /// As last read (gauges): a limit removed at run time disappears with the next read.
    private(set) var cgroupLimit: CgroupCPULimit?
    private(set) var groups: [GroupAggregate] = []

    /// Ticks cost tens of microseconds to a few milliseconds.
    static let tickDurationBounds: [Double] = [
        0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
    ]

    init(settings: SamplerSettings, groups: [ProcessGroupSettings], userHZ: Int, historyCapacity: Int) {
        self.settings = settings
        self.userHZ = max(userHZ, 1)
        self.historyCapacity = max(historyCapacity, 1)
        hostPeak = PeakWindow(window: settings.peakWindow)
        hostHistory = HistoryRing(capacity: self.historyCapacity)
        configure(settings: settings, groups: groups)
    }

    /// Takes a new configuration. Groups are matched by name: one that still exists keeps its
    /// counters, histogram and history (its peak too, unless the window changed). The group
    /// order is the ticks' order.
    mutating func configure(settings new: SamplerSettings, groups newGroups: [ProcessGroupSettings]) {
        let windowChanged = settings.peakWindow != new.peakWindow
        settings = new
        if windowChanged { hostPeak = PeakWindow(window: new.peakWindow) }
        var byName: [String: GroupAggregate] = [:]
        for g in groups { byName[g.name] = g }
        groups = newGroups.map { gs in
            if var g = byName[gs.name] {
                g.threadsEnabled = gs.threads
                if windowChanged { g.peak = PeakWindow(window: new.peakWindow) }
                return g
            }
            return GroupAggregate(name: gs.name, threadsEnabled: gs.threads, peakWindow: new.peakWindow, historyCapacity: historyCapacity)
        }
    }

    /// Adds one tick.
    mutating func add(_ tick: SampleTick) {
        ticks &+= 1
        let time = tick.monotonicTime
        let second = time.nanoseconds / 1_000_000_000
        if let cpus = tick.host.cpus { mergeHost(cpus) }
        if let u = tick.host.utilization {
            hostUtilization.observe(u)
            hostPeak.record(u, at: time)
            hostHistory.record(u, second: second)
        }
        if let p = tick.pressureWaitingMicroseconds { pressureWaitingMicroseconds = max(pressureWaitingMicroseconds ?? 0, p) }
        if let c = tick.cgroup { mergeCgroup(c) }
        if tick.isSlow { cgroupLimit = tick.cgroupLimit }
        let interval = tick.interval.nanoseconds
        for i in tick.groups.indices where i < groups.count {
            groups[i].add(tick.groups[i], interval: interval, at: time, second: second)
        }
    }

    /// The end of a tick: how long it took, and how many ticks its overrun skipped.
    mutating func recordTickEnd(duration: Duration, missed: Int64) {
        tickDuration.observe(duration.seconds)
        if missed > 0 { missedTicks &+= UInt64(missed) }
    }

    /// Takes per-CPU figures; a field that went back keeps its old value.
    private mutating func mergeHost(_ cpus: [CPUTimes]) {
        if hostCPUs.count == cpus.count, zip(hostCPUs, cpus).allSatisfy({ $0.cpu == $1.cpu }) {
            for i in cpus.indices { hostCPUs[i] = Self.forward(hostCPUs[i], cpus[i]) }
            return
        }
        // CPUs came or went (hotplug): keep the series of CPUs that went, with their last values.
        var byCPU: [Int: CPUTimes] = [:]
        for c in hostCPUs { byCPU[c.cpu] = c }
        for c in cpus { byCPU[c.cpu] = byCPU[c.cpu].map { Self.forward($0, c) } ?? c }
        hostCPUs = byCPU.values.sorted { $0.cpu < $1.cpu }
        cpuLabels = hostCPUs.map { c in CPUTimes.modes.map { Labels([("cpu", String(c.cpu)), ("mode", $0)]) } }
    }

    static func forward(_ old: CPUTimes, _ new: CPUTimes) -> CPUTimes {
        var c = new
        c.user = max(old.user, new.user)
        c.nice = max(old.nice, new.nice)
        c.system = max(old.system, new.system)
        c.idle = max(old.idle, new.idle)
        c.iowait = max(old.iowait, new.iowait)
        c.irq = max(old.irq, new.irq)
        c.softirq = max(old.softirq, new.softirq)
        c.steal = max(old.steal, new.steal)
        c.guest = max(old.guest, new.guest)
        c.guestNice = max(old.guestNice, new.guestNice)
        return c
    }

    private mutating func mergeCgroup(_ new: CgroupCPUStat) {
        func fwd(_ a: UInt64?, _ b: UInt64?) -> UInt64? {
            guard let b else { return a }
            return max(a ?? 0, b)
        }
        let old = cgroup ?? CgroupCPUStat()
        cgroup = CgroupCPUStat(
            usageNanoseconds: fwd(old.usageNanoseconds, new.usageNanoseconds), periods: fwd(old.periods, new.periods),
            throttledPeriods: fwd(old.throttledPeriods, new.throttledPeriods),
            throttledNanoseconds: fwd(old.throttledNanoseconds, new.throttledNanoseconds))
    }
}

/// One group's totals.
struct GroupAggregate: Sendable {
    let name: String
    let labels: Labels
    var threadsEnabled: Bool
    /// Set once a once-a-second read has reported the group's counters.
    private(set) var countersKnown = false
    private(set) var userTicks: UInt64 = 0
    private(set) var systemTicks: UInt64 = 0
    private(set) var utilization = HistogramAccumulator(upperBounds: HistogramAccumulator.utilizationBounds)
    var peak: PeakWindow
    private(set) var history: HistoryRing
    private(set) var processes = 0
    private(set) var threads: Int64 = 0
    private(set) var residentBytes: UInt64 = 0
    private(set) var openFDs = 0
    /// False while a member's fd list cannot be read: the count is not exported then.
    private(set) var openFDsKnown = true
    private(set) var voluntarySwitches: UInt64 = 0
    private(set) var nonvoluntarySwitches: UInt64 = 0
    /// Thread names by slot, as the ticks list them; `threadNanoseconds` is indexed alike.
    private(set) var threadNames: [String] = []
    private(set) var threadNanoseconds: [UInt64] = []
    private(set) var blocked: [String: UInt64] = [:]
    private(set) var mutexSamples: UInt64 = 0

    init(name: String, threadsEnabled: Bool, peakWindow: Duration, historyCapacity: Int) {
        self.name = name
        self.labels = ["group": name]
        self.threadsEnabled = threadsEnabled
        self.peak = PeakWindow(window: peakWindow)
        self.history = HistoryRing(capacity: historyCapacity)
    }

    mutating func add(_ g: GroupTick, interval: Int64, at time: MonotonicInstant, second: Int64) {
        if let ns = g.cpuNanoseconds, interval > 0 {
            let u = Double(ns) / Double(interval)
            utilization.observe(u)
            peak.record(u, at: time)
            history.record(u, second: second)
        }
        if g.threadNames.count > threadNames.count { threadNames = g.threadNames }
        for k in g.threadNanoseconds.indices {
            if k < threadNanoseconds.count {
                threadNanoseconds[k] &+= g.threadNanoseconds[k]
            } else {
                threadNanoseconds.append(g.threadNanoseconds[k])
            }
        }
        for b in g.blocked { blocked[b.waitChannel, default: 0] &+= b.count }
        mutexSamples &+= g.mutexWaits
        if let s = g.slow {
            countersKnown = true
            processes = s.processes
            threads = s.threads
            residentBytes = s.residentBytes
            openFDs = s.openFDs
            openFDsKnown = !s.openFDsUnknown
            userTicks &+= s.userTicks
            systemTicks &+= s.systemTicks
            voluntarySwitches &+= s.voluntarySwitches
            nonvoluntarySwitches &+= s.nonvoluntarySwitches
        }
    }
}
