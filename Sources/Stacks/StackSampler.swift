#if canImport(Glibc)
import Glibc
#endif
import CStacks
import LookoutCore

/// Why a sample's stack may be incomplete (`lookout_profiler_unwind_failures_total{reason}`).
public enum UnwindFailure: String, Sendable, Hashable, CaseIterable {
    /// The stack kept does not reach a thread's first function (code without frame
    /// pointers or CFI, a stack deeper than the copy, JIT code).
    case truncated
    /// DWARF unwinding was wanted but the sample had no user registers or stack copy.
    case noStackCopy = "no_stack_copy"
    /// libdw stopped before the outermost frame (no CFI for a PC, a frame beyond the stack copy).
    case dwarfStopped = "dwarf_stopped"
}

/// Running totals of the stack sampler; they only grow.
public struct StackSamplingCounters: Sendable, Hashable {
    /// Samples of the target processes, by group (`lookout_profiler_samples_total{group}`).
    public var samples: [String: Int64] = [:]
    /// Samples the kernel could not write because a ring buffer was full (`lookout_profiler_lost_samples_total`).
    public var lostSamples: Int64 = 0
    /// Records that could not be decoded.
    public var undecodableRecords: Int64 = 0
    public var unwindFailures: [UnwindFailure: Int64] = [:]
    /// Samples unwound with DWARF CFI.
    public var dwarfUnwinds: Int64 = 0
    /// Samples of other tasks, discarded (the `cpus` scope samples every task).
    public var otherSamples: Int64 = 0

    public init() {}
}

/// The stack sampling engine: perf events sampling the CPU stacks (kernel and user) of a
/// set of processes, drained on the sampler's tick into a batch of unwound, symbolized
/// samples.
///
/// Events: a software `cpu-clock` event samples every `1/frequency` s of CPU time with
/// `TID|TIME|CALLCHAIN` (the kernel walks kernel stacks, and user stacks by frame
/// pointers), plus the user registers and a copy of the top of the user stack unless
/// DWARF unwinding is `never`. With the `cpus` scope one event per CPU samples every task
/// and samples of other processes are dropped when read; with `tasks` each target thread
/// has one event per CPU, inherited by the threads it creates. Either way there is one
/// ring buffer per CPU (other events write into it with PERF_EVENT_IOC_SET_OUTPUT), so
/// memory does not grow with threads, and samples of threads that exited stay in it.
///
/// Use from one thread (the sampler's tick thread):
/// ```swift
/// switch StackSampler.start(settings) {
/// case .success(let stacks):      // status "active"
///     stacks.setTargets([pid: "api"])          // when the process selection changes
///     let batch = stacks.drain()               // every tick: the samples since the last drain
///     for aggregate in running { aggregate.add(batch) }
/// case .failure(let error):       // error.status: "denied" (log error.message once) or "off"
/// }
/// ```
public final class StackSampler {
    public let settings: StackSamplingSettings
    public private(set) var counters = StackSamplingCounters()

    private let procRoot: String
    private let config: lookout_perf_config
    private let cpus: [Int32]
    /// One ring per CPU, and the fd owning it (a sampling event, or a dummy with `tasks`).
    private var rings: [PerfRing] = []
    private var ringFDs: [Int32] = []
    /// `tasks` scope: the event fds of each target process's threads.
    private var taskFDs: [Int32: [Int32]] = [:]
    private var targets: [Int32: String] = [:]
    private let symbolizer: Symbolizer
    private var threadNames: [Int32: String] = [:]
    /// Threads and processes that exited, forgotten at the end of the next drain (their
    /// samples may still wait in another CPU's ring).
    private var exitedThreads: [Int32] = []
    private var exitedProcesses: [Int32] = []
    private var forgetThreads: [Int32] = []
    private var forgetProcesses: [Int32] = []
    private var batch = StackBatch()
    private var framePointerChain: [UInt64] = []
    private let dwarfPCs: UnsafeMutableBufferPointer<UInt64>

    private init(settings: StackSamplingSettings, procRoot: String, config: lookout_perf_config, cpus: [Int32]) {
        self.settings = settings
        self.procRoot = procRoot
        self.config = config
        self.cpus = cpus
        symbolizer = Symbolizer(procRoot: procRoot, lineNumbers: settings.lineNumbers, cacheBytes: settings.symbolCacheBytes)
        dwarfPCs = .allocate(capacity: max(settings.maxFrames, 1))
        framePointerChain.reserveCapacity(128)
    }

    deinit {
        stop()
        dwarfPCs.deallocate()
    }

    /// Opens the events and maps the ring buffers. A refusal is an error whose `status` is
    /// `denied` and whose message says how to allow it; nothing is retried.
    public static func start(
        _ settings: StackSamplingSettings, procRoot: String = "/proc", sysRoot: String = "/sys"
    ) -> Result<StackSampler, StackSamplingError> {
        let config = lookout_perf_config(
            period_ns: UInt64(settings.periodNanoseconds), stack_bytes: UInt32(settings.effectiveStackCopyBytes),
            exclude_kernel: settings.kernelStacks ? 0 : 1, inherit: settings.scope == .tasks ? 1 : 0, task_records: 1)
        let cpus = onlineCPUs(sysRoot: sysRoot)
        let sampler = StackSampler(settings: settings, procRoot: procRoot, config: config, cpus: cpus)
        func failure(_ operation: String, _ errno: Int32) -> Result<StackSampler, StackSamplingError> {
            sampler.stop()
            return .failure(
                StackSamplingError(
                    operation: operation, errno: errno, scope: settings.scope, kernelStacks: settings.kernelStacks,
                    procRoot: procRoot))
        }
        var attributes = config
        for cpu in cpus {
            let fd: Int32
            let what: String
            switch settings.scope {
            case .cpus:
                fd = lookout_perf_open(&attributes, -1, cpu)
                what = "perf_event_open(cpu-clock, every task, cpu \(cpu))"
            case .tasks:
                fd = lookout_perf_open_dummy(0, cpu)
                what = "perf_event_open(dummy, own process, cpu \(cpu))"
            }
            guard fd >= 0 else { return failure(what, -fd) }
            sampler.ringFDs.append(fd)
            do {
                sampler.rings.append(try PerfRing(fd: fd, dataPages: settings.effectiveRingPages))
            } catch {
                return failure(
                    "mmap of a \(settings.effectiveRingPages)-page perf ring buffer on cpu \(cpu) "
                        + "(more than perf_event_mlock_kb allows?)", error.errno)
            }
        }
        if settings.scope == .tasks {
            // What the targets' events will need, tried on the agent's own process now.
            let probe = lookout_perf_open(&attributes, 0, cpus.first ?? 0)
            guard probe >= 0 else { return failure("perf_event_open(cpu-clock, own process)", -probe) }
            close(probe)
        }
        if settings.kernelStacks { sampler.symbolizer.preloadKernel() }
        for fd in sampler.ringFDs { _ = lookout_perf_enable(fd) }
        return .success(sampler)
    }

    /// Disables and closes every event. Samples not drained are lost.
    public func stop() {
        for fd in ringFDs {
            _ = lookout_perf_disable(fd)
        }
        for (_, fds) in taskFDs { for fd in fds { close(fd) } }
        taskFDs.removeAll()
        rings.removeAll()
        for fd in ringFDs { close(fd) }
        ringFDs.removeAll()
    }

    /// CPUs with a ring buffer.
    public var cpuCount: Int { cpus.count }

    /// Bytes of the symbol tables held (`lookout_profiler_symbol_cache_bytes`).
    public var symbolCacheBytes: Int { symbolizer.cache.bytes }

    /// Bytes of ring buffer mapped (header pages included).
    public var ringBufferBytes: Int { rings.reduce(0) { $0 + $1.mappedBytes } }

    // MARK: targets

    /// The processes to sample, by pid, with their group. With the `tasks` scope this opens
    /// events for the threads of new processes; the returned errors say which could not be
    /// sampled (a process of another user without the privilege).
    @discardableResult
    public func setTargets(_ new: [Int32: String]) -> [Int32: StackSamplingError] {
        var errors: [Int32: StackSamplingError] = [:]
        for pid in targets.keys where new[pid] == nil {
            if let fds = taskFDs.removeValue(forKey: pid) { for fd in fds { close(fd) } }
            symbolizer.forget(pid)
        }
        if settings.scope == .tasks {
            for pid in new.keys where taskFDs[pid] == nil {
                if let error = attach(pid) { errors[pid] = error }
            }
        }
        targets = new
        return errors
    }

    /// Opens one inherited event per thread and CPU of `pid`, writing into the CPU's ring.
    private func attach(_ pid: Int32) -> StackSamplingError? {
        var fds: [Int32] = []
        var attached = Set<Int32>()
        var config = config
        // Twice: a thread created by a thread not yet attached is found the second time.
        for _ in 0..<2 {
            for tid in threadIDs(pid) where !attached.contains(tid) {
                attached.insert(tid)
                for (i, cpu) in cpus.enumerated() {
                    let fd = lookout_perf_open(&config, tid, cpu)
                    if fd == -ESRCH { break }  // the thread exited
                    guard fd >= 0 else {
                        for f in fds { close(f) }
                        return StackSamplingError(
                            operation: "perf_event_open(cpu-clock, thread \(tid) of process \(pid), cpu \(cpu))",
                            errno: -fd, scope: settings.scope, kernelStacks: settings.kernelStacks, procRoot: procRoot)
                    }
                    fds.append(fd)
                    _ = lookout_perf_set_output(fd, ringFDs[i])
                    _ = lookout_perf_enable(fd)
                }
            }
        }
        taskFDs[pid] = fds
        return nil
    }

    private func threadIDs(_ pid: Int32) -> [Int32] {
        guard let dir = opendir("\(procRoot)/\(pid)/task") else { return [] }
        defer { closedir(dir) }
        var out: [Int32] = []
        while let e = readdir(dir) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if let tid = Int32(name) { out.append(tid) }
        }
        return out
    }

    // MARK: drain

    /// Reads every ring buffer: the target processes' samples since the last drain,
    /// unwound and symbolized. The batch's storage is reused by the next drain.
    public func drain() -> StackBatch {
        symbolizer.generation &+= 1
        batch.removeAll()
        for ring in rings {
            let result = ring.read { record in handle(record) }
            if result.corrupt { counters.undecodableRecords += 1 }
        }
        // Names once every ring's FORK and COMM records are in: a thread's FORK may sit in
        // another CPU's ring than its first sample.
        for i in batch.samples.indices {
            batch.samples[i].thread = threadName(pid: batch.samples[i].pid, tid: batch.samples[i].tid)
        }
        // Threads and processes that exited before the previous drain: their samples are read.
        for tid in forgetThreads { threadNames.removeValue(forKey: tid) }
        for pid in forgetProcesses where targets[pid] == nil || !FileIO.exists("\(procRoot)/\(pid)") {
            symbolizer.forget(pid)
        }
        swap(&forgetThreads, &exitedThreads)
        swap(&forgetProcesses, &exitedProcesses)
        exitedThreads.removeAll(keepingCapacity: true)
        exitedProcesses.removeAll(keepingCapacity: true)
        return batch
    }

    private func handle(_ bytes: UnsafeRawBufferPointer) {
        switch PerfRecord.decode(bytes, stackCopy: config.stack_bytes > 0) {
        case .sample(let s):
            if let group = targets[s.pid] {
                add(s, group: group)
            } else {
                counters.otherSamples += 1
            }
        case .lost(let n):
            counters.lostSamples += Int64(clamping: n)
        case .comm(let pid, let tid, let name):
            if targets[pid] != nil { threadNames[tid] = String(decoding: name, as: UTF8.self) }
        case .fork(let pid, let tid, let parent):
            // A new thread has its creator's name until it sets its own (a COMM record).
            if targets[pid] != nil { threadNames[tid] = threadName(pid: pid, tid: parent) }
        case .exit(let pid, let tid):
            guard targets[pid] != nil else { break }
            exitedThreads.append(tid)
            if pid == tid { exitedProcesses.append(pid) }
        case .malformed:
            counters.undecodableRecords += 1
        case .other:
            break
        }
    }

    /// Unwinds and symbolizes one sample of a target into the batch.
    private func add(_ s: PerfSample, group: String) {
        let first = batch.frames.count
        let maxFrames = settings.maxFrames
        framePointerChain.removeAll(keepingCapacity: true)
        var inUser = false
        var kernelLeaf = true
        for i in 0..<s.callchainCount {
            let e = s.callchainEntry(i)
            if e >= LOOKOUT_PERF_CONTEXT_MAX {
                inUser = e == LOOKOUT_PERF_CONTEXT_USER
                continue
            }
            if inUser {
                framePointerChain.append(e)
            } else if batch.frames.count - first < maxFrames {
                batch.frames.append(symbolizer.kernel(address: e, leaf: kernelLeaf))
                kernelLeaf = false
            }
        }

        let room = max(maxFrames - (batch.frames.count - first), 0)
        let useDWARF = room > 0 ? dwarfFrames(s, room: room) : 0
        if useDWARF > 0 {
            for j in 0..<useDWARF {
                batch.frames.append(symbolizer.user(pid: s.pid, address: dwarfPCs[j], leaf: j == 0))
            }
        } else {
            for (j, pc) in framePointerChain.prefix(room).enumerated() {
                batch.frames.append(symbolizer.user(pid: s.pid, address: pc, leaf: j == 0))
            }
        }
        // The stack ends at its outermost thread root; without one it is incomplete.
        if let root = batch.frames[first...].lastIndex(where: { $0.function.isThreadRoot }) {
            batch.frames.removeSubrange((root + 1)...)
        } else if batch.frames.count > first, batch.frames[batch.frames.count - 1].kind != .kernel {
            counters.unwindFailures[.truncated, default: 0] += 1
        }
        batch.samples.append(
            StackBatch.Sample(
                pid: s.pid, tid: s.tid, group: group, thread: "", time: s.time,
                frames: first..<batch.frames.count))
        counters.samples[group, default: 0] += 1
    }

    /// How many frames of `dwarfPCs` to use instead of the frame-pointer chain (0: none).
    ///
    /// `auto` unwinds with DWARF when the frame-pointer chain does not reach a thread's
    /// first function, and also when it does but skipped a frame: a function that sets up
    /// no frame (a leaf in code built without frame pointers, a frameless Go leaf, libc's
    /// syscall wrappers) leaves its caller's frame pointer in place, so the walk goes from
    /// it straight to its caller's caller. One DWARF step from the sampled registers shows
    /// that: its return address differs from the chain's second entry.
    private func dwarfFrames(_ s: PerfSample, room: Int) -> Int {
        let mode = settings.dwarfUnwinding
        guard mode != .never else { return 0 }
        let chain = framePointerChain
        let rooted = isRooted(s.pid, chain)
        guard mode == .always || !rooted || chain.count >= 2 else { return 0 }
        guard !s.registers.isEmpty, !s.stack.isEmpty else {
            if mode == .always || !rooted { counters.unwindFailures[.noStackCopy, default: 0] += 1 }
            return 0
        }
        guard let unwinder = symbolizer.unwinder(for: s.pid) else { return 0 }
        if mode == .auto && rooted {
            let step = UnsafeMutableBufferPointer(rebasing: dwarfPCs[..<min(2, dwarfPCs.count)])
            let (n, _) = unwinder.unwind(tid: s.tid, registers: s.registers, stack: s.stack, into: step)
            // No CFI for the leaf (JIT code), or the chain agrees: frame pointers are right.
            if n < 2 || dwarfPCs[1] == chain[1] { return 0 }
        }
        let out = UnsafeMutableBufferPointer(rebasing: dwarfPCs[..<min(room, dwarfPCs.count)])
        let (n, complete) = unwinder.unwind(tid: s.tid, registers: s.registers, stack: s.stack, into: out)
        counters.dwarfUnwinds += 1
        if !complete { counters.unwindFailures[.dwarfStopped, default: 0] += 1 }
        return complete || n > chain.count ? n : 0
    }

    /// Whether a frame-pointer chain reaches a thread's first function. Frames past it are
    /// junk (the frame pointer of code built without them) and are dropped when the stack
    /// is stored.
    private func isRooted(_ pid: Int32, _ chain: [UInt64]) -> Bool {
        for (j, pc) in chain.enumerated().reversed() where symbolizer.user(pid: pid, address: pc, leaf: j == 0).function.isThreadRoot {
            return true
        }
        return false
    }

    /// The thread's name: from COMM and FORK records, else read once from /proc (the
    /// process's name when the thread is gone: threads mostly keep their creator's).
    private func threadName(pid: Int32, tid: Int32) -> String {
        if let name = threadNames[tid] { return name }
        var name =
            (try? FileIO.readText("\(procRoot)/\(pid)/task/\(tid)/comm", limit: 64))
            ?? (try? FileIO.readText("\(procRoot)/\(pid)/comm", limit: 64)) ?? ""
        while name.last == "\n" { name.removeLast() }
        if name.isEmpty { name = "[tid \(tid)]" }
        threadNames[tid] = name
        return name
    }

    // MARK: CPUs

    /// The online CPUs from /sys/devices/system/cpu/online (`0-3,6`), else 0..<online count.
    static func onlineCPUs(sysRoot: String) -> [Int32] {
        if let text = try? FileIO.readText(sysRoot + "/devices/system/cpu/online", limit: 4096),
            let cpus = parseCPUList(text), !cpus.isEmpty
        {
            return cpus
        }
        return (0..<max(lookout_perf_online_cpus(), 1)).map { Int32($0) }
    }

    static func parseCPUList(_ text: String) -> [Int32]? {
        var out: [Int32] = []
        for part in text.split(whereSeparator: { $0 == "," || $0 == "\n" || $0 == " " }) {
            let bounds = part.split(separator: "-")
            guard let lo = Int32(bounds[0]) else { return nil }
            let hi = bounds.count > 1 ? Int32(bounds[1]) : lo
            guard let hi, hi >= lo, hi - lo < 65536 else { return nil }
            out.append(contentsOf: lo...hi)
        }
        return out
    }
}
