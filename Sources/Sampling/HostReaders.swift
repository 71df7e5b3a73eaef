#if canImport(Glibc)
import Glibc
#endif
import LookoutCore
import Logging
import ProcFS

/// /proc/stat, read every tick while per-tick CPU sampling is on (else once a second): the
/// per-CPU counters, and the busy fraction of all CPUs since the previous reading. Two
/// readings alternate in place, so a read allocates nothing once the CPUs are known.
final class HostCPUReader {
    private let file: ProcFile
    private var previous = SystemStat()
    private var current = SystemStat()
    private var hasPrevious = false

    init(procfs: ProcFS) {
        file = ProcFile(procfs.path("stat"))
        previous.cpus.reserveCapacity(256)
        current.cpus.reserveCapacity(256)
    }

    /// Reads into `out`: the counters, and the utilization when `utilization` is wanted.
    func read(_ buffer: ReadBuffer, utilization wanted: Bool, into out: inout HostCPUTick, log: ReadErrorLog) {
        out.utilization = nil
        out.cpus = nil
        do {
            let ok: Void? = try file.read(buffer) { (bytes) throws(ProcFSError) in
                try SystemStat.parse(bytes, into: &current, cpuLinesOnly: true)
            }
            guard ok != nil else { return }
        } catch {
            log(error)
            return
        }
        if hasPrevious && wanted {
            let busy = current.total.busy &- previous.total.busy
            let total = current.total.total &- previous.total.total
            // A counter that went back (it happens to iowait) gives a huge unsigned delta: skip that tick.
            if total > 0, total < UInt64(Int64.max), busy <= total {
                out.utilization = Double(busy) / Double(total)
            }
        }
        swap(&previous, &current)
        hasPrevious = true
        out.cpus = previous.cpus
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
        }
        return s
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
