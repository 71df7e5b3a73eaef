import Logging
import LookoutCore
import Sampling
import Series
import Stacks
import Synchronization

/// The stack profiler's series (DESIGN.md, "Metric names"). Names are a contract.
public enum StackMetricNames {
    public static let stackSampling = "lookout_profiler_stack_sampling"
    public static let samples = "lookout_profiler_samples_total"
    public static let lostSamples = "lookout_profiler_lost_samples_total"
    public static let unwindFailures = "lookout_profiler_unwind_failures_total"
    public static let symbolCacheBytes = "lookout_profiler_symbol_cache_bytes"

    static let all = [stackSampling, samples, lostSamples, unwindFailures, symbolCacheBytes]
}

/// Reads the perf_event ring buffers of the stack sampler on the sampler's tick (a
/// `TickReader` after the /proc reader), copying the raw samples out, and follows the
/// groups' process selection. Unwinding and symbolization (symbol tables, debug files,
/// line tables: unbounded work for a large binary) happen on the engine's `StackWorker`
/// thread, which hands each tick's samples to the profile recorder's running cpu
/// recordings and to the last-minute window of the status page.
///
/// It starts the engine on its first tick, when a group is stack-sampled (`sampling.stacks`,
/// a group's `stacks:`): with per-CPU events for every task, else, when those are refused,
/// with inherited events on the groups' own threads. A refusal is logged once, with how to
/// allow it, and reported as `status="denied"`; it is not tried again until a reload
/// changes what is wanted. Profiles stay thread-level while stacks are not active.
///
/// Wiring (the Agent):
/// ```swift
/// let stacks = StackReader(settings: config.sampling, groups: config.processes, recorder: recorder, logger: logger)
/// let state = stacks.state                        // Sendable: metrics, status page, reloads
/// let sampler = Sampler(..., reporters: [recorder], readers: [stacks])
/// registry.register(state)
/// reload: state.update(settings: new.sampling, groups: new.processes)
/// ```
public final class StackReader: TickReader {
    public typealias Start = (StackSamplingSettings) -> Result<StackSampler, StackSamplingError>

    /// What other tasks see and hand over.
    public let state: StackSamplingState
    private let recorder: ProfileRecorder?
    private let logger: Logger
    private let start: Start

    private var settings: SamplerSettings
    private var groups: [ProcessGroupSettings]
    private var configured = false
    private var engine: StackSampler?
    /// What the engine was last started with (or refused for): not tried again unchanged.
    private var wanted: StackSamplingSettings?
    private var status = StackSamplingStatus.off
    /// The refusal of every-task events, kept to explain a refusal of the targets too.
    private var everyTaskRefusal: StackSamplingError?
    private var refusalLogged = false
    private var generation: UInt64 = .max
    /// Processes whose events were refused (`tasks` scope), not tried again while selected.
    private var refusedTargets: Set<Int32> = []
    private var targets: [Int32: String] = [:]
    private var worker: StackWorker?
    /// Whether the worker has its own thread (else it runs on the tick, once a second).
    private var workerThread = false
    private var workers: UInt64 = 0

    /// - Parameters:
    ///   - recorder: gets each drain for its running cpu recordings.
    ///   - start: starts an engine (tests inject refusals).
    public init(
        settings: SamplerSettings, groups: [ProcessGroupSettings], recorder: ProfileRecorder?,
        logger: Logger = Logger(label: "lookout.stacks"), procRoot: String = "/proc", sysRoot: String = "/sys",
        start: Start? = nil
    ) {
        self.settings = settings
        self.groups = groups
        self.recorder = recorder
        self.logger = logger
        self.start = start ?? { StackSampler.start($0, procRoot: procRoot, sysRoot: sysRoot) }
        let state = StackSamplingState(groups: groups.filter { $0.samplesStacks(settings) }.map(\.name))
        self.state = state
        recorder?.setStackFlush { await state.flush() }
    }

    deinit { stopEngine() }

    public func read(_ tick: inout SampleTick) {
        if let (s, g) = state.takePending() {
            settings = s
            groups = g
            configured = false
        }
        if !configured {
            configured = true
            reconfigure()
        }
        guard let engine else { return }
        if tick.selectionGeneration != generation {
            generation = tick.selectionGeneration
            retarget(engine, tick)
        }
        let filling = engine.collect(tag: UInt64(bitPattern: tick.monotonicTime.nanoseconds))
        if workerThread {
            if filling { worker?.wake() }
        } else if filling || tick.isSlow {
            worker?.processOnce()
        }
    }

    // MARK: engine

    /// Starts, keeps or stops the engine for the current configuration.
    private func reconfigure() {
        let sampled = groups.filter { $0.samplesStacks(settings) }.map(\.name)
        let want: StackSamplingSettings? =
            sampled.isEmpty || !settings.cpu
            ? nil
            : StackSamplingSettings(
                frequency: settings.frequency, dwarfUnwinding: DwarfUnwinding(rawValue: settings.dwarfUnwinding) ?? .auto)
        generation = .max
        if want == wanted {
            state.setGroups(sampled)
            return
        }
        stopEngine()
        wanted = want
        refusalLogged = false
        everyTaskRefusal = nil
        state.setGroups(sampled)
        guard let want else {
            setStatus(.off)
            return
        }
        switch start(want) {
        case .success(let e):
            use(e)
            logger.info(
                "stack sampling active",
                metadata: [
                    "scope": "every task", "frequency": "\(want.frequency)", "dwarf_unwinding": "\(want.dwarfUnwinding.rawValue)",
                ])
            return
        case .failure(let error) where error.kind == .denied:
            everyTaskRefusal = error
        case .failure(let error):
            logger.warning("\(error.message)")
            setStatus(.off)
            return
        }
        // Every-task events refused: the groups' own threads, with kernel frames if allowed.
        for kernel in [true, false] {
            var tasks = want
            tasks.scope = .tasks
            tasks.kernelStacks = kernel
            if case .success(let e) = start(tasks) {
                use(e)
                logger.info(
                    "stack sampling of the groups' own threads (every-task perf events were refused)",
                    metadata: ["kernel_stacks": "\(kernel)", "frequency": "\(want.frequency)"])
                return
            }
        }
        refuse()
    }

    /// Runs `e`, with a worker for its processor.
    private func use(_ e: StackSampler) {
        engine = e
        workers += 1
        let w = StackWorker(id: workers, processor: e.processor, recorder: recorder, state: state)
        worker = w
        workerThread = w.start()
        if workerThread {
            state.setWorker(w)
        } else {
            logger.warning("no thread for stack symbolization: stacks are symbolized on the sampler's thread")
        }
        setStatus(.active)
    }

    private func stopEngine() {
        guard let engine else { return }
        engine.stop()
        // The worker processes what was copied, publishes, and exits on its own.
        if workerThread {
            worker?.stop()
        } else if let worker {
            worker.processOnce()
            state.retire(worker: worker.id)
        }
        worker = nil
        workerThread = false
        state.setWorker(nil)
        self.engine = nil
        targets = [:]
        refusedTargets = []
    }

    private func setStatus(_ s: StackSamplingStatus) {
        status = s
        state.setStatus(s)
        recorder?.stackSamplingActive = s == .active
    }

    /// Denied: one log line saying how to allow it; thread-level profiles from now on.
    private func refuse() {
        setStatus(.denied)
        guard !refusalLogged, let error = everyTaskRefusal else { return }
        refusalLogged = true
        logger.error("\(error.message)")
    }

    /// The stack-sampled groups' processes as the /proc reader selected them.
    private func retarget(_ engine: StackSampler, _ tick: SampleTick) {
        var new: [Int32: String] = [:]
        for g in tick.groups where groups.first(where: { $0.name == g.name })?.samplesStacks(settings) == true {
            for p in g.processes where !p.isKernelThread { new[p.pid] = g.name }
        }
        refusedTargets.formIntersection(new.keys)
        for pid in refusedTargets { new.removeValue(forKey: pid) }
        guard new != targets else { return }
        targets = new
        let errors = engine.setTargets(new)
        for (pid, error) in errors {
            refusedTargets.insert(pid)
            targets.removeValue(forKey: pid)
            logger.debug("\(error.message)", metadata: ["pid": "\(pid)"])
        }
        if !errors.isEmpty { engine.setTargets(targets) }
        // Not one target may be sampled: as good as refused.
        if !errors.isEmpty && targets.isEmpty && errors.values.allSatisfy({ $0.kind == .denied }) {
            if everyTaskRefusal == nil { everyTaskRefusal = errors.values.first }
            refuse()
        } else if status != .active && !targets.isEmpty {
            setStatus(.active)
        }
    }
}

extension SamplerSettings {
    /// Nanoseconds of CPU time one stack sample stands for.
    var periodNanoseconds: Int64 { 1_000_000_000 / Int64(max(frequency, 1)) }
}

extension StackSamplingCounters {
    /// Adds another engine's totals.
    mutating func add(_ other: StackSamplingCounters) {
        for (g, n) in other.samples { samples[g, default: 0] += n }
        lostSamples += other.lostSamples
        undecodableRecords += other.undecodableRecords
        for (r, n) in other.unwindFailures { unwindFailures[r, default: 0] += n }
        dwarfUnwinds += other.dwarfUnwinds
        otherSamples += other.otherSamples
    }
}

/// The stack reader's side other tasks see: its status and counters as `MetricsSource`,
/// the last minute's profile for the status page, and reloads handed to the tick thread.
public final class StackSamplingState: MetricsSource, Sendable {
    /// The status page's window.
    static let window = Duration.seconds(60)
    static let windowStacks = 2_000

    private struct Published {
        var status = StackSamplingStatus.off
        var groups: [String]
        /// Totals of the running engines, by worker.
        var engines: [UInt64: StackSamplingCounters] = [:]
        /// Totals of engines stopped by reloads: the published ones never go back.
        var retired = StackSamplingCounters()
        var symbolCacheBytes = 0

        var counters: StackSamplingCounters {
            var c = retired
            for (_, e) in engines { c.add(e) }
            return c
        }
        var lastMinute: StackProfile?
    }

    private let pending = Mutex<(SamplerSettings, [ProcessGroupSettings])?>(nil)
    private let published: Mutex<Published>
    /// The running engine's worker, for recordings to wait for their samples.
    private let worker = Mutex<StackWorker?>(nil)

    init(groups: [String]) { published = Mutex(Published(groups: groups)) }

    /// Applies a reloaded configuration at the next tick (the engine restarts when its
    /// frequency, DWARF mode or the need for it changed).
    public func update(settings: SamplerSettings, groups: [ProcessGroupSettings]) {
        pending.withLock { $0 = (settings, groups) }
    }

    func takePending() -> (SamplerSettings, [ProcessGroupSettings])? {
        pending.withLock { p in
            defer { p = nil }
            return p
        }
    }

    func setStatus(_ s: StackSamplingStatus) { published.withLock { $0.status = s } }
    func setGroups(_ g: [String]) { published.withLock { $0.groups = g } }

    func publish(worker: UInt64, counters: StackSamplingCounters, symbolCacheBytes: Int, lastMinute: StackProfile?) {
        published.withLock { p in
            p.engines[worker] = counters
            p.symbolCacheBytes = symbolCacheBytes
            if let lastMinute { p.lastMinute = lastMinute }
        }
    }

    /// A stopped engine's worker published its last totals.
    func retire(worker: UInt64) {
        published.withLock { p in
            if let c = p.engines.removeValue(forKey: worker) { p.retired.add(c) }
        }
    }

    func setWorker(_ w: StackWorker?) { worker.withLock { $0 = w } }

    /// Returns once the running engine's samples copied so far are symbolized and handed to
    /// the recordings (at once when stacks are not sampled).
    func flush() async {
        guard let w = worker.withLock({ $0 }) else { return }
        await w.flush()
    }

    public var status: StackSamplingStatus { published.withLock { $0.status } }

    /// The profile of the last full minute of stack samples; nil before one has passed.
    public var lastMinute: StackProfile? { published.withLock { $0.lastMinute } }

    public var counters: StackSamplingCounters { published.withLock { $0.counters } }

    /// The stack-sampled groups.
    public var groups: [String] { published.withLock { $0.groups } }

    /// Renders nothing when the filter wants none of the stack sampler's families.
    public func collect(matching filter: FamilyNameFilter) -> [MetricFamily] {
        filter.restrict(StackMetricNames.all, collect)
    }

    public func collect() -> [MetricFamily] {
        let p = published.withLock { $0 }
        let counters = p.counters
        var groups = Set(p.groups)
        groups.formUnion(counters.samples.keys)
        var failures = UnwindFailure.allCases.map { (Labels(["reason": $0.rawValue]), Double(counters.unwindFailures[$0] ?? 0)) }
        failures.append((Labels(["reason": "undecodable"]), Double(counters.undecodableRecords)))
        return [
            .gauge(
                StackMetricNames.stackSampling,
                help: "Whether CPU stacks are sampled with perf events (1 for the current status): active, denied (refused), off.",
                StackSamplingStatus.allCases.map { (Labels(["status": $0.rawValue]), $0 == p.status ? 1 : 0) }),
            .counter(
                StackMetricNames.samples, help: "CPU stack samples of the group's threads.",
                groups.sorted().map { (Labels(["group": $0]), Double(counters.samples[$0] ?? 0)) }),
            .counter(
                StackMetricNames.lostSamples, help: "Stack samples the kernel dropped because a ring buffer was full.",
                [(.empty, Double(counters.lostSamples))]),
            .counter(
                StackMetricNames.unwindFailures,
                help: "Stack samples not unwound to a thread's first function, and records that could not be decoded, by reason.",
                failures),
            .gauge(
                StackMetricNames.symbolCacheBytes, help: "Bytes of symbol tables held for symbolizing stacks.", unit: "bytes",
                [(.empty, Double(p.symbolCacheBytes))]),
        ]
    }
}
