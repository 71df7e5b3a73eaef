#if canImport(Glibc)
import Glibc
#endif
import LookoutCore
import Logging
import ProcFS

/// The host's CPU: /proc/stat's per-CPU counters, and the busy fraction of all CPUs over
/// each tick. Two readings alternate in place, so a read allocates nothing once the CPUs
/// are known.
///
/// The kernel renders all of /proc/stat (its interrupt counts too) on every read, which
/// makes it the dearest file of a tick. Where the root cgroup's CPU accounting is there
/// (cgroup v1 `cpuacct.usage`, or the unified tree's root `cpu.stat`), a tick's busy
/// fraction comes from it instead: its growth over the tick's length times the online CPUs.
/// /proc/stat is then read once a second, for the counters and to check the other source:
/// over every 10 s the two must agree on the busy fraction within 1 point. The root cgroup
/// leaves out time the kernel does not charge to tasks (steal, and irq time where it is
/// accounted apart), and in a cgroup namespace it is only the namespace's: when they
/// disagree, /proc/stat is read every tick again (and the check goes on, to come back).
/// Until the first 10 s agree, /proc/stat is read every tick.
final class HostCPUReader {
    /// The busy-fraction points (0...1) the two sources may differ by over a check window.
    static let tolerance = 0.01
    static let window: Duration = .seconds(10)

    private let file: ProcFile
    private var previous = SystemStat()
    private var current = SystemStat()
    private var hasPrevious = false
    /// The all-CPU line's growth between the last two /proc/stat readings; nil when a counter
    /// went back (it happens to iowait: a huge unsigned delta) or there is no earlier reading.
    private var statGrowth: (busy: UInt64, total: UInt64)?

    private let procfs: ProcFS
    private let logger: Logger
    private let clockTicksPerSecond: UInt64
    /// The root cgroup's accounting; nil when not found (looked for once) or unreadable.
    private var rootUsage: (file: ProcFile, layout: CgroupCPUFiles.Layout)?
    private var lookedForRoot = false
    /// Nanoseconds the root cgroup had used at the previous tick (nil: not read then).
    private var rootPrevious: UInt64?
    /// Whether the root cgroup's figures gave the last check window's agreement.
    private(set) var usesRootCgroup = false
    private var hasLoggedDisagreement = false
    private var check = Check()

    /// Both sources' growth over the current check window.
    private struct Check {
        var start: MonotonicInstant?
        var statBusy: UInt64 = 0
        var statTotal: UInt64 = 0
        var rootNanoseconds: UInt64 = 0
        /// /proc/stat's all-CPU line and the root cgroup's usage at the last once-a-second reading.
        var lastStat: CPUTimes?
        var lastRoot: UInt64?
    }

    init(procfs: ProcFS, logger: Logger) {
        file = ProcFile(procfs.path("stat"))
        self.procfs = procfs
        self.logger = logger
        clockTicksPerSecond = UInt64(procfs.userHZ)
        previous.cpus.reserveCapacity(256)
        current.cpus.reserveCapacity(256)
    }

    /// Reads into `out`: the counters when /proc/stat is read (every `slow` tick, and every
    /// tick while the root cgroup is not trusted), and the utilization when `utilization`
    /// is wanted.
    func read(
        _ buffer: ReadBuffer, slow: Bool, utilization wanted: Bool, at now: MonotonicInstant, interval: Duration,
        into out: inout HostCPUTick, log: ReadErrorLog
    ) {
        out.utilization = nil
        out.cpus = nil
        let root = wanted ? readRoot(buffer, log: log) : nil
        let statWanted = slow || !usesRootCgroup || root == nil
        if statWanted && !readStat(buffer, log: log) {
            rootPrevious = root
            return
        }
        if usesRootCgroup, let root, let before = rootPrevious {
            // Busy nanoseconds of all CPUs over the tick's nanoseconds on each of them.
            let cpus = UInt64(max(previous.cpus.count, 1))
            let span = UInt64(max(interval.nanoseconds, 0)) &* cpus
            if span > 0, root >= before {
                out.utilization = min(Double(root - before) / Double(span), 1)
            }
        } else if statWanted && wanted, let busy = statGrowth?.busy, let total = statGrowth?.total, total > 0 {
            out.utilization = Double(busy) / Double(total)
        }
        rootPrevious = root
        if statWanted { out.cpus = previous.cpus }
        if slow && wanted { checkAgreement(root: root, at: now) }
        if !wanted { usesRootCgroup = false }
    }

    private func readStat(_ buffer: ReadBuffer, log: ReadErrorLog) -> Bool {
        do {
            let ok: Void? = try file.read(buffer) { (bytes) throws(ProcFSError) in
                try SystemStat.parse(bytes, into: &current, cpuLinesOnly: true)
            }
            guard ok != nil else { return false }
        } catch {
            log(error)
            return false
        }
        statGrowth = nil
        if hasPrevious {
            let busy = current.total.busy &- previous.total.busy
            let total = current.total.total &- previous.total.total
            if total > 0, total < UInt64(Int64.max), busy <= total { statGrowth = (busy, total) }
        }
        swap(&previous, &current)
        hasPrevious = true
        return true
    }

    /// The root cgroup's usage in nanoseconds; nil when there is none or it cannot be read.
    private func readRoot(_ buffer: ReadBuffer, log: ReadErrorLog) -> UInt64? {
        if !lookedForRoot {
            lookedForRoot = true
            do {
                if let f = try procfs.rootCgroupCPUFiles(), let path = f.usageFile {
                    rootUsage = (ProcFile(path), f.layout)
                    logger.debug("root cgroup CPU accounting found", metadata: ["file": "\(path)"])
                }
            } catch {
                log(error)
            }
        }
        guard let (f, layout) = rootUsage else { return nil }
        do {
            let v: UInt64?? = try f.read(buffer) { (bytes) throws(ProcFSError) in
                layout == .v1 ? try CgroupCPUStat.parseV1Usage(bytes) : try CgroupCPUStat.parseV2(bytes).usageNanoseconds
            }
            if let v = v ?? nil { return v }
        } catch {
            log(error)
        }
        // Gone or unreadable: /proc/stat for good.
        rootUsage = nil
        usesRootCgroup = false
        return nil
    }

    /// Once a second: adds both sources' growth to the check window and, when the window is
    /// full, decides which one gives the next ticks' busy fraction.
    private func checkAgreement(root: UInt64?, at now: MonotonicInstant) {
        let stat = previous.total
        defer {
            check.lastStat = stat
            check.lastRoot = root
        }
        guard let root, let lastRoot = check.lastRoot, let lastStat = check.lastStat, root >= lastRoot,
            stat.total >= lastStat.total, stat.busy >= lastStat.busy, stat.total &- lastStat.total < UInt64(Int64.max)
        else {
            check = Check()
            return
        }
        if check.start == nil { check.start = now }
        check.statBusy &+= stat.busy &- lastStat.busy
        check.statTotal &+= stat.total &- lastStat.total
        check.rootNanoseconds &+= root &- lastRoot
        guard let start = check.start, now - start >= Self.window, check.statTotal > 0 else { return }
        let totalNanoseconds = Double(check.statTotal) * 1e9 / Double(clockTicksPerSecond)
        let statFraction = Double(check.statBusy) / Double(check.statTotal)
        let rootFraction = Double(check.rootNanoseconds) / totalNanoseconds
        let agree = abs(statFraction - rootFraction) <= Self.tolerance
        if usesRootCgroup && !agree && !hasLoggedDisagreement {
            hasLoggedDisagreement = true
            logger.info(
                "the root cgroup's CPU accounting disagrees with /proc/stat; per-tick host CPU comes from /proc/stat while it does",
                metadata: [
                    "proc_stat_busy": "\((statFraction * 10000).rounded() / 10000)",
                    "root_cgroup_busy": "\((rootFraction * 10000).rounded() / 10000)",
                ])
        }
        if agree && !usesRootCgroup {
            logger.debug("per-tick host CPU comes from the root cgroup's CPU accounting", metadata: ["busy": "\((statFraction * 10000).rounded() / 10000)"])
        }
        usesRootCgroup = agree
        check = Check(start: now, lastStat: stat, lastRoot: root)
    }
}

/// /proc/pressure/cpu, once a second; nil for good when the kernel has no PSI.
final class PressureReader {
    private var file: ProcFile?

    init(procfs: ProcFS) {
        file = ProcFile(procfs.path("pressure/cpu"), emptyMeansGone: true)
    }

    /// The `some` total in microseconds; nil when absent or unreadable.
    func read(_ buffer: ReadBuffer, log: ReadErrorLog) -> UInt64? {
        guard let f = file else { return nil }
        do {
            return try f.read(buffer, Pressure.parse)?.some.totalMicroseconds
        } catch {
            // PSI compiled in but disabled (psi=0) fails reads with EOPNOTSUPP: no data, for good.
            if error.errno == EOPNOTSUPP {
                file = nil
            } else {
                log(error)
            }
            return nil
        }
    }
}

/// The agent's cgroup CPU accounting (v1 or v2), once a second. The files are located once
/// and kept open; when they go away (the agent was moved), they are located again, at most
/// once a minute.
final class CgroupReader {
    private let procfs: ProcFS
    private let logger: Logger
    private var files: CgroupCPUFiles?
    private var usage: ProcFile?
    private var throttling: ProcFile?
    /// v2: `cpu.max`, `cpu.weight`; v1: `cpu.cfs_quota_us`, `cpu.cfs_period_us`, `cpu.shares`.
    private var limitFiles: [ProcFile] = []
    private var nextLocate: MonotonicInstant?

    init(procfs: ProcFS, logger: Logger) {
        self.procfs = procfs
        self.logger = logger
    }

    func read(_ buffer: ReadBuffer, at now: MonotonicInstant, log: ReadErrorLog) -> CgroupCPUStat? {
        if files == nil {
            if let next = nextLocate, now < next { return nil }
            nextLocate = now + .seconds(60)
            do {
                files = try procfs.cgroupCPUFiles()
            } catch {
                log(error)
            }
            guard let found = files else { return nil }
            usage = found.usageFile.map { ProcFile($0) }
            throttling = found.throttlingFile.map { ProcFile($0) }
            limitFiles = found.cpuDirectory.map { dir in CgroupCPULimit.fileNames(found.layout).map { ProcFile(dir + "/" + $0) } } ?? []
            logger.debug(
                "cgroup CPU accounting found", metadata: ["layout": "\(found.layout.rawValue)", "cgroup": "\(found.cgroupPath)"])
        }
        guard let found = files else { return nil }
        var s = CgroupCPUStat()
        var gone = false
        do {
            switch found.layout {
            case .v2:
                if let u = usage {
                    if let v = try u.read(buffer, CgroupCPUStat.parseV2) { s = v } else { gone = true }
                }
            case .v1:
                if let u = usage {
                    if let v = try u.read(buffer, CgroupCPUStat.parseV1Usage) { s.usageNanoseconds = v } else { gone = true }
                }
                if let t = throttling {
                    if let v = try t.read(buffer, CgroupCPUStat.parseV1CPUStat) {
                        s.periods = v.periods
                        s.throttledPeriods = v.throttledPeriods
                        s.throttledNanoseconds = v.throttledNanoseconds
                    } else {
                        gone = true
                    }
                }
            }
        } catch {
            log(error)
            return nil
        }
        if gone {
            // The cgroup went away: find it again.
            files = nil
            nextLocate = nil
            limitFiles = []
        }
        return s
    }

    /// The cgroup's CPU limit and weight (after `read`, which finds the files); nil when
    /// the cgroup has no cpu controller files.
    func readLimit(_ buffer: ReadBuffer, log: ReadErrorLog) -> CgroupCPULimit? {
        guard let layout = files?.layout, !limitFiles.isEmpty else { return nil }
        do {
            return try CgroupCPULimit.read(layout, limitFiles, buffer: buffer)
        } catch {
            log(error)
            return nil
        }
    }
}

/// Logs a read error once per ten minutes per kind of error and file name (a broken file
/// would otherwise log 19 times a second); repeats go to the debug level.
final class ReadErrorLog {
    let logger: Logger
    /// The tick being read (set by the reader at the start of each tick).
    var now = MonotonicInstant(nanoseconds: 0)
    private var logged: [String: MonotonicInstant] = [:]

    init(logger: Logger) { self.logger = logger }

    func callAsFunction(_ error: ProcFSError) {
        let file = error.path.split(separator: "/").last.map(String.init) ?? error.path
        let key = "\(error.kind) \(error.reason) \(file)"
        if let last = logged[key], now - last < .seconds(600) {
            logger.debug("read failed", metadata: ["error": "\(error)"])
            return
        }
        logged[key] = now
        logger.warning("read failed", metadata: ["error": "\(error)"])
    }
}
