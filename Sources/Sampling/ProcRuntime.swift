import LookoutCore
import ProcFS

// The /proc reader's bookkeeping: the files it keeps open and the last counter values it
// read, per thread, process and group. Only the reader touches it, on the tick thread.

/// One thread of a watched process. Its `schedstat` stays open: it is read every tick, or
/// once a second where its process' CPU clock gives the ticks' figures.
/// A process without a `task/` folder (a /proc snapshot, an emulated /proc) is one thread
/// whose files are the process' own.
final class ThreadRuntime {
    let tid: Int32
    /// `task/TID`, or the process' directory for a process without `task/`.
    let directory: String
    let schedstat: ProcFile
    /// `task/TID/status`, read once a second (kept as a path: an fd per thread is enough).
    let statusPath: String
    /// `stat`, open while block or mutex sampling is on (they need the state letter every
    /// tick) and while the thread's CPU time comes from it.
    var taskStat: ProcFile?
    /// The CPU time is `stat`'s utime + stime: `schedstat` cannot be read (a kernel without
    /// scheduler statistics, a sandboxed /proc), or the thread stands for a whole process
    /// without `task/` (whose `stat` counts all its threads).
    var cpuFromStat: Bool
    var lastRunNanoseconds: UInt64?
    /// The reader's tick on which `lastRunNanoseconds` was read: a thread sample's CPU is
    /// only the growth over one tick.
    var lastRunTick: UInt64 = 0
    var comm: String?
    /// Slot in the group's thread-name table (groups with `threads: true`).
    var commIndex: Int?
    var lastVoluntary: UInt64?
    var lastNonvoluntary: UInt64?
    var stackUnreadable = false
    var gone = false

    convenience init(pid: Int32, tid: Int32, procfs: ProcFS) {
        self.init(tid: tid, directory: "\(procfs.root)/\(pid)/task/\(tid)", cpuFromStat: false)
    }

    /// The only thread of a process that has no `task/` folder.
    convenience init(processWithoutTasks pid: Int32, procfs: ProcFS) {
        self.init(tid: pid, directory: "\(procfs.root)/\(pid)", cpuFromStat: true)
    }

    private init(tid: Int32, directory: String, cpuFromStat: Bool) {
        self.tid = tid
        self.directory = directory
        self.cpuFromStat = cpuFromStat
        schedstat = ProcFile(directory + "/schedstat", emptyMeansGone: true)
        statusPath = directory + "/status"
    }

    /// The thread's `stat`, opened on first use and kept open.
    var stat: ProcFile {
        if let f = taskStat { return f }
        let f = ProcFile(directory + "/stat", emptyMeansGone: true)
        taskStat = f
        return f
    }
}

/// One watched process, identified by PID and start time. `stat` stays open, which pins the
/// process: after it exits, reads fail even if its PID is reused.
final class ProcessRuntime {
    let identity: SelectedProcess
    let stat: ProcFile
    let statm: ProcFile
    let fdPath: String
    let taskPath: String
    var threads: [ThreadRuntime] = []
    /// The process' CPU clock, where the procfs is the agent's own PID namespace: the
    /// group's per-tick CPU comes from it, and the threads' `schedstat` is read only when
    /// something needs each thread (once a second, profiles, block and mutex sampling).
    var cpuClock: ProcessCPUClock?
    var lastClockNanoseconds: UInt64?
    /// The process has no `task/` folder: its one thread is the process itself.
    var withoutTasks = false
    var lastUtime: UInt64?
    var lastStime: UInt64?
    var numThreads: Int64 = 0
    var residentBytes: UInt64 = 0
    var openFDs = 0
    var fdsUnreadable = false
    var gone = false

    var pid: Int32 { identity.pid }

    init(_ s: SelectedProcess, procfs: ProcFS, cpuClock: Bool) {
        identity = s
        self.cpuClock = cpuClock ? ProcessCPUClock(pid: s.pid) : nil
        stat = procfs.processFile(pid: s.pid, "stat")
        statm = procfs.processFile(pid: s.pid, "statm")
        fdPath = procfs.path(pid: s.pid, "fd")
        taskPath = procfs.path(pid: s.pid, "task")
    }
}

/// One `processes:` group: its members and its thread-name table. Counters are not kept
/// here: each tick says what they grew by, and the aggregation adds it up.
final class GroupRuntime {
    var settings: ProcessGroupSettings
    var processes: [ProcessRuntime] = []
    /// Thread names by slot, only ever appended (the aggregation keeps a counter per slot).
    private(set) var threadNames: [String] = []
    private var threadSlots: [String: Int] = [:]
    /// Members came or went since the tick last listed them.
    var membershipChanged = true
    /// Members that left since the last selection, by identity: one the selection finds
    /// again (same PID and start time) comes back with its counters' last readings instead
    /// of bringing its whole lifetime CPU a second time.
    var departed: [SelectedProcess: ProcessRuntime] = [:]
    /// When the selection last went from some processes (or none yet) to none.
    var emptySince: MonotonicInstant?
    /// When the group was last logged as matching nothing.
    var emptyWarnedAt: MonotonicInstant?

    init(settings: ProcessGroupSettings) { self.settings = settings }

    func threadSlot(_ comm: String) -> Int {
        if let i = threadSlots[comm] { return i }
        let i = threadNames.count
        threadNames.append(comm)
        threadSlots[comm] = i
        return i
    }
}
