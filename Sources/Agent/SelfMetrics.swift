import LookoutCore
import ProcFS

#if canImport(Glibc)
import Glibc
import Series
#endif

/// The agent's own process metrics under their standard names (`process_cpu_seconds_total`,
/// `process_resident_memory_bytes`, `process_open_fds`, `process_start_time_seconds`, ...).
/// Read once a second on its own schedule, so a scrape does no I/O.
final class SelfMetrics: AgentComponent {
    let name = "self-metrics"
    let box = SnapshotBox()
    private let procfs: ProcFS
    private let clock: any AgentClock
    private let pid = getpid()

    init(procfs: ProcFS, clock: any AgentClock) {
        self.procfs = procfs
        self.clock = clock
        refresh()
    }

    func run() async throws {
        while true {
            try await clock.sleep(for: .seconds(1))
            refresh()
        }
    }

    func apply(_ config: AgentConfig) async {}

    /// Reads /proc/self and publishes; a file that cannot be read leaves its series out.
    func refresh() {
        var families: [MetricFamily] = []
        let stat = try? procfs.read(procfs.path(pid: pid, "stat"), ProcessStat.parse)
        if let stat = stat ?? nil {
            let hz = Double(procfs.userHZ)
            families.append(
                .counter(
                    "process_cpu_seconds_total", help: "Total user and system CPU time spent in seconds.", unit: "seconds",
                    [(.empty, Double(stat.utime + stat.stime) / hz)]))
            families.append(
                .gauge(
                    "process_resident_memory_bytes", help: "Resident memory size in bytes.", unit: "bytes",
                    [(.empty, Double(max(stat.rssPages, 0)) * Double(procfs.pageSize))]))
            families.append(
                .gauge(
                    "process_virtual_memory_bytes", help: "Virtual memory size in bytes.", unit: "bytes",
                    [(.empty, Double(stat.virtualMemoryBytes))]))
            let system = try? procfs.read(procfs.path("stat")) { bytes throws(ProcFSError) in
                var s = SystemStat()
                try SystemStat.parse(bytes, into: &s, cpuLinesOnly: false)
                return s
            }
            if let boot = (system ?? nil)?.bootTime {
                families.append(
                    .gauge(
                        "process_start_time_seconds", help: "Start time of the process since unix epoch in seconds.",
                        unit: "seconds", [(.empty, Double(boot) + Double(stat.startTime) / hz)]))
            }
        }
        if let fds = (try? ProcFS.countEntries(procfs.path(pid: pid, "fd"))) ?? nil {
            families.append(.gauge("process_open_fds", help: "Number of open file descriptors.", [(.empty, Double(fds))]))
        }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            families.append(
                .gauge("process_max_fds", help: "Maximum number of open file descriptors.", [(.empty, Double(limit.rlim_cur))]))
        }
        box.publish(families)
    }
}
