#if canImport(Glibc)
import Glibc
#endif
import CStacks
import LookoutCore
import Synchronization

/// What the sampler's tick and the processor share, under one lock held only for memory
/// copies (never during I/O): the raw buffer the tick fills, the group names, the processes
/// no longer sampled, and the totals each side publishes.
final class StackExchange: Sendable {
    struct Shared: ~Copyable {
        /// The buffer the tick fills; the processor swaps it for its empty one.
        var filling: RawStackBuffer
        /// Group names by the index samples carry (the tick appends new ones).
        var groups: [String] = []
        /// Processes the tick stopped sampling: forgotten by the processor after their samples.
        var forgotten: [Int32] = []
        /// The tick's totals: lost, undecodable and other tasks' samples.
        var tick = StackSamplingCounters()
        /// The processor's totals: samples by group, unwind failures, DWARF unwinds.
        var processed = StackSamplingCounters()
        var symbolCacheBytes = 0
    }

    let shared: Mutex<Shared>

    init(bufferBytes: Int) { shared = Mutex(Shared(filling: RawStackBuffer(capacity: bufferBytes))) }

    var counters: StackSamplingCounters {
        shared.withLock { s in
            var c = s.processed
            c.lostSamples += s.tick.lostSamples
            c.undecodableRecords += s.tick.undecodableRecords
            c.otherSamples += s.tick.otherSamples
            return c
        }
    }
}

/// The stack sampler's heavy half: it unwinds (DWARF CFI where the frame-pointer chain is
/// cut short) and symbolizes the raw samples the tick copied, loading symbol tables, debug
/// files, line tables, kallsyms and perf maps as it meets them. It runs on a thread of its
/// own, woken about once a second and when a profile needs its samples, so a large binary's
/// symbol tables never delay the sampler's tick.
///
/// Use from one thread at a time:
/// ```swift
/// let processor = stacks.processor
/// processor.process { batch, tag in recorder.report(stacks: batch, at: tag) }
/// ```
public final class StackProcessor: @unchecked Sendable {
    // @unchecked: used by one thread at a time (the engine's worker); it shares only
    // `exchange`, which is locked.
    public let settings: StackSamplingSettings
    private let exchange: StackExchange
    private let procRoot: String
    private let symbolizer: Symbolizer
    /// The buffer being processed (swapped with the tick's).
    private var buffer: RawStackBuffer
    private var groups: [String] = []
    /// This half's totals (samples, unwind failures), published to the exchange.
    private var processed = StackSamplingCounters()
    private var prepared = false
    private var threadNames: [Int32: String] = [:]
    /// Threads and processes that exited, forgotten at the end of the next tick's samples
    /// (their samples may still wait in another CPU's ring).
    private var exitedThreads: [Int32] = []
    private var exitedProcesses: [Int32] = []
    private var forgetThreads: [Int32] = []
    private var forgetProcesses: [Int32] = []
    private var batch = StackBatch()
    private var framePointerChain: [UInt64] = []
    private let dwarfPCs: UnsafeMutableBufferPointer<UInt64>

    init(settings: StackSamplingSettings, procRoot: String, exchange: StackExchange, bufferBytes: Int) {
        self.settings = settings
        self.procRoot = procRoot
        self.exchange = exchange
        buffer = RawStackBuffer(capacity: bufferBytes)
        symbolizer = Symbolizer(procRoot: procRoot, lineNumbers: settings.lineNumbers, cacheBytes: settings.symbolCacheBytes)
        dwarfPCs = .allocate(capacity: max(settings.maxFrames, 1))
        framePointerChain.reserveCapacity(128)
    }

    deinit { dwarfPCs.deallocate() }

    /// Bytes of the symbol tables held (`lookout_profiler_symbol_cache_bytes`).
    public var symbolCacheBytes: Int { symbolizer.cache.bytes }

    /// Running totals of the engine, both halves (as `StackSampler.counters`); they only grow.
    public var counters: StackSamplingCounters { exchange.counters }

    /// Unwinds and symbolizes everything the tick copied since the last call: `body` gets
    /// the samples of each tick, in order, with the tag the tick gave (`StackSampler.collect`).
    /// The batch's storage is reused for the next tick's samples.
    public func process(_ body: (StackBatch, UInt64) -> Void) {
        if !prepared {
            prepared = true
            if settings.kernelStacks { symbolizer.preloadKernel() }
        }
        let cacheBefore = symbolizer.cache.bytes
        var forgotten: [Int32] = []
        exchange.shared.withLock { s in
            swap(&s.filling, &buffer)
            if s.groups.count != groups.count { groups = s.groups }
            if !s.forgotten.isEmpty {
                forgotten = s.forgotten
                s.forgotten.removeAll(keepingCapacity: true)
            }
        }
        startTick()
        buffer.forEach { entry in
            switch entry {
            case .sample(let s, let group):
                add(s, group: Int(group) < groups.count ? groups[Int(group)] : "")
            case .comm(_, let tid, let name):
                threadNames[tid] = String(decoding: name, as: UTF8.self)
            case .fork(let pid, let tid, let parent):
                // A new thread has its creator's name until it sets its own (a COMM record).
                threadNames[tid] = threadName(pid: pid, tid: parent)
            case .exit(let pid, let tid):
                exitedThreads.append(tid)
                if pid == tid { exitedProcesses.append(pid) }
            case .tick(let tag):
                endTick()
                body(batch, tag)
                startTick()
            }
        }
        buffer.removeAll()
        for pid in forgotten { symbolizer.forget(pid) }
        let bytes = symbolizer.cache.bytes
        // Loading symbol tables and line tables took several times the memory they keep
        // (file text, builders), on this thread's malloc arena: give the freed heap back.
        if bytes != cacheBefore { lookout_trim_heap() }
        exchange.shared.withLock { s in
            s.processed = processed
            s.symbolCacheBytes = bytes
        }
    }

    private func startTick() {
        symbolizer.generation &+= 1
        batch.removeAll()
    }

    /// Names the tick's samples once every ring's FORK and COMM records are in (a thread's
    /// FORK may sit in another CPU's ring than its first sample), and forgets what exited
    /// before the previous tick: its samples are read.
    private func endTick() {
        for i in batch.samples.indices {
            batch.samples[i].thread = threadName(pid: batch.samples[i].pid, tid: batch.samples[i].tid)
        }
        for tid in forgetThreads { threadNames.removeValue(forKey: tid) }
        for pid in forgetProcesses where !FileIO.exists("\(procRoot)/\(pid)") {
            symbolizer.forget(pid)
        }
        swap(&forgetThreads, &exitedThreads)
        swap(&forgetProcesses, &exitedProcesses)
        exitedThreads.removeAll(keepingCapacity: true)
        exitedProcesses.removeAll(keepingCapacity: true)
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
            processed.unwindFailures[.truncated, default: 0] += 1
        }
        batch.samples.append(
            StackBatch.Sample(
                pid: s.pid, tid: s.tid, group: group, thread: "", time: s.time,
                frames: first..<batch.frames.count))
        processed.samples[group, default: 0] += 1
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
            if mode == .always || !rooted { processed.unwindFailures[.noStackCopy, default: 0] += 1 }
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
        processed.dwarfUnwinds += 1
        if !complete { processed.unwindFailures[.dwarfStopped, default: 0] += 1 }
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
}
