import LookoutCore
import Logging
import ProcFS
import Series
import ServiceLifecycle
import Synchronization

/// The /proc CPU sampler service. Each tick at `sampling.frequency` on the injected clock
/// (tick N at start + N/f, never drifting) goes through three stages:
/// - **read**: the `ProcReader` (then any other `TickReader`) fills one `SampleTick` with
///   what it read from /proc: host CPU, what each group's CPU counters grew by, and once a
///   second the selection, memory, fds, context switches, PSI and the cgroup;
/// - **aggregate**: `SamplerAggregate.add` turns the tick into counters that only move
///   forward, histograms, peaks and history (pure arithmetic, under a short lock);
/// - **export**: `metrics` (`SamplerMetrics`) renders a snapshot of the aggregate for
///   /metrics; the reporters (the profile recorder) get the tick itself.
///
/// Wiring (the Agent):
/// ```swift
/// let sampler = Sampler(settings: config.sampling, groups: config.processes, procfs: procfs,
///                       clock: clock, logger: logger, reporters: [profileRecorder])
/// registry.register(sampler.metrics)      // the series; collect() does no I/O
/// serviceGroup: sampler                   // a `Service`: `run()` until shutdown
/// ready: sampler.isReady                  // true after the first tick
/// reload: sampler.update(settings: new.sampling, groups: new.processes)
/// status page: sampler.history()
/// ```
///
/// With `SystemClock` the ticks run on a thread of their own that sleeps until each due
/// time (see `TickThread`: the async timer path alone would cost more than the sampler's
/// whole CPU budget); with any other clock (tests' `ManualClock`) they run on the task
/// that called `run()`, sleeping with `clock.sleep(until:)`.
public actor Sampler: Service {
    /// The sampler's series, for the `Registry`.
    public nonisolated let metrics: SamplerMetrics
    private nonisolated let control: SamplerControl
    private let clock: any AgentClock
    private let logger: Logger
    /// The tick loop; lent to the tick thread while `run()` runs on it.
    private var loop: TickLoop?

    /// - Parameters:
    ///   - reporters: receive each tick's value (the profile recorder); with none, or
    ///     while none asks for thread samples, no extra work is done.
    ///   - readers: read on every tick after the /proc reader, on the tick thread (e.g.
    ///     perf_event ring buffers); they see its figures and add their own samples.
    ///   - historyCapacity: seconds of utilization history kept for `history()`.
    public init(
        settings: SamplerSettings = SamplerSettings(), groups: [ProcessGroupSettings] = [], procfs: ProcFS,
        clock: any AgentClock = SystemClock(), logger: Logger = Logger(label: "lookout.sampler"),
        reporters: [any TickReporter] = [], readers: sending [any TickReader] = [],
        historyCapacity: Int = UtilizationHistory.defaultCapacity
    ) {
        let published = PublishedAggregate(
            SamplerAggregate(settings: settings, groups: groups, userHZ: procfs.userHZ, historyCapacity: historyCapacity))
        let control = SamplerControl()
        self.metrics = SamplerMetrics(published: published, clock: clock)
        self.control = control
        self.clock = clock
        self.logger = logger
        let reader = ProcReader(procfs: procfs, options: .init(settings), groups: groups, logger: logger)
        self.loop = TickLoop(
            readers: [reader] + readers, proc: reader, reporters: reporters, published: published, frequency: settings.frequency,
            clock: clock, control: control, logger: logger)
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

    /// Ticks until the service group shuts down (or the task is cancelled), then returns.
    public func run() async throws {
        try await runUntilShutdown { await self.tickUntilCancelled() }
    }

    private func tickUntilCancelled() async {
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

/// The tick thread's side: the schedule (where the running frequency lives), the readers,
/// the tick storage they fill, and the hand-over to the aggregate and the reporters. Used
/// by one thread or task at a time.
final class TickLoop {
    let clock: any AgentClock
    let control: SamplerControl
    let logger: Logger
    private let readers: [any TickReader]
    /// The /proc reader (also first in `readers`), which takes the configuration.
    private let proc: ProcReader
    private let reporters: [any TickReporter]
    private let published: PublishedAggregate
    private var schedule: TickSchedule
    /// One tick's storage, refilled by every tick.
    private var tick: SampleTick
    private var lastTick: MonotonicInstant?

    init(
        readers: [any TickReader], proc: ProcReader, reporters: [any TickReporter], published: PublishedAggregate, frequency: Int,
        clock: any AgentClock, control: SamplerControl, logger: Logger
    ) {
        self.readers = readers
        self.proc = proc
        self.reporters = reporters
        self.published = published
        self.clock = clock
        self.control = control
        self.logger = logger
        schedule = TickSchedule(start: clock.now, frequency: frequency)
        tick = SampleTick(wallTime: clock.wallNow, monotonicTime: clock.now, interval: .zero, frequency: frequency)
        tick.samples.reserveCapacity(64)
    }

    var nextDue: MonotonicInstant { schedule.nextDue }

    /// Starts the schedule now: tick 0 is due at once.
    func start() {
        applyPending(at: clock.now)
        schedule = TickSchedule(start: clock.now, frequency: schedule.frequency)
        logger.info(
            "sampler started",
            metadata: [
                "frequency": "\(schedule.frequency)", "groups": "\(proc.groups.count)", "block": "\(proc.options.block)",
                "mutex": "\(proc.options.mutex)",
            ])
    }

    /// The tick the schedule says is due (called at or after `nextDue`).
    func tickDue() {
        let began = clock.now
        perform(at: began)
        let ended = clock.now
        let missed = schedule.finish(at: ended)
        published.update { $0.recordTickEnd(duration: ended - began, missed: missed) }
    }

    func tickNow() -> Duration {
        let began = clock.now
        perform(at: began)
        let ended = clock.now
        published.update { $0.recordTickEnd(duration: ended - began, missed: 0) }
        return ended - began
    }

    /// Applies a configuration handed over since the last tick. A new frequency starts a
    /// new schedule at `time`.
    private func applyPending(at time: MonotonicInstant) {
        guard let (settings, groups) = control.pending.withLock({ p in
            defer { p = nil }
            return p
        }) else { return }
        logger.info("sampler reconfigured", metadata: ["frequency": "\(settings.frequency)", "groups": "\(groups.count)"])
        proc.configure(options: .init(settings), groups: groups)
        published.update { $0.configure(settings: settings, groups: groups) }
        if settings.frequency != schedule.frequency { schedule = TickSchedule(start: time, frequency: settings.frequency) }
    }

    private func perform(at time: MonotonicInstant) {
        applyPending(at: time)
        var demand: ThreadSampleDemand?
        for r in reporters {
            if let d = r.demand { demand = (demand ?? []).union(d) }
        }
        let interval = lastTick.map { max(time - $0, .zero) } ?? .zero
        tick.begin(monotonicTime: time, wallTime: clock.wallNow, interval: interval, frequency: schedule.frequency, demand: demand)
        for r in readers { r.read(&tick) }
        let done = tick
        published.update { $0.add(done) }
        if demand != nil, interval > .zero {
            for r in reporters where r.demand != nil { r.report(done) }
        }
        lastTick = time
        if !control.ready.load(ordering: .relaxed) { control.ready.store(true, ordering: .releasing) }
    }
}

/// Hands the tick loop to the tick thread for the duration of `run()`. Unchecked: the
/// actor gives up its reference (`loop = nil`) before lending it and takes it back only
/// after the thread has finished, so exactly one thread uses it at a time.
private final class LentLoop: @unchecked Sendable {
    let loop: TickLoop
    init(_ loop: TickLoop) { self.loop = loop }
}
