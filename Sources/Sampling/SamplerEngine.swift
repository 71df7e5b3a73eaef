#if canImport(Glibc)
import Glibc
#endif
import LookoutCore
import Logging
import ProcFS
import Series

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
    /// Slot in the group's per-thread-name table (groups with `threads: true`).
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

/// One watched process. `stat` stays open, which pins the process: after it exits, reads
/// fail even if its PID is reused.
final class ProcessRuntime {
    let pid: Int32
    let startTime: UInt64
    let isKernelThread: Bool
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

    init(_ s: SelectedProcess, procfs: ProcFS) {
        pid = s.pid
        startTime = s.startTime
        isKernelThread = s.isKernelThread
        stat = procfs.processFile(pid: s.pid, "stat")
        statm = procfs.processFile(pid: s.pid, "statm")
        fdPath = procfs.path(pid: s.pid, "fd")
        taskPath = procfs.path(pid: s.pid, "task")
    }
}

/// One `processes:` group and its cumulative figures. The figures accumulate deltas of the
/// kernel's counters, so they never go back: a process or thread that leaves the group
/// takes nothing with it. A process or thread seen for the first time adds its whole
/// counter (its CPU time since it started), so the group's counter is the kernel's figure
/// for a group that has always had the same members.
final class GroupRuntime {
    var settings: ProcessGroupSettings
    var processes: [ProcessRuntime] = []
    var userTicks: UInt64 = 0
    var systemTicks: UInt64 = 0
    var voluntarySwitches: UInt64 = 0
    var nonvoluntarySwitches: UInt64 = 0
    var threadNames: [String] = []
    var threadSlots: [String: Int] = [:]
    var threadNanoseconds: [UInt64] = []
    var blocked: [String: UInt64] = [:]
    var mutexSamples: UInt64 = 0
    /// Block or mutex counts moved this tick: publish them now rather than at the next second.
    var waitsChanged = false
    var countersKnown = false
    // This tick.
    var tickNanoseconds: UInt64 = 0
    var tickHasDelta = false

    init(settings: ProcessGroupSettings) { self.settings = settings }

    func threadSlot(_ comm: String) -> Int {
        if let i = threadSlots[comm] { return i }
        let i = threadNames.count
        threadNames.append(comm)
        threadNanoseconds.append(0)
        threadSlots[comm] = i
        return i
    }
}

/// The sampler's I/O and arithmetic, owned by one task (the `Sampler` actor). Per tick:
/// /proc/stat and every watched thread's `schedstat` (kept open, one pread each). Once a
/// second: process selection, `stat`, `statm`, the fd count and each thread's `status`,
/// PSI and the cgroup. Block and mutex sampling add their reads only when on.
final class SamplerEngine {
    let procfs: ProcFS
    let logger: Logger
    let metrics: SamplerMetrics
    let reporters: [any ThreadSampleReporter]
    private(set) var settings: SamplerSettings
    private(set) var groups: [GroupRuntime] = []

    private let buffer = ReadBuffer()
    private let hostFile: ProcFile
    private var hostPrevious = SystemStat()
    private var hostCurrent = SystemStat()
    private var hostHasPrevious = false
    private var pressureFile: ProcFile?
    private var cgroupFiles: CgroupCPUFiles?
    private var cgroupUsage: ProcFile?
    private var cgroupThrottling: ProcFile?
    private var nextCgroupLocate: MonotonicInstant?
    private var lastTick: MonotonicInstant?
    private var nextSlow: MonotonicInstant?
    private var rescanRequested = true
    private var samples: [ThreadSample] = []
    private var errorsLogged: [String: MonotonicInstant] = [:]
    private var now = MonotonicInstant(nanoseconds: 0)

    init(
        procfs: ProcFS, settings: SamplerSettings, groups: [ProcessGroupSettings], metrics: SamplerMetrics, logger: Logger,
        reporters: [any ThreadSampleReporter]
    ) {
        self.procfs = procfs
        self.settings = settings
        self.metrics = metrics
        self.logger = logger
        self.reporters = reporters
        hostFile = ProcFile(procfs.path("stat"))
        pressureFile = ProcFile(procfs.path("pressure/cpu"), emptyMeansGone: true)
        hostPrevious.cpus.reserveCapacity(256)
        hostCurrent.cpus.reserveCapacity(256)
        samples.reserveCapacity(64)
        apply(settings: settings, groups: groups)
    }

    /// Takes a new configuration. Groups are matched by name: one that still exists keeps
    /// its counters, histograms and history. Returns whether the frequency changed.
    @discardableResult
    func apply(settings new: SamplerSettings, groups newGroups: [ProcessGroupSettings]) -> Bool {
        let old = settings
        settings = new
        var byName: [String: GroupRuntime] = [:]
        for g in groups { byName[g.settings.name] = g }
        groups = newGroups.map { gs in
            if let g = byName[gs.name] {
                g.settings = gs
                return g
            }
            return GroupRuntime(settings: gs)
        }
        if !new.block && !new.mutex {
            for g in groups { for p in g.processes { for t in p.threads { t.taskStat = nil } } }
        }
        rescanRequested = true
        metrics.state.withLock { s in
            let capacity = s.historyCapacity
            let windowChanged = s.settings.peakWindow != new.peakWindow
            s.settings = new
            if windowChanged { s.hostPeak = PeakWindow(window: new.peakWindow) }
            var published: [String: PublishedGroup] = [:]
            for g in s.groups { published[g.name] = g }
            s.groups = newGroups.map { gs in
                if var p = published[gs.name] {
                    p.threadsEnabled = gs.threads
                    if windowChanged { p.peak = PeakWindow(window: new.peakWindow) }
                    return p
                }
                return PublishedGroup(name: gs.name, threadsEnabled: gs.threads, peakWindow: new.peakWindow, historyCapacity: capacity)
            }
        }
        return old.frequency != new.frequency
    }

    /// One tick at `time`.
    func tick(at time: MonotonicInstant) {
        now = time
        let due = nextSlow.map { time >= $0 } ?? true
        if due {
            var next = nextSlow ?? time
            while next <= time { next = next + .seconds(1) }
            nextSlow = next
        }
        // A reload rescans at once and reads the new members' counters in the same tick.
        let slow = due || rescanRequested
        let interval = lastTick.map { time - $0 }
        var demand: ThreadSampleDemand?
        for r in reporters {
            if let d = r.demand { demand = (demand ?? []).union(d) }
        }
        if demand != nil { samples.removeAll(keepingCapacity: true) }

        if slow {
            rescan()
            rescanRequested = false
            for g in groups {
                for p in g.processes where !p.gone { readSlow(g, p) }
            }
        }
        let measureCPU = settings.cpu || slow
        var hostUtilization: Double?
        var hostRead = false
        if measureCPU {
            (hostRead, hostUtilization) = readHost()
        }
        let intervalNanoseconds = interval.map { max($0.nanoseconds, 0) } ?? 0
        for g in groups {
            g.tickNanoseconds = 0
            g.tickHasDelta = false
            var anyProcessGone = false
            for p in g.processes {
                if p.gone {
                    anyProcessGone = true
                    continue
                }
                var anyThreadGone = false
                for t in p.threads {
                    if measureCPU { readCPU(g, p, t, demand: demand) }
                    if (settings.block || settings.mutex) && !t.gone {
                        readWaits(g, p, t, demand: demand, intervalNanoseconds: UInt64(intervalNanoseconds))
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
            if anyProcessGone { g.processes.removeAll { $0.gone } }
        }
        var pressure: UInt64?
        var cgroup: CgroupCPUStat?
        if slow {
            pressure = readPressure()
            cgroup = readCgroup()
        }
        publish(
            time: time, slow: slow, hostRead: hostRead, hostUtilization: settings.cpu ? hostUtilization : nil,
            intervalNanoseconds: intervalNanoseconds, pressure: pressure, cgroup: cgroup)
        if demand != nil, let interval, interval > .zero {
            let tick = ThreadSampleTick(
                wallTime: metrics.clock.wallNow, monotonicTime: time, interval: interval, frequency: settings.frequency,
                samples: samples)
            for r in reporters where r.demand != nil { r.report(tick) }
        }
        lastTick = time
    }

    // MARK: reads

    private func readHost() -> (Bool, Double?) {
        do {
            let ok: Void? = try hostFile.read(buffer) { (bytes) throws(ProcFSError) in
                try SystemStat.parse(bytes, into: &hostCurrent, cpuLinesOnly: true)
            }
            guard ok != nil else { return (false, nil) }
        } catch {
            log(error)
            return (false, nil)
        }
        var utilization: Double?
        if hostHasPrevious {
            let busy = hostCurrent.total.busy &- hostPrevious.total.busy
            let total = hostCurrent.total.total &- hostPrevious.total.total
            // A counter that went back (it happens to iowait) gives a huge unsigned delta: skip that tick.
            if total > 0, total < UInt64(Int64.max), busy <= total {
                utilization = Double(busy) / Double(total)
            }
        }
        swap(&hostPrevious, &hostCurrent)
        hostHasPrevious = true
        return (true, utilization)
    }

    private func readCPU(_ g: GroupRuntime, _ p: ProcessRuntime, _ t: ThreadRuntime, demand: ThreadSampleDemand?) {
        let run: UInt64
        do {
            guard let s = try t.schedstat.read(buffer, Schedstat.parse) else {
                t.gone = true
                return
            }
            run = s.runNanoseconds
        } catch {
            log(error)
            return
        }
        guard let last = t.lastRunNanoseconds else {
            if let slot = t.commIndex { g.threadNanoseconds[slot] &+= run }
            t.lastRunNanoseconds = run
            return
        }
        let delta = run > last ? run - last : 0
        t.lastRunNanoseconds = max(run, last)
        g.tickNanoseconds &+= delta
        g.tickHasDelta = true
        if let slot = t.commIndex { g.threadNanoseconds[slot] &+= delta }
        if let demand, delta > 0 {
            var stack: [String]?
            var wchan: String?
            if demand.contains(.kernelStack) && !t.stackUnreadable {
                do {
                    stack = try procfs.kernelStack(pid: p.pid, tid: t.tid, buffer: buffer)
                } catch {
                    // Without root the stack is unreadable for good; the wait channel stands in.
                    t.stackUnreadable = true
                    if error.kind != .permissionDenied { log(error) }
                }
            }
            if demand.contains(.waitChannel) || (demand.contains(.kernelStack) && stack == nil) {
                wchan = waitChannel(p.pid, t.tid)
            }
            samples.append(
                ThreadSample(
                    kind: .cpu, pid: p.pid, tid: t.tid, group: g.settings.name, thread: t.comm ?? "", nanoseconds: delta,
                    waitChannel: wchan, kernelStack: stack))
        }
    }

    private func readWaits(
        _ g: GroupRuntime, _ p: ProcessRuntime, _ t: ThreadRuntime, demand: ThreadSampleDemand?, intervalNanoseconds: UInt64
    ) {
        if t.taskStat == nil { t.taskStat = procfs.threadFile(pid: p.pid, tid: t.tid, "stat") }
        let state: UInt8
        do {
            guard let s = try t.taskStat!.read(buffer, ProcessStat.parseState) else {
                t.gone = true
                return
            }
            state = s
        } catch {
            log(error)
            return
        }
        if settings.block && state == UInt8(ascii: "D") {
            let wchan = waitChannel(p.pid, t.tid) ?? "unknown"
            g.blocked[wchan, default: 0] &+= 1
            g.waitsChanged = true
            if demand != nil {
                samples.append(
                    ThreadSample(
                        kind: .blocked, pid: p.pid, tid: t.tid, group: g.settings.name, thread: t.comm ?? "",
                        nanoseconds: intervalNanoseconds, waitChannel: wchan))
            }
        }
        // futex waits sleep interruptibly: only `S` threads can be in one.
        if settings.mutex && state == UInt8(ascii: "S") {
            do {
                if let sys = try procfs.syscall(pid: p.pid, tid: t.tid, buffer: buffer), sys.isFutexWait {
                    g.mutexSamples &+= 1
                    g.waitsChanged = true
                    if demand != nil {
                        samples.append(
                            ThreadSample(
                                kind: .mutexWait, pid: p.pid, tid: t.tid, group: g.settings.name, thread: t.comm ?? "",
                                nanoseconds: intervalNanoseconds))
                    }
                }
            } catch {
                log(error)
            }
        }
    }

    private func waitChannel(_ pid: Int32, _ tid: Int32) -> String? {
        do {
            return try procfs.waitChannel(pid: pid, tid: tid, buffer: buffer) ?? nil
        } catch {
            log(error)
            return nil
        }
    }

    /// The once-a-second reads of one process: cumulative CPU split, memory, fds, and each
    /// thread's context switches and name.
    private func readSlow(_ g: GroupRuntime, _ p: ProcessRuntime) {
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
        if st.isZombie || st.startTime != p.startTime {
            p.gone = true
            return
        }
        if let lu = p.lastUtime, let ls = p.lastStime {
            if st.utime > lu { g.userTicks &+= st.utime - lu }
            if st.stime > ls { g.systemTicks &+= st.stime - ls }
            p.lastUtime = max(lu, st.utime)
            p.lastStime = max(ls, st.stime)
        } else {
            g.userTicks &+= st.utime
            g.systemTicks &+= st.stime
            p.lastUtime = st.utime
            p.lastStime = st.stime
        }
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
                if let n = try ProcFS.countEntries(p.fdPath) { p.openFDs = n }
            } catch {
                // Another user's process without privileges: its fds stay unknown (0).
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
            let vol = status.voluntaryContextSwitches ?? 0
            let nonvol = status.nonvoluntaryContextSwitches ?? 0
            if let lv = t.lastVoluntary, let ln = t.lastNonvoluntary {
                if vol > lv { g.voluntarySwitches &+= vol - lv }
                if nonvol > ln { g.nonvoluntarySwitches &+= nonvol - ln }
                t.lastVoluntary = max(lv, vol)
                t.lastNonvoluntary = max(ln, nonvol)
            } else {
                g.voluntarySwitches &+= vol
                g.nonvoluntarySwitches &+= nonvol
                t.lastVoluntary = vol
                t.lastNonvoluntary = nonvol
            }
        }
    }

    private func readPressure() -> UInt64? {
        guard let f = pressureFile else { return nil }
        do {
            return try f.read(buffer, Pressure.parse)?.some.totalMicroseconds
        } catch {
            // PSI compiled in but disabled (psi=0) fails reads with EOPNOTSUPP: no data, for good.
            if error.errno == EOPNOTSUPP {
                pressureFile = nil
            } else {
                log(error)
            }
            return nil
        }
    }

    private func readCgroup() -> CgroupCPUStat? {
        if cgroupFiles == nil {
            if let next = nextCgroupLocate, now < next { return nil }
            nextCgroupLocate = now + .seconds(60)
            do {
                cgroupFiles = try procfs.cgroupCPUFiles()
            } catch {
                log(error)
            }
            guard let files = cgroupFiles else { return nil }
            cgroupUsage = files.usageFile.map { ProcFile($0) }
            cgroupThrottling = files.throttlingFile.map { ProcFile($0) }
            logger.debug(
                "cgroup CPU accounting found",
                metadata: ["layout": "\(files.layout.rawValue)", "cgroup": "\(files.cgroupPath)"])
        }
        guard let files = cgroupFiles else { return nil }
        var s = CgroupCPUStat()
        var gone = false
        do {
            switch files.layout {
            case .v2:
                if let u = cgroupUsage {
                    if let v = try u.read(buffer, CgroupCPUStat.parseV2) { s = v } else { gone = true }
                }
            case .v1:
                if let u = cgroupUsage {
                    if let v = try u.read(buffer, CgroupCPUStat.parseV1Usage) { s.usageNanoseconds = v } else { gone = true }
                }
                if let t = cgroupThrottling {
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
            // The cgroup went away (the agent was moved): find it again.
            cgroupFiles = nil
            nextCgroupLocate = nil
        }
        return s
    }

    // MARK: selection

    private func rescan() {
        // Processes already watched need no fresh `stat` read to be selected again by PID: their
        // kept-open `stat` fails once they exit, even if the PID is reused, and the next
        // rescan then reads the new process.
        var tracked: [Int32: SelectedProcess] = [:]
        for g in groups {
            for p in g.processes where !p.gone {
                tracked[p.pid] = SelectedProcess(pid: p.pid, startTime: p.startTime, isKernelThread: p.isKernelThread)
            }
        }
        let selection = ProcessSelection(procfs: procfs, buffer: buffer, tracked: tracked, onError: { [unowned self] in log($0) })
            .select(groups.map(\.settings.selector))
        for (g, wanted) in zip(groups, selection) {
            var existing: [Int32: ProcessRuntime] = [:]
            for p in g.processes where !p.gone { existing[p.pid] = p }
            var next: [ProcessRuntime] = []
            next.reserveCapacity(wanted.count)
            for w in wanted {
                if let p = existing[w.pid], p.startTime == w.startTime {
                    next.append(p)
                } else {
                    next.append(ProcessRuntime(w, procfs: procfs))
                }
            }
            g.processes = next
            for p in next { refreshThreads(p) }
            g.countersKnown = true
        }
    }

    private func refreshThreads(_ p: ProcessRuntime) {
        let tids: [Int32]
        do {
            guard let ids = try ProcFS.numericEntries(p.taskPath) else {
                p.gone = true
                return
            }
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

    // MARK: publishing

    private func publish(
        time: MonotonicInstant, slow: Bool, hostRead: Bool, hostUtilization: Double?, intervalNanoseconds: Int64,
        pressure: UInt64?, cgroup: CgroupCPUStat?
    ) {
        let second = time.nanoseconds / 1_000_000_000
        let cpu = settings.cpu
        metrics.state.withLock { s in
            s.ticks &+= 1
            if hostRead { s.mergeHost(hostPrevious.cpus) }
            if let u = hostUtilization {
                s.hostUtilization.observe(u)
                s.hostPeak.record(u, at: time)
                s.hostHistory.record(u, second: second)
            }
            if slow {
                if let pressure { s.pressureWaitingMicroseconds = max(s.pressureWaitingMicroseconds ?? 0, pressure) }
                if let cgroup { s.mergeCgroup(cgroup) }
            }
            for (i, g) in groups.enumerated() where i < s.groups.count {
                if cpu, g.tickHasDelta, intervalNanoseconds > 0 {
                    let u = Double(g.tickNanoseconds) / Double(intervalNanoseconds)
                    s.groups[i].utilization.observe(u)
                    s.groups[i].peak.record(u, at: time)
                    s.groups[i].history.record(u, second: second)
                }
                if g.waitsChanged || slow {
                    if s.groups[i].blocked != g.blocked { s.groups[i].blocked = g.blocked }
                    s.groups[i].mutexSamples = g.mutexSamples
                    g.waitsChanged = false
                }
                guard slow else { continue }
                var processes = 0
                var threads: Int64 = 0
                var rss: UInt64 = 0
                var fds = 0
                for p in g.processes where !p.gone {
                    processes += 1
                    threads += p.numThreads
                    rss &+= p.residentBytes
                    fds += p.openFDs
                }
                s.groups[i].countersKnown = g.countersKnown
                s.groups[i].processes = processes
                s.groups[i].threads = threads
                s.groups[i].residentBytes = rss
                s.groups[i].openFDs = fds
                s.groups[i].userTicks = g.userTicks
                s.groups[i].systemTicks = g.systemTicks
                s.groups[i].voluntarySwitches = g.voluntarySwitches
                s.groups[i].nonvoluntarySwitches = g.nonvoluntarySwitches
                s.groups[i].threadsEnabled = g.settings.threads
                if s.groups[i].threadNames.count != g.threadNames.count { s.groups[i].threadNames = g.threadNames }
                if s.groups[i].threadNanoseconds.count == g.threadNanoseconds.count {
                    for k in g.threadNanoseconds.indices { s.groups[i].threadNanoseconds[k] = g.threadNanoseconds[k] }
                } else {
                    s.groups[i].threadNanoseconds = g.threadNanoseconds
                }
            }
        }
    }

    // MARK: errors

    /// Logs a read error once per ten minutes per kind of error and file name (a broken
    /// file would otherwise log 19 times a second).
    private func log(_ error: ProcFSError) {
        let file = error.path.split(separator: "/").last.map(String.init) ?? error.path
        let key = "\(error.kind) \(error.reason) \(file)"
        if let last = errorsLogged[key], now - last < .seconds(600) {
            logger.debug("read failed", metadata: ["error": "\(error)"])
            return
        }
        errorsLogged[key] = now
        logger.warning("read failed", metadata: ["error": "\(error)"])
    }
}
