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
/// set of processes. On the sampler's tick, `collect` copies the target processes' raw
/// samples out of the ring buffers into a bounded buffer (no symbol table is touched);
/// `processor`, on a thread of its own, unwinds and symbolizes them.
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
/// When the processor falls behind and the raw buffer is full, the tick leaves records in
/// the ring buffers; samples the kernel then cannot write are counted as lost.
///
/// `start`, `setTargets`, `collect` and `stop` from one thread (the sampler's tick thread),
/// `processor` from one other:
/// ```swift
/// switch StackSampler.start(settings) {
/// case .success(let stacks):      // status "active"
///     stacks.setTargets([pid: "api"])          // tick: when the process selection changes
///     if stacks.collect(tag: now) { wake the worker }  // tick: copy the raw samples
///     stacks.processor.process { batch, tag in aggregate.add(batch) }  // worker
/// case .failure(let error):       // error.status: "denied" (log error.message once) or "off"
/// }
/// ```
public final class StackSampler {
    public let settings: StackSamplingSettings
    /// Unwinds and symbolizes what `collect` copied; use it from one thread at a time.
    public let processor: StackProcessor

    private let procRoot: String
    private let config: lookout_perf_config
    private let cpus: [Int32]
    private let exchange: StackExchange
    /// One ring per CPU, and the fd owning it (a sampling event, or a dummy with `tasks`).
    private var rings: [PerfRing] = []
    private var ringFDs: [Int32] = []
    /// `tasks` scope: the event fds of each target process's threads.
    private var taskFDs: [Int32: [Int32]] = [:]
    /// The targets, by pid, with their group's index in the exchange's names.
    private var targets: [Int32: UInt32] = [:]
    private var groupIndex: [String: UInt32] = [:]

    private init(settings: StackSamplingSettings, procRoot: String, config: lookout_perf_config, cpus: [Int32]) {
        self.settings = settings
        self.procRoot = procRoot
        self.config = config
        self.cpus = cpus
        let bytes = Self.rawBufferBytes(settings, cpus: cpus.count)
        exchange = StackExchange(bufferBytes: bytes)
        processor = StackProcessor(settings: settings, procRoot: procRoot, exchange: exchange, bufferBytes: bytes)
    }

    deinit { stop() }

    /// Bytes of each of the two raw buffers (the tick fills one while the processor reads
    /// the other): about 3 s of samples at the frequency on every CPU, at least what the
    /// ring buffers hold, within 256 KiB...16 MiB (64 MiB for rings that large). Only the
    /// part that fills is touched.
    static func rawBufferBytes(_ settings: StackSamplingSettings, cpus: Int) -> Int {
        let sample = 64 + settings.maxFrames * 8 + Int(LOOKOUT_PERF_USER_REGISTERS) * 8 + settings.effectiveStackCopyBytes
        let perSecond = max(settings.frequency, 1) * max(cpus, 1) * sample
        let rings = settings.effectiveRingPages * lookout_perf_page_size() * max(cpus, 1)
        return min(max(min(max(perSecond * 3, 256 << 10), 16 << 20), rings), 64 << 20)
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
        for fd in sampler.ringFDs { _ = lookout_perf_enable(fd) }
        return .success(sampler)
    }

    /// Disables and closes every event. Samples not collected are lost.
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

    /// Running totals of both halves; they only grow. The processor's part is as of the end
    /// of its last `process`.
    public var counters: StackSamplingCounters { exchange.counters }

    /// CPUs with a ring buffer.
    public var cpuCount: Int { cpus.count }

    /// Bytes of the symbol tables held (`lookout_profiler_symbol_cache_bytes`), as of the
    /// end of the processor's last `process`.
    public var symbolCacheBytes: Int { exchange.shared.withLock { $0.symbolCacheBytes } }

    /// Bytes of ring buffer mapped (header pages included).
    public var ringBufferBytes: Int { rings.reduce(0) { $0 + $1.mappedBytes } }

    /// Bytes of each of the two raw buffers between the tick and the processor.
    public var rawBufferBytes: Int { exchange.shared.withLock { $0.filling.capacity } }

    // MARK: targets

    /// The processes to sample, by pid, with their group. With the `tasks` scope this opens
    /// events for the threads of new processes; the returned errors say which could not be
    /// sampled (a process of another user without the privilege).
    @discardableResult
    public func setTargets(_ new: [Int32: String]) -> [Int32: StackSamplingError] {
        var errors: [Int32: StackSamplingError] = [:]
        var removed: [Int32] = []
        for pid in targets.keys where new[pid] == nil {
            if let fds = taskFDs.removeValue(forKey: pid) { for fd in fds { close(fd) } }
            removed.append(pid)
        }
        if settings.scope == .tasks {
            for pid in new.keys where taskFDs[pid] == nil {
                if let error = attach(pid) { errors[pid] = error }
            }
        }
        var added: [String] = []
        targets = new.mapValues { group in
            if let i = groupIndex[group] { return i }
            let i = UInt32(groupIndex.count)
            groupIndex[group] = i
            added.append(group)
            return i
        }
        if !removed.isEmpty || !added.isEmpty {
            exchange.shared.withLock { s in
                s.forgotten.append(contentsOf: removed)
                s.groups.append(contentsOf: added)
            }
        }
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

    // MARK: collecting

    /// Copies the target processes' records out of every ring buffer into the raw buffer,
    /// ending them with `tag` (handed back with this tick's samples by the processor); no
    /// allocation, no symbolization. Returns true when the raw buffer is more than half
    /// full: the processor should run now rather than at its next second.
    @discardableResult
    public func collect(tag: UInt64) -> Bool {
        exchange.shared.withLock { s in
            let buffer = s.filling
            let before = buffer.used
            for ring in rings {
                let result = ring.read { record in copy(record, into: buffer, &s.tick) }
                if result.corrupt { s.tick.undecodableRecords += 1 }
            }
            if buffer.used != before { buffer.appendTick(tag) }
            return buffer.used * 2 > buffer.capacity
        }
    }

    /// Copies one record of a target; false when the raw buffer is full (the record stays
    /// in the ring buffer for the next tick).
    private func copy(_ bytes: UnsafeRawBufferPointer, into buffer: RawStackBuffer, _ counters: inout StackSamplingCounters) -> Bool {
        switch PerfRecord.decode(bytes, stackCopy: config.stack_bytes > 0) {
        case .sample(let s):
            guard let group = targets[s.pid] else {
                counters.otherSamples += 1
                return true
            }
            return buffer.append(s, group: group)
        case .lost(let n):
            counters.lostSamples += Int64(clamping: n)
        case .comm(let pid, let tid, let name):
            if targets[pid] != nil { return buffer.appendComm(pid: pid, tid: tid, name: name) }
        case .fork(let pid, let tid, let parent):
            if targets[pid] != nil { return buffer.appendFork(pid: pid, tid: tid, parentTID: parent) }
        case .exit(let pid, let tid):
            if targets[pid] != nil { return buffer.appendExit(pid: pid, tid: tid) }
        case .malformed:
            counters.undecodableRecords += 1
        case .other:
            break
        }
        return true
    }

    /// Collects and processes at once, on the caller's thread: the target processes'
    /// samples since the last drain, unwound and symbolized (for tools and tests that have
    /// no worker thread).
    public func drain() -> StackBatch {
        var out = StackBatch()
        repeat {
            let full = collect(tag: 0)
            processor.process { batch, _ in out.append(batch) }
            if !full { break }
        } while true
        return out
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
