import LookoutCore
import ProcFS
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
import Series
#endif

/// The agent's own process metrics under their standard names (`process_cpu_seconds_total`,
/// `process_resident_memory_bytes`, `process_open_fds`, `process_start_time_seconds`, ...),
/// read through the ProcFS readers once a second on its own schedule, so a scrape does no I/O.
final class SelfMetrics: Service {
    let box = SnapshotBox()
    private let procfs: ProcFS
    private let clock: any AgentClock
    /// The agent as the procfs sees it (another PID namespace's procfs numbers it differently).
    private let pid: Int32
    /// Boot time plus the start time in `stat`: neither changes, so /proc/stat is read once.
    private let startTimeSeconds: Double?

    init(procfs: ProcFS, clock: any AgentClock) {
        self.procfs = procfs
        self.clock = clock
        pid = procfs.selfPID()
        if let boot = (try? procfs.systemStat())?.bootTime, let stat = (try? procfs.processStat(pid: pid)) ?? nil {
            startTimeSeconds = Double(boot) + Double(stat.startTime) / Double(procfs.userHZ)
        } else {
            startTimeSeconds = nil
        }
        refresh()
    }

    /// Refreshes every second until the service group shuts down.
    func run() async throws {
        try await runUntilShutdown { try await self.refreshEverySecond() }
    }

    private func refreshEverySecond() async throws {
        while true {
            try await clock.sleep(for: .seconds(1))
            refresh()
        }
    }

    /// Reads and publishes; a file that cannot be read leaves its series out.
    func refresh() { box.publish(families()) }

    func families() -> [MetricFamily] {
        var families: [MetricFamily] = []
        if let stat = (try? procfs.processStat(pid: pid)) ?? nil {
            families.append(
                .counter(
                    "process_cpu_seconds_total", help: "Total user and system CPU time spent in seconds.", unit: "seconds",
                    [(.empty, Double(stat.utime + stat.stime) / Double(procfs.userHZ))]))
            families.append(
                .gauge(
                    "process_resident_memory_bytes", help: "Resident memory size in bytes.", unit: "bytes",
                    [(.empty, Double(max(stat.rssPages, 0)) * Double(procfs.pageSize))]))
            families.append(
                .gauge(
                    "process_virtual_memory_bytes", help: "Virtual memory size in bytes.", unit: "bytes",
                    [(.empty, Double(stat.virtualMemoryBytes))]))
            if let startTimeSeconds {
                families.append(
                    .gauge(
                        "process_start_time_seconds", help: "Start time of the process since unix epoch in seconds.",
                        unit: "seconds", [(.empty, startTimeSeconds)]))
            }
        }
        if let fds = (try? procfs.openFileDescriptorCount(pid: pid)) ?? nil {
            families.append(.gauge("process_open_fds", help: "Number of open file descriptors.", [(.empty, Double(fds))]))
        }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            families.append(
                .gauge("process_max_fds", help: "Maximum number of open file descriptors.", [(.empty, Double(limit.rlim_cur))]))
        }
        return families
    }
}
