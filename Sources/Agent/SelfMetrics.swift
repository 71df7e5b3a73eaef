import LookoutCore
import ProcFS
import Sampling

#if canImport(Glibc)
import Glibc
import Series
#endif

/// The agent's own process metrics under their standard names (`process_cpu_seconds_total`,
/// `process_resident_memory_bytes`, `process_open_fds`, `process_start_time_seconds`, ...),
/// read through the ProcFS readers once a second, so a scrape does no I/O. It is read on
/// the sampler's tick thread (a `TickReader`, on the ticks that do the once-a-second reads):
/// a thread already awake, rather than a timer and a task of its own every second.
final class SelfMetrics: TickReader {
    let box = SnapshotBox()
    private let procfs: ProcFS
    /// The agent as the procfs sees it (another PID namespace's procfs numbers it differently).
    private let pid: Int32
    /// Boot time plus the start time in `stat`: neither changes, so /proc/stat is read once.
    private let startTimeSeconds: Double?
    /// The agent's `stat`, kept open (one pread a second); and the buffer its reads reuse.
    private let stat: ProcFile
    private let buffer = ReadBuffer(capacity: 4096)

    init(procfs: ProcFS) {
        self.procfs = procfs
        pid = procfs.selfPID()
        stat = procfs.processFile(pid: pid, "stat")
        if let boot = (try? procfs.systemStat())?.bootTime, let stat = (try? procfs.processStat(pid: pid)) ?? nil {
            startTimeSeconds = Double(boot) + Double(stat.startTime) / Double(procfs.userHZ)
        } else {
            startTimeSeconds = nil
        }
        refresh()
    }

    /// Refreshes on the sampler's once-a-second ticks.
    func read(_ tick: inout SampleTick) {
        if tick.isSlow { refresh() }
    }

    /// Reads and publishes; a file that cannot be read leaves its series out.
    func refresh() { box.publish(families()) }

    func families() -> [MetricFamily] {
        var families: [MetricFamily] = []
        if let stat = (try? self.stat.read(buffer, ProcessStat.parse)) ?? nil {
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
