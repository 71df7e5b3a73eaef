#if canImport(Glibc)
import Glibc
#endif
import LookoutCore
import Logging
import ProcFS

/// The sampler's /proc reader: it owns the descriptors it keeps open and the bookkeeping of
/// the watched processes and threads, and fills each tick's value with what it read. It
/// keeps no totals: a tick says what the counters grew by, the aggregation adds it up.
///
/// Every tick: the host's busy time (see `HostCPUReader`) and each watched process' CPU:
/// its kernel CPU clock (`ProcessCPUClock`, one system call) where the procfs is the agent's
/// own PID namespace, else each of its threads' `schedstat` (kept open, one pread each).
/// Each thread's `schedstat` is read on every tick too while something needs each
/// thread's share of the tick (a profile being recorded), and each thread's `stat` while
/// block or mutex sampling is on; otherwise once a second. Once a second: the groups'
/// selection (regexes never run on other ticks), each process' `stat`, `statm`, fd count and
/// its threads' `status`, PSI and the cgroup. A process is known by PID and start time: a
/// reused PID is a new process, and one found again after it was taken for gone is not
/// added a second time. Where `schedstat` cannot be read, a thread's CPU comes from its
/// `stat`; a process without `task/` is one thread, its own directory.
final class ProcReader: TickReader {
    /// What `sampling:` asks the reader to read.
    struct Options: Sendable, Hashable {
        /// Host and thread CPU every tick (else once a second, for the counters).
        var cpu: Bool
        var block: Bool
        var mutex: Bool

        init(_ s: SamplerSettings) {
            cpu = s.cpu
            block = s.block
            mutex = s.mutex
        }

        /// Block or mutex sampling: each thread's state is read every tick.
        var readsThreadStates: Bool { block || mutex }
    }

    let procfs: ProcFS
    private(set) var options: Options
    private(set) var groups: [GroupRuntime] = []
    private let log: ReadErrorLog
    private let buffer = ReadBuffer()
    private let host: HostCPUReader
    private let pressure: PressureReader
    private let cgroup: CgroupReader
    private var nextSlow: MonotonicInstant?
    private var rescanRequested = true
    /// The groups changed: the tick's group list is laid out again.
    private var layoutChanged = true
    private var selectionGeneration: UInt64 = 0
    /// Processes' CPU clocks can be read (see `ProcessCPUClock`).
    private let processClocks: Bool
    /// Counts the ticks read, for `ThreadRuntime.lastRunTick`.
    private var tickNumber: UInt64 = 0

    init(procfs: ProcFS, options: Options, groups: [ProcessGroupSettings], logger: Logger) {
        self.procfs = procfs
        self.options = options
        log = ReadErrorLog(logger: logger)
        host = HostCPUReader(procfs: procfs, logger: logger)
        pressure = PressureReader(procfs: procfs)
        cgroup = CgroupReader(procfs: procfs, logger: logger)
        processClocks = procfs.isOwnPIDNamespace
        configure(options: options, groups: groups)
    }

    /// Takes a new configuration. Groups are matched by name: one that still exists keeps
    /// its processes and thread names; the selection runs again at the next tick.
    func configure(options new: Options, groups newGroups: [ProcessGroupSettings]) {
        options = new
        var byName: [String: GroupRuntime] = [:]
        for g in groups { byName[g.settings.name] = g }
        groups = newGroups.map { gs in
            if let g = byName[gs.name] {
                if g.settings.selector != gs.selector {
                    g.emptySince = nil
                    g.emptyWarnedAt = nil
                }
                g.settings = gs
                return g
            }
            return GroupRuntime(settings: gs)
        }
        if !new.readsThreadStates {
            for g in groups { for p in g.processes { for t in p.threads where !t.cpuFromStat { t.taskStat = nil } } }
        }
        rescanRequested = true
        layoutChanged = true
    }

    // MARK: one tick

    func read(_ tick: inout SampleTick) {
        let time = tick.monotonicTime
        log.now = time
        tickNumber &+= 1
        let due = nextSlow.map { time >= $0 } ?? true
        if due {
            var next = nextSlow ?? time
            while next <= time { next = next + .seconds(1) }
            nextSlow = next
        }
        // A reload rescans at once and reads the new members' counters in the same tick.
        let slow = due || rescanRequested
        tick.isSlow = slow
        if layoutChanged {
            tick.groups = groups.map { GroupTick(name: $0.settings.name) }
            for g in groups { g.membershipChanged = true }
            layoutChanged = false
        }
        for i in tick.groups.indices { Self.reset(&tick.groups[i]) }

        if slow {
            rescan()
            rescanRequested = false
            for (i, g) in groups.enumerated() {
                tick.groups[i].slow = GroupSlowFigures()
                for p in g.processes where !p.gone { readSlow(g, p, &tick.groups[i]) }
                Self.listThreadNames(g, &tick.groups[i])
            }
        }
        let measureCPU = options.cpu || slow
        if measureCPU {
            host.read(buffer, slow: slow, utilization: options.cpu, at: time, interval: tick.interval, into: &tick.host, log: log)
        } else {
            tick.host = HostCPUTick()
        }
        let interval = UInt64(max(tick.interval.nanoseconds, 0))
        for (i, g) in groups.enumerated() {
            readThreads(
                g, measureCPU: measureCPU, slow: slow, interval: interval, demand: tick.demand, &tick.groups[i], &tick.samples)
        }
        if slow {
            tick.pressureWaitingMicroseconds = pressure.read(buffer, log: log)
            tick.cgroup = cgroup.read(buffer, at: time, log: log)
            tick.cgroupLimit = cgroup.readLimit(buffer, log: log)
            for (i, g) in groups.enumerated() { Self.count(g, &tick.groups[i].slow!) }
        } else {
            tick.pressureWaitingMicroseconds = nil
            tick.cgroup = nil
            tick.cgroupLimit = nil
        }
        var selectionChanged = false
        for (i, g) in groups.enumerated() where g.membershipChanged {
            g.membershipChanged = false
            if !tick.groups[i].processes.elementsEqual(g.processes.lazy.map(\.identity)) {
                tick.groups[i].processes = g.processes.map(\.identity)
                selectionChanged = true
            }
        }
        if selectionChanged { selectionGeneration &+= 1 }
        tick.selectionGeneration = selectionGeneration
    }

    /// Clears what a group's tick says, keeping the storage.
    private static func reset(_ out: inout GroupTick) {
        out.cpuNanoseconds = nil
        for k in out.threadNanoseconds.indices { out.threadNanoseconds[k] = 0 }
        if !out.blocked.isEmpty { out.blocked.removeAll(keepingCapacity: true) }
        out.mutexWaits = 0
        out.slow = nil
    }

    /// Makes the tick's thread-name table match the group's (names are only appended).
    private static func listThreadNames(_ g: GroupRuntime, _ out: inout GroupTick) {
        guard out.threadNames.count != g.threadNames.count else { return }
        out.threadNames = g.threadNames
        while out.threadNanoseconds.count < out.threadNames.count { out.threadNanoseconds.append(0) }
    }

    /// The once-a-second gauges, over the processes still alive after this tick.
    private static func count(_ g: GroupRuntime, _ figures: inout GroupSlowFigures) {
        for p in g.processes where !p.gone {
            figures.processes += 1
            figures.threads += p.numThreads
            figures.residentBytes &+= p.residentBytes
            if p.fdsUnreadable { figures.openFDsUnknown = true } else { figures.openFDs += p.openFDs }
        }
    }

    /// Every tick: each process' CPU (when measured), from its CPU clock or else as the sum of
    /// its threads'; each thread's CPU where it is needed; each thread's state (block and
    /// mutex sampling). Threads and processes found gone leave the group.
    private func readThreads(
        _ g: GroupRuntime, measureCPU: Bool, slow: Bool, interval: UInt64, demand: ThreadSampleDemand?, _ out: inout GroupTick,
        _ samples: inout [ThreadSample]
    ) {
        var ran: UInt64 = 0
        var anyDelta = false
        var anyProcessGone = false
        // Each thread's share: the thread-name counters (once a second is enough for them)
        // and the samples of a profile being recorded.
        let threadsEveryTick = demand != nil || options.readsThreadStates
        for p in g.processes {
            if p.gone {
                anyProcessGone = true
                continue
            }
            var fromClock = false
            if measureCPU, let clock = p.cpuClock {
                if let now = clock.read() {
                    fromClock = true
                    if let last = p.lastClockNanoseconds {
                        ran &+= now > last ? now - last : 0
                        anyDelta = true
                    }
                    p.lastClockNanoseconds = max(now, p.lastClockNanoseconds ?? 0)
                } else {
                    // Gone (its threads' reads tell) or refused: its threads from now on.
                    p.cpuClock = nil
                }
            }
            let readThreadCPU = measureCPU && (!fromClock || slow || threadsEveryTick)
            // Nothing to read of its threads this tick: not even their bookkeeping is touched.
            if !readThreadCPU && !options.readsThreadStates { continue }
            var anyThreadGone = false
            for t in p.threads {
                if readThreadCPU, let delta = readCPU(g, p, t, demand: demand, &out, &samples), !fromClock {
                    ran &+= delta
                    anyDelta = true
                }
                if options.readsThreadStates && !t.gone {
                    readState(g, p, t, demand: demand, interval: interval, &out, &samples)
                }
                if t.gone { anyThreadGone = true }
            }
            if anyThreadGone {
                p.threads.removeAll { $0.gone }
                if p.threads.isEmpty {
                    p.gone = true
                    anyProcessGone = true
                }
            }
        }
        if anyProcessGone {
            for p in g.processes where p.gone { g.departed[p.identity] = p }
            g.processes.removeAll { $0.gone }
            g.membershipChanged = true
        }
        if options.cpu && anyDelta { out.cpuNanoseconds = ran }
    }

    /// The thread's on-CPU time since the last read; nil on its first read (whose whole
    /// counter still goes to the thread-name counter) and when unreadable.
    private func readCPU(
        _ g: GroupRuntime, _ p: ProcessRuntime, _ t: ThreadRuntime, demand: ThreadSampleDemand?, _ out: inout GroupTick,
        _ samples: inout [ThreadSample]
    ) -> UInt64? {
        guard let run = readRunNanoseconds(t) else { return nil }
        let previousTick = t.lastRunTick
        t.lastRunTick = tickNumber
        guard let last = t.lastRunNanoseconds else {
            if let slot = t.commIndex { out.threadNanoseconds[slot] &+= run }
            t.lastRunNanoseconds = run
            return nil
        }
        let delta = run > last ? run - last : 0
        t.lastRunNanoseconds = max(run, last)
        if let slot = t.commIndex { out.threadNanoseconds[slot] &+= delta }
        // A sample is one tick's CPU: not the growth since a read a second ago.
        if let demand, delta > 0, previousTick &+ 1 == tickNumber {
            var stack: [String]?
            var wchan: String?
            if demand.contains(.kernelStack) && !t.stackUnreadable {
                do {
                    stack = try procfs.read(t.directory + "/stack", buffer: buffer, KernelStack.parse)
                } catch {
                    // Without root the stack is unreadable for good; the wait channel stands in.
                    t.stackUnreadable = true
                    if error.kind != .permissionDenied { log(error) }
                }
            }
            if demand.contains(.waitChannel) || (demand.contains(.kernelStack) && stack == nil) {
                wchan = waitChannel(t)
            }
            samples.append(
                ThreadSample(
                    kind: .cpu, pid: p.pid, tid: t.tid, group: g.settings.name, thread: t.comm ?? "", nanoseconds: delta,
                    waitChannel: wchan, kernelStack: stack))
        }
        return delta
    }

    /// The thread's on-CPU nanoseconds: `schedstat`, or `stat`'s utime + stime where
    /// `schedstat` is missing (found on the first read; the thread is gone only when `stat`
    /// is gone too). nil when gone (marked) or unreadable.
    private func readRunNanoseconds(_ t: ThreadRuntime) -> UInt64? {
        do {
            if !t.cpuFromStat {
                if let s = try t.schedstat.read(buffer, Schedstat.parse) { return s.runNanoseconds }
                // Once read, a schedstat that fails means the thread exited.
                if t.lastRunNanoseconds != nil {
                    t.gone = true
                    return nil
                }
                t.cpuFromStat = true
                t.schedstat.close()
            }
            guard let ticks = try t.stat.read(buffer, ProcessStat.parseCPUTicks) else {
                t.gone = true
                return nil
            }
            return ticks &* nanosecondsPerTick
        } catch {
            log(error)
            return nil
        }
    }

    private var nanosecondsPerTick: UInt64 { 1_000_000_000 / UInt64(procfs.userHZ) }

    /// Block and mutex sampling: the thread's state letter, then its wait channel (`D`) or
    /// system call (`S`).
    private func readState(
        _ g: GroupRuntime, _ p: ProcessRuntime, _ t: ThreadRuntime, demand: ThreadSampleDemand?, interval: UInt64,
        _ out: inout GroupTick, _ samples: inout [ThreadSample]
    ) {
        let state: UInt8
        do {
            guard let s = try t.stat.read(buffer, ProcessStat.parseState) else {
                t.gone = true
                return
            }
            state = s
        } catch {
            log(error)
            return
        }
        if options.block && state == UInt8(ascii: "D") {
            let wchan = waitChannel(t) ?? "unknown"
            if let i = out.blocked.firstIndex(where: { $0.waitChannel == wchan }) {
                out.blocked[i].count &+= 1
            } else {
                out.blocked.append(WaitChannelCount(waitChannel: wchan, count: 1))
            }
            if demand != nil {
                samples.append(
                    ThreadSample(
                        kind: .blocked, pid: p.pid, tid: t.tid, group: g.settings.name, thread: t.comm ?? "", nanoseconds: interval,
                        waitChannel: wchan))
            }
        }
        // futex waits sleep interruptibly: only `S` threads can be in one.
        if options.mutex && state == UInt8(ascii: "S") {
            do {
                if let sys = try procfs.read(t.directory + "/syscall", buffer: buffer, emptyMeansGone: true, SyscallState.parse),
                    sys.isFutexWait
                {
                    out.mutexWaits &+= 1
                    if demand != nil {
                        samples.append(
                            ThreadSample(
                                kind: .mutexWait, pid: p.pid, tid: t.tid, group: g.settings.name, thread: t.comm ?? "",
                                nanoseconds: interval))
                    }
                }
            } catch {
                log(error)
            }
        }
    }

    private func waitChannel(_ t: ThreadRuntime) -> String? {
        do {
            return try procfs.read(t.directory + "/wchan", buffer: buffer) { WaitChannel.parse($0) } ?? nil
        } catch {
            log(error)
            return nil
        }
    }

    /// The once-a-second reads of one process: what its user and system CPU counters grew
    /// by, memory, fds, and each thread's name and context switches.
    private func readSlow(_ g: GroupRuntime, _ p: ProcessRuntime, _ out: inout GroupTick) {
        let st: ProcessStat
        do {
            guard let s = try p.stat.read(buffer, ProcessStat.parse) else {
                p.gone = true
                return
            }
            st = s
        } catch {
            log(error)
            return
        }
        if st.isZombie || st.startTime != p.identity.startTime {
            p.gone = true
            return
        }
        out.slow!.userTicks &+= Self.growth(&p.lastUtime, st.utime)
        out.slow!.systemTicks &+= Self.growth(&p.lastStime, st.stime)
        p.numThreads = st.numThreads
        do {
            if let m = try p.statm.read(buffer, ProcessStatm.parse) {
                p.residentBytes = m.residentPages &* UInt64(procfs.pageSize)
            }
        } catch {
            log(error)
        }
        if !p.fdsUnreadable {
            do {
                if let n = try procfs.openFileDescriptorCount(fdDirectory: p.fdPath) { p.openFDs = n }
            } catch {
                // Another user's process without privileges: its fds stay unknown, and so does
                // the group's count (a sum without them would be too low).
                if error.kind == .permissionDenied { p.fdsUnreadable = true }
                log(error)
            }
        }
        for t in p.threads where !t.gone {
            let status: ProcessStatus
            do {
                guard let s = try ProcFile.readOnce(t.statusPath, buffer, emptyMeansGone: true, ProcessStatus.parse) else {
                    t.gone = true
                    continue
                }
                status = s
            } catch {
                log(error)
                continue
            }
            if t.comm != status.name {
                t.comm = status.name
                t.commIndex = nil
            }
            if g.settings.threads && t.commIndex == nil { t.commIndex = g.threadSlot(status.name) }
            if !g.settings.threads { t.commIndex = nil }
            out.slow!.voluntarySwitches &+= Self.growth(&t.lastVoluntary, status.voluntaryContextSwitches ?? 0)
            out.slow!.nonvoluntarySwitches &+= Self.growth(&t.lastNonvoluntary, status.nonvoluntaryContextSwitches ?? 0)
        }
    }

    /// What a kernel counter grew by since `last` (its whole value on the first read; 0 when
    /// it went back), remembering the highest value seen.
    static func growth(_ last: inout UInt64?, _ value: UInt64) -> UInt64 {
        guard let previous = last else {
            last = value
            return value
        }
        last = max(previous, value)
        return value > previous ? value - previous : 0
    }

    // MARK: selection

    private func rescan() {
        // Processes already watched need no fresh `stat` read to be selected again by PID: their
        // kept-open `stat` fails once they exit, even if the PID is reused, and the next
        // rescan then reads the new process.
        var tracked: [Int32: SelectedProcess] = [:]
        for g in groups {
            for p in g.processes where !p.gone { tracked[p.pid] = p.identity }
        }
        let log = self.log
        let selection = ProcessSelection(procfs: procfs, buffer: buffer, tracked: tracked, onError: { log($0) })
            .select(groups.map(\.settings.selector))
        for (g, wanted) in zip(groups, selection) {
            var existing: [Int32: ProcessRuntime] = [:]
            for p in g.processes where !p.gone { existing[p.pid] = p }
            var next: [ProcessRuntime] = []
            next.reserveCapacity(wanted.count)
            for w in wanted {
                if let p = existing[w.pid], p.identity.startTime == w.startTime {
                    next.append(p)
                } else if let p = g.departed[w] {
                    // Marked gone but still there: known, so its counters are not added again.
                    p.gone = false
                    next.append(p)
                } else {
                    next.append(ProcessRuntime(w, procfs: procfs, cpuClock: processClocks))
                }
            }
            g.departed.removeAll()
            g.processes = next
            g.membershipChanged = true
            for p in next { refreshThreads(p) }
            noteEmptiness(g, at: log.now)
        }
    }

    /// A group that has matched no process for a minute is logged, once and then once an hour
    /// while it stays empty, beside its `lookout_processes{group} 0`: a selector that matches
    /// nothing is most often a typo or a service that did not start.
    private func noteEmptiness(_ g: GroupRuntime, at now: MonotonicInstant) {
        guard g.processes.isEmpty else {
            g.emptySince = nil
            g.emptyWarnedAt = nil
            return
        }
        let since = g.emptySince ?? now
        g.emptySince = since
        guard now - since >= Self.emptyGroupGrace else { return }
        if let warned = g.emptyWarnedAt, now - warned < Self.emptyGroupRepeat { return }
        g.emptyWarnedAt = now
        log.logger.warning(
            "process group matches no process",
            metadata: [
                "group": "\(g.settings.name)", "selector": "\(g.settings.selector)",
                "for": "\(PromDuration.format(now - since))",
            ])
    }

    static let emptyGroupGrace = Duration.seconds(60)
    static let emptyGroupRepeat = Duration.seconds(3600)

    private func refreshThreads(_ p: ProcessRuntime) {
        let tids: [Int32]
        do {
            guard let ids = try ProcFS.numericEntries(p.taskPath), !ids.isEmpty else {
                // No task/ (or an empty one): gone, or a /proc without it (a snapshot, an
                // emulated /proc), where the process is one process with one thread.
                if access(procfs.path(pid: p.pid, "stat"), F_OK) != 0 {
                    p.gone = true
                } else if !p.withoutTasks || p.threads.isEmpty {
                    p.withoutTasks = true
                    p.threads = [ThreadRuntime(processWithoutTasks: p.pid, procfs: procfs)]
                }
                return
            }
            p.withoutTasks = false
            tids = ids
        } catch {
            log(error)
            return
        }
        if tids.count == p.threads.count && zip(tids, p.threads).allSatisfy({ $0 == $1.tid && !$1.gone }) { return }
        var byTID: [Int32: ThreadRuntime] = [:]
        for t in p.threads where !t.gone { byTID[t.tid] = t }
        p.threads = tids.map { tid in
            byTID[tid] ?? ThreadRuntime(pid: p.pid, tid: tid, procfs: procfs)
        }
        if p.threads.isEmpty { p.gone = true }
    }
}
