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
    public static let cgroupLimitCores = "lookout_cgroup_cpu_limit_cores"
    public static let cgroupWeight = "lookout_cgroup_cpu_weight"
    public static let processCPUSeconds = "lookout_process_cpu_seconds_total"
    public static let processUtilization = "lookout_process_cpu_utilization_ratio"
    public static let processUtilizationPeak = "lookout_process_cpu_utilization_peak_ratio"
    public static let processes = "lookout_processes"
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

    /// Every family the sampler may export.
    static let all: [String] = [
        hostCPUSeconds, hostUtilization, hostUtilizationPeak, hostPressureWaiting, cgroupUsage, cgroupThrottledSeconds,
        cgroupThrottledPeriods, cgroupPeriods, cgroupLimitCores, cgroupWeight, processCPUSeconds, processUtilization,
        processUtilizationPeak, processes, processThreads, processResidentMemory, processOpenFDs, processContextSwitches,
        threadCPUSeconds, processBlockedSamples, processMutexWaitSamples, samplerFrequency, samplerEnabled, samplerTicks,
        samplerMissedTicks, samplerTickDuration,
    ]
}

/// The aggregate the tick thread adds each tick to, and where /metrics, the status page and
/// the profile endpoint take their copy from. The lock is held for the tick's arithmetic
/// and for taking a copy (copy-on-write: no element is copied under it), never for I/O or
/// encoding.
final class PublishedAggregate: Sendable {
    private let value: Mutex<SamplerAggregate>

    init(_ initial: SamplerAggregate) { value = Mutex(initial) }

    func update(_ body: (inout SamplerAggregate) -> Void) { value.withLock { body(&$0) } }

    /// An immutable copy of the aggregate as of the last tick.
    var snapshot: SamplerAggregate { value.withLock { $0 } }

    func read<T>(_ body: (SamplerAggregate) -> T) -> T { value.withLock { body($0) } }
}

/// The sampler's `MetricsSource`: renders a snapshot of the aggregate (taken under a short
/// lock, rendered outside it); it does no I/O.
public final class SamplerMetrics: MetricsSource, Sendable {
    let clock: any AgentClock
    let published: PublishedAggregate

    init(published: PublishedAggregate, clock: any AgentClock) {
        self.published = published
        self.clock = clock
    }

    /// Sample ticks done so far.
    public var ticks: UInt64 { published.read { $0.ticks } }
    public var missedTicks: UInt64 { published.read { $0.missedTicks } }
    /// The agent's cgroup CPU limit and weight as last read; nil when unknown.
    public var cgroupLimit: CgroupCPULimit? { published.read { $0.cgroupLimit } }
    /// The settings the sampler runs with now (after reloads): what a profile request
    /// checks before asking for block or mutex samples.
    public var settings: SamplerSettings { published.read { $0.settings } }

    public func collect() -> [MetricFamily] { Self.families(published.snapshot, at: clock.now) }

    /// Renders nothing (and takes no snapshot) when the filter wants none of the sampler's families.
    public func collect(matching filter: FamilyNameFilter) -> [MetricFamily] {
        filter.restrict(SamplerMetricNames.all, collect)
    }

    /// The families of `s`, with the peaks as of `now`. Names, labels, help texts and bucket
    /// bounds are a contract (DESIGN.md).
    static func families(_ s: SamplerAggregate, at now: MonotonicInstant) -> [MetricFamily] {
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

        if let limit = s.cgroupLimit {
            if let cores = limit.cores {
                out.append(
                    .gauge(
                        N.cgroupLimitCores, help: "CPU limit of the agent's cgroup in cores (quota / period); absent when unlimited.",
                        [(.empty, cores)]))
            }
            if let weight = limit.weight {
                out.append(
                    .gauge(
                        N.cgroupWeight, help: "CPU weight of the agent's cgroup (cgroup v2 cpu.weight, or v1 cpu.shares).",
                        [(.empty, Double(weight))]))
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
                if g.openFDsKnown { fds.append((g.labels, Double(g.openFDs))) }
                switches.append((g.labels.setting("type", "voluntary"), Double(g.voluntarySwitches)))
                switches.append((g.labels.setting("type", "nonvoluntary"), Double(g.nonvoluntarySwitches)))
            }
            if g.threadsEnabled {
                for (i, name) in g.threadNames.enumerated() {
                    threadCPU.append((g.labels.setting("thread", name), Double(g.threadNanoseconds[i]) / 1e9))
                }
            }
            if s.settings.block {
                for (wchan, n) in g.blocked.sorted(by: { $0.key < $1.key }) {
                    blocked.append((g.labels.setting("wchan", wchan), Double(n)))
                }
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
            out.append(.gauge(N.processes, help: "Processes in the group.", count))
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
        let s = published.snapshot
        let (host, groups) = (s.hostHistory, s.groups.map { ($0.name, $0.history) })
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
}
