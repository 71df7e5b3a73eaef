import LookoutCore
import Logging
import ProcFS
import Series
import Synchronization

/// The /proc CPU sampler service: ticks at `sampling.frequency` on the injected clock
/// (tick N at start + N/f, never drifting), reads the host, the watched processes and
/// threads and the agent's cgroup, and publishes what it saw through `metrics`.
///
/// Wiring (the Agent):
/// ```swift
/// let sampler = Sampler(settings: config.sampling, groups: config.processes, procfs: procfs,
///                       clock: clock, logger: logger, reporters: [profileBuilder])
/// registry.register(sampler.metrics)      // the series; collect() does no I/O
/// serviceGroup: sampler                   // `run()` until cancelled
/// ready: sampler.isReady                  // true after the first tick
/// reload: sampler.update(settings: new.sampling, groups: new.processes)
/// status page: sampler.history()
/// ```
///
/// With `SystemClock` the ticks run on a thread of their own that sleeps until each due
/// time (see `TickThread`: the async timer path alone would cost more than the sampler's
/// whole CPU budget); with any other clock (tests' `ManualClock`) they run on the task
/// that called `run()`, sleeping with `clock.sleep(until:)`.
public actor Sampler {
    /// The sampler's series, for the `Registry`.
    public nonisolated let metrics: SamplerMetrics
    private nonisolated let control: SamplerControl
    private let clock: any AgentClock
    private let logger: Logger
    /// The tick loop; lent to the tick thread while `run()` runs on it.
    private var loop: TickLoop?

    /// - Parameters:
    ///   - reporters: receive per-tick thread samples (the profile builder); with none, or
    ///     while none asks for samples, no extra work is done.
    ///   - historyCapacity: seconds of utilization history kept for `history()`.
    public init(
        settings: SamplerSettings = SamplerSettings(), groups: [ProcessGroupSettings] = [], procfs: ProcFS,
        clock: any AgentClock = SystemClock(), logger: Logger = Logger(label: "lookout.sampler"),
        reporters: [any ThreadSampleReporter] = [], historyCapacity: Int = UtilizationHistory.defaultCapacity
    ) {
        let metrics = SamplerMetrics(clock: clock, settings: settings, userHZ: procfs.userHZ, historyCapacity: max(historyCapacity, 1))
        let control = SamplerControl()
        self.metrics = metrics
        self.control = control
        self.clock = clock
        self.logger = logger
        let engine = SamplerEngine(
            procfs: procfs, settings: settings, groups: groups, metrics: metrics, logger: logger, reporters: reporters)
        self.loop = TickLoop(engine: engine, clock: clock, control: control, metrics: metrics, logger: logger)
    }

    /// True once the first tick is done (host, processes and cgroup read once): what
    /// `/-/ready` waits for. Lock-free; no I/O.
    public nonisolated var isReady: Bool { control.ready.load(ordering: .acquiring) }

    /// Applies a reloaded configuration at the start of the next tick. Groups are matched
    /// by name: those that still exist keep their counters, histograms and history; the
    /// processes are selected again at once. A new frequency restarts the schedule.
    public nonisolated func update(settings: SamplerSettings, groups: [ProcessGroupSettings]) {
        control.pending.withLock { $0 = (settings, groups) }
    }

    /// Host and per-group utilization, one point per second (see `UtilizationHistory`).
    public nonisolated func history() -> UtilizationHistory { metrics.history() }

    /// Ticks until the task is cancelled, then returns.
    public func run() async throws {
        guard let loop = self.loop else {
            preconditionFailure("Sampler.run() is already running")
        }
        self.loop = nil
        defer { self.loop = loop }
        loop.start()
        if clock is SystemClock {
            let thread = TickThread()
            let lent = LentLoop(loop)
            let ran = await withTaskCancellationHandler {
                await thread.run(name: "lookout-sampler") {
                    while thread.wait(until: lent.loop.nextDue) { lent.loop.tickDue() }
                }
            } onCancel: {
                thread.stop()
            }
            if ran {
                logger.debug("sampler stopped")
                return
            }
            logger.warning("cannot start the sampler thread; ticking on the task instead")
        }
        while !Task.isCancelled {
            do {
                try await clock.sleep(until: loop.nextDue)
            } catch {
                break
            }
            loop.tickDue()
        }
        logger.debug("sampler stopped")
    }

    /// One tick now, outside the schedule (for benchmarks and tools). Returns its duration
    /// on the sampler's clock. Not while `run()` runs.
    @discardableResult
    public func tick() -> Duration {
        guard let loop else { preconditionFailure("Sampler.tick() while run() runs") }
        return loop.tickNow()
    }
}

/// What other tasks hand to the tick loop: a reloaded configuration, and the ready flag.
final class SamplerControl: Sendable {
    let pending = Mutex<(SamplerSettings, [ProcessGroupSettings])?>(nil)
    let ready = Atomic<Bool>(false)
}

/// The schedule and the engine: one tick when due, missed ticks counted. Used by one
/// thread or task at a time.
final class TickLoop {
    let engine: SamplerEngine
    let clock: any AgentClock
    let control: SamplerControl
    let metrics: SamplerMetrics
    let logger: Logger
    private var schedule: TickSchedule

    init(engine: SamplerEngine, clock: any AgentClock, control: SamplerControl, metrics: SamplerMetrics, logger: Logger) {
        self.engine = engine
        self.clock = clock
        self.control = control
        self.metrics = metrics
        self.logger = logger
        schedule = TickSchedule(start: clock.now, frequency: engine.settings.frequency)
    }

    var nextDue: MonotonicInstant { schedule.nextDue }

    /// Starts the schedule now: tick 0 is due at once.
    func start() {
        applyPending()
        schedule = TickSchedule(start: clock.now, frequency: engine.settings.frequency)
        logger.info(
            "sampler started",
            metadata: [
                "frequency": "\(engine.settings.frequency)", "groups": "\(engine.groups.count)",
                "block": "\(engine.settings.block)", "mutex": "\(engine.settings.mutex)",
            ])
    }

    /// The tick the schedule says is due (called at or after `nextDue`).
    func tickDue() {
        let began = clock.now
        let frequencyChanged = perform(at: began)
        let ended = clock.now
        if frequencyChanged { schedule = TickSchedule(start: began, frequency: engine.settings.frequency) }
        let missed = schedule.finish(at: ended)
        metrics.recordTickEnd(duration: ended - began, missed: missed)
    }

    func tickNow() -> Duration {
        let began = clock.now
        _ = perform(at: began)
        let ended = clock.now
        metrics.recordTickEnd(duration: ended - began, missed: 0)
        return ended - began
    }

    @discardableResult
    private func applyPending() -> Bool {
        guard let (settings, groups) = control.pending.withLock({ p in
            defer { p = nil }
            return p
        }) else { return false }
        logger.info("sampler reconfigured", metadata: ["frequency": "\(settings.frequency)", "groups": "\(groups.count)"])
        return engine.apply(settings: settings, groups: groups)
    }

    private func perform(at time: MonotonicInstant) -> Bool {
        let frequencyChanged = applyPending()
        engine.tick(at: time)
        if !control.ready.load(ordering: .relaxed) { control.ready.store(true, ordering: .releasing) }
        return frequencyChanged
    }
}

/// Hands the tick loop to the tick thread for the duration of `run()`. Unchecked: the
/// actor gives up its reference (`loop = nil`) before lending it and takes it back only
/// after the thread has finished, so exactly one thread uses it at a time.
private final class LentLoop: @unchecked Sendable {
    let loop: TickLoop
    init(_ loop: TickLoop) { self.loop = loop }
}
