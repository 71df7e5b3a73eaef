#if canImport(Glibc)
import Glibc
#endif

/// The kernel's CPU clock of a whole process: the on-CPU nanoseconds of all its threads,
/// those still running and those that exited, read with one `clock_gettime` (no file, no
/// text to format or parse). It is the sum of what the threads' `schedstat` files say,
/// plus what exited threads ran.
///
/// A PID means the process of that PID in the agent's own PID namespace, so the clock is
/// only for a procfs that is the agent's own (see `ProcFS.isOwnPIDNamespace`). After the
/// process exits, reads fail; if its PID is taken again, the clock reads the new process
/// (whose counter starts lower, so its readers see no growth until they notice).
public struct ProcessCPUClock: Sendable, Hashable {
    let id: clockid_t

    /// nil when the kernel gives no clock for `pid` (no such process, or refused).
    public init?(pid: Int32) {
        var id = clockid_t()
        guard clock_getcpuclockid(pid, &id) == 0 else { return nil }
        self.id = id
    }

    /// The process' CPU time in nanoseconds; nil when it cannot be read (the process is gone).
    public func read() -> UInt64? {
        var ts = timespec()
        guard clock_gettime(id, &ts) == 0, ts.tv_sec >= 0, ts.tv_nsec >= 0 else { return nil }
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }
}

extension ProcFS {
    /// True when this procfs is a live procfs mount of the agent's own PID namespace: its
    /// PIDs are the ones system calls take (`ProcessCPUClock`). False for fixture trees,
    /// snapshots, and a host's /proc mounted into a container.
    public var isOwnPIDNamespace: Bool {
        guard isLiveProcfs, let pid = selfLinkPID() else { return false }
        return pid == getpid()
    }
}
