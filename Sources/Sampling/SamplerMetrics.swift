import LookoutCore
import ProcFS
import Series
import Synchronization

/// The series the sampler exports (DESIGN.md, "Metric names"). Names are a contract.
public enum SamplerMetricNames {
    public static let hostCPUSeconds = "lookout_host_cpu_seconds_total"
    public static let hostUtilization = "lookout_host_cpu_utilization_ratio"
    public static let hostUtilizationPeak = "lookout_host_cpu_utilization_peak_ratio"
    public static let hostPressureWaiting = "lookout_host_pressure_cpu_waiting_seconds_total"
    public static let cgroupUsage = "lookout_cgroup_cpu_usage_seconds_total"
    public static let cgroupThrottledSeconds = "lookout_cgroup_cpu_throttled_seconds_total"
    public static let cgroupThrottledPeriods = "lookout_cgroup_cpu_throttled_periods_total"
    public static let cgroupPeriods = "lookout_cgroup_cpu_periods_total"
    public static let processCPUSeconds = "lookout_process_cpu_seconds_total"
    public static let processUtilization = "lookout_process_cpu_utilization_ratio"
    public static let processUtilizationPeak = "lookout_process_cpu_utilization_peak_ratio"
    public static let processCount = "lookout_process_count"
    public static let processThreads = "lookout_process_threads"
    public static let processResidentMemory = "lookout_process_resident_memory_bytes"
    public static let processOpenFDs = "lookout_process_open_fds"
    public static let processContextSwitches = "lookout_process_context_switches_total"
    public static let threadCPUSeconds = "lookout_thread_cpu_seconds_total"
    public static let processBlockedSamples = "lookout_process_blocked_samples_total"
    public static let processMutexWaitSamples = "lookout_process_mutex_wait_samples_total"
    public static let samplerFrequency = "lookout_sampler_frequency_hertz"
    public static let samplerEnabled = "lookout_sampler_enabled"
    public static let samplerTicks = "lookout_sampler_ticks_total"
    public static let samplerMissedTicks = "lookout_sampler_missed_ticks_total"
    public static let samplerTickDuration = "lookout_sampler_tick_duration_seconds"
}

/// One group's figures as last published.
struct PublishedGroup: Sendable {
    var name: String
    var labels: Labels
    var threadsEnabled: Bool
    /// Set once the first once-a-second pass has read the counters.
    var countersKnown = false
    var userTicks: UInt64 = 0
    var systemTicks: UInt64 = 0
    var utilization = HistogramAccumulator(upperBounds: HistogramAccumulator.utilizationBounds)
    var peak: PeakWindow
    var history: HistoryRing
    var processes = 0
    var threads: Int64 = 0
    var residentBytes: UInt64 = 0
    var openFDs = 0
    var voluntarySwitches: UInt64 = 0
    var nonvoluntarySwitches: UInt64 = 0
    var threadNames: [String] = []
    var threadNanoseconds: [UInt64] = []
    var blocked: [String: UInt64] = [:]
    var mutexSamples: UInt64 = 0

    init(name: String, threadsEnabled: Bool, peakWindow: Duration, historyCapacity: Int) {
        self.name = name
        self.labels = ["group": name]
        self.threadsEnabled = threadsEnabled
        self.peak = PeakWindow(window: peakWindow)
        self.history = HistoryRing(capacity: historyCapacity)
    }
}

/// Everything `collect()` and `history()` read, updated by the sampler under a short lock.
struct PublishedState: Sendable {
    var settings: SamplerSettings
    var userHZ: Int
    var historyCapacity: Int
    var ticks: UInt64 = 0
    var missedTicks: UInt64 = 0
    var tickDuration = HistogramAccumulator(upperBounds: PublishedState.tickDurationBounds)
    /// Per-CPU times, each field never lower than before (counters do not go back).
    var hostCPUs: [CPUTimes] = []
    var cpuLabels: [[Labels]] = []
    var hostUtilization = HistogramAccumulator(upperBounds: HistogramAccumulator.utilizationBounds)
    var hostPeak: PeakWindow
    var hostHistory: HistoryRing
    var pressureWaitingMicroseconds: UInt64?
    var cgroup: CgroupCPUStat?
    var groups: [PublishedGroup] = []

    /// Ticks cost tens of microseconds to a few milliseconds.
    static let tickDurationBounds: [Double] = [
        0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
    ]

    init(settings: SamplerSettings, userHZ: Int, historyCapacity: Int) {
        self.settings = settings
        self.userHZ = userHZ
        self.historyCapacity = historyCapacity
        hostPeak = PeakWindow(window: settings.peakWindow)
        hostHistory = HistoryRing(capacity: historyCapacity)
    }

    /// Takes new /proc/stat figures; a field that went back keeps its old value.
    mutating func mergeHost(_ cpus: [CPUTimes]) {
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

    mutating func mergeCgroup(_ new: CgroupCPUStat) {
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

/// The sampler's `MetricsSource`. `collect()` copies the published figures under a short
/// lock and builds the families outside it; it does no I/O.
public final class SamplerMetrics: MetricsSource, Sendable {
    let clock: any AgentClock
    let state: Mutex<PublishedState>

    init(clock: any AgentClock, settings: SamplerSettings, userHZ: Int, historyCapacity: Int) {
        self.clock = clock
        self.state = Mutex(PublishedState(settings: settings, userHZ: userHZ, historyCapacity: historyCapacity))
    }

    /// Sample ticks done so far.
    public var ticks: UInt64 { state.withLock { $0.ticks } }
    public var missedTicks: UInt64 { state.withLock { $0.missedTicks } }
    /// The settings the sampler runs with now (after reloads): what a profile request
    /// checks before asking for block or mutex samples.
    public var settings: SamplerSettings { state.withLock { $0.settings } }

    public func collect() -> [MetricFamily] {
        let s = state.withLock { $0 }
        let now = clock.now
        let hz = Double(s.userHZ)
        var out: [MetricFamily] = []
        out.reserveCapacity(24)
        typealias N = SamplerMetricNames

        // The sampler itself.
        out.append(.gauge(N.samplerFrequency, help: "Configured sampling frequency.", unit: "hertz", [(.empty, Double(s.settings.frequency))]))
        out.append(
            .gauge(
                N.samplerEnabled, help: "Whether a sampling profile is on (1) or off (0).",
                [
                    (["profile": "cpu"], s.settings.cpu ? 1 : 0), (["profile": "block"], s.settings.block ? 1 : 0),
                    (["profile": "mutex"], s.settings.mutex ? 1 : 0),
                ]))
        out.append(.counter(N.samplerTicks, help: "Sample ticks done.", [(.empty, Double(s.ticks))]))
        out.append(
            .counter(
                N.samplerMissedTicks, help: "Sample ticks skipped because the previous tick overran or woke up late.",
                [(.empty, Double(s.missedTicks))]))
        out.append(.histogram(N.samplerTickDuration, help: "Time spent in one sample tick.", unit: "seconds", [(.empty, s.tickDuration.value)]))

        // Host.
        if !s.hostCPUs.isEmpty {
            var values: [(Labels, Double)] = []
            values.reserveCapacity(s.hostCPUs.count * CPUTimes.modes.count)
            for (i, c) in s.hostCPUs.enumerated() {
                for m in CPUTimes.modes.indices { values.append((s.cpuLabels[i][m], Double(c[mode: m]) / hz)) }
            }
            out.append(.counter(N.hostCPUSeconds, help: "Seconds the CPUs spent in each mode, from /proc/stat.", unit: "seconds", values))
        }
        out.append(
            .histogram(
                N.hostUtilization, help: "Busy fraction of all CPUs over each sample tick.", unit: "ratio",
                [(.empty, s.hostUtilization.value)]))
        out.append(
            .gauge(
                N.hostUtilizationPeak, help: "Max per-tick utilization of all CPUs in the last peak_window.", unit: "ratio",
                [(.empty, s.hostPeak.peak(at: now))]))
        if let psi = s.pressureWaitingMicroseconds {
            out.append(
                .counter(
                    N.hostPressureWaiting, help: "Time runnable tasks waited for a CPU (PSI some), from /proc/pressure/cpu.",
                    unit: "seconds", [(.empty, Double(psi) / 1e6)]))
        }

        // The agent's cgroup.
        if let cg = s.cgroup {
            if let v = cg.usageNanoseconds {
                out.append(.counter(N.cgroupUsage, help: "CPU time used by the agent's cgroup.", unit: "seconds", [(.empty, Double(v) / 1e9)]))
            }
            if let v = cg.throttledNanoseconds {
                out.append(
                    .counter(
                        N.cgroupThrottledSeconds, help: "Time the agent's cgroup was throttled by its CPU quota.", unit: "seconds",
                        [(.empty, Double(v) / 1e9)]))
            }
            if let v = cg.throttledPeriods {
                out.append(
                    .counter(
                        N.cgroupThrottledPeriods, help: "CPU quota periods in which the agent's cgroup was throttled.",
                        [(.empty, Double(v))]))
            }
            if let v = cg.periods {
                out.append(.counter(N.cgroupPeriods, help: "CPU quota periods of the agent's cgroup that have elapsed.", [(.empty, Double(v))]))
            }
        }

        // Process groups.
        guard !s.groups.isEmpty else { return out }
        var cpu: [(Labels, Double)] = []
        var utilization: [(Labels, HistogramValue)] = []
        var peak: [(Labels, Double)] = []
        var count: [(Labels, Double)] = []
        var threads: [(Labels, Double)] = []
        var rss: [(Labels, Double)] = []
        var fds: [(Labels, Double)] = []
        var switches: [(Labels, Double)] = []
        var threadCPU: [(Labels, Double)] = []
        var blocked: [(Labels, Double)] = []
        var mutex: [(Labels, Double)] = []
        for g in s.groups {
            utilization.append((g.labels, g.utilization.value))
            peak.append((g.labels, g.peak.peak(at: now)))
            if g.countersKnown {
                cpu.append((g.labels.setting("mode", "user"), Double(g.userTicks) / hz))
                cpu.append((g.labels.setting("mode", "system"), Double(g.systemTicks) / hz))
                count.append((g.labels, Double(g.processes)))
                threads.append((g.labels, Double(g.threads)))
                rss.append((g.labels, Double(g.residentBytes)))
                fds.append((g.labels, Double(g.openFDs)))
                switches.append((g.labels.setting("type", "voluntary"), Double(g.voluntarySwitches)))
                switches.append((g.labels.setting("type", "nonvoluntary"), Double(g.nonvoluntarySwitches)))
            }
            if g.threadsEnabled {
                for (i, name) in g.threadNames.enumerated() {
                    threadCPU.append((g.labels.setting("thread", name), Double(g.threadNanoseconds[i]) / 1e9))
                }
            }
            if s.settings.block {
                for (wchan, n) in g.blocked { blocked.append((g.labels.setting("wchan", wchan), Double(n))) }
            }
            if s.settings.mutex { mutex.append((g.labels, Double(g.mutexSamples))) }
        }
        if !cpu.isEmpty {
            out.append(.counter(N.processCPUSeconds, help: "CPU time of the group's processes, by mode.", unit: "seconds", cpu))
        }
        out.append(
            .histogram(
                N.processUtilization, help: "CPU used by the group over each sample tick (1.0 = one full core).", unit: "ratio",
                utilization))
        out.append(
            .gauge(
                N.processUtilizationPeak,
                help: "Max per-tick CPU utilization of the group in the last peak_window (1.0 = one full core).", unit: "ratio", peak))
        if !count.isEmpty {
            out.append(.gauge(N.processCount, help: "Processes in the group.", count))
            out.append(.gauge(N.processThreads, help: "Threads of the group's processes.", threads))
            out.append(.gauge(N.processResidentMemory, help: "Resident memory of the group's processes.", unit: "bytes", rss))
            out.append(.gauge(N.processOpenFDs, help: "Open file descriptors of the group's processes.", fds))
            out.append(.counter(N.processContextSwitches, help: "Context switches of the group's threads, by type.", switches))
        }
        if !threadCPU.isEmpty {
            out.append(.counter(N.threadCPUSeconds, help: "CPU time of the group's threads, by thread name.", unit: "seconds", threadCPU))
        }
        if s.settings.block && !blocked.isEmpty {
            out.append(
                .counter(
                    N.processBlockedSamples,
                    help: "Sample ticks that found a thread of the group in uninterruptible sleep, by wait channel.", blocked))
        }
        if s.settings.mutex {
            out.append(
                .counter(N.processMutexWaitSamples, help: "Sample ticks that found a thread of the group waiting in futex.", mutex))
        }
        return out
    }

    /// The last five minutes (by default) of host and per-group utilization, one point per
    /// second, ending with the last whole second.
    public func history() -> UtilizationHistory {
        let (host, groups) = state.withLock { s in (s.hostHistory, s.groups.map { ($0.name, $0.history) }) }
        let now = clock.now
        let wallNow = clock.wallNow
        let last = now.nanoseconds / 1_000_000_000 - 1
        let h = host.series(endingAt: last)
        var anyPoint = h.mean.contains { $0 != nil }
        var out: [UtilizationHistory.Series] = []
        for (name, ring) in groups {
            let g = ring.series(endingAt: last)
            anyPoint = anyPoint || g.mean.contains { $0 != nil }
            out.append(.init(group: name, mean: g.mean, peak: g.peak))
        }
        let endMonotonic = MonotonicInstant(nanoseconds: (last + 1) * 1_000_000_000)
        return UtilizationHistory(
            resolution: .seconds(1), end: anyPoint ? wallNow - (now - endMonotonic) : nil,
            host: .init(group: nil, mean: h.mean, peak: h.peak), groups: out)
    }

    func recordTickEnd(duration: Duration, missed: Int64) {
        state.withLock { s in
            s.tickDuration.observe(duration.seconds)
            if missed > 0 { s.missedTicks &+= UInt64(missed) }
        }
    }
}
