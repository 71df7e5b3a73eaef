import ProcFS

// The /proc reader's bookkeeping: the files it keeps open and the last counter values it
// read, per thread, process and group. Only the reader touches it, on the tick thread.

/// One thread of a watched process. Its `schedstat` stays open: it is read every tick.
final class ThreadRuntime {
    let tid: Int32
    let schedstat: ProcFile
    /// `task/TID/status`, read once a second (kept as a path: an fd per thread is enough).
    let statusPath: String
    /// `task/TID/stat`, open only while block or mutex sampling is on (they need the state letter every tick).
    var taskStat: ProcFile?
    var lastRunNanoseconds: UInt64?
    var comm: String?
    /// Slot in the group's thread-name table (groups with `threads: true`).
    var commIndex: Int?
    var lastVoluntary: UInt64?
    var lastNonvoluntary: UInt64?
    var stackUnreadable = false
    var gone = false

    init(pid: Int32, tid: Int32, procfs: ProcFS) {
        self.tid = tid
        schedstat = procfs.threadFile(pid: pid, tid: tid, "schedstat")
        statusPath = procfs.path(pid: pid, tid: tid, "status")
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
    var lastUtime: UInt64?
    var lastStime: UInt64?
    var numThreads: Int64 = 0
    var residentBytes: UInt64 = 0
    var openFDs = 0
    var fdsUnreadable = false
    var gone = false

    var pid: Int32 { identity.pid }

    init(_ s: SelectedProcess, procfs: ProcFS) {
        identity = s
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

    init(settings: ProcessGroupSettings) { self.settings = settings }

    func threadSlot(_ comm: String) -> Int {
        if let i = threadSlots[comm] { return i }
        let i = threadNames.count
        threadNames.append(comm)
        threadSlots[comm] = i
        return i
    }
}
