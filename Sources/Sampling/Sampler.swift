import Exposition
import LookoutCore
import Logging
import ProcFS
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
public actor Sampler {
    /// The sampler's series, for the `Registry`.
    public nonisolated let metrics: SamplerMetrics
    private nonisolated let control: Control
    private let clock: any AgentClock
    private let engine: SamplerEngine
    private let logger: Logger

    private final class Control: Sendable {
        let pending = Mutex<(SamplerSettings, [ProcessGroupSettings])?>(nil)
        let ready = Atomic<Bool>(false)
    }

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
        self.metrics = metrics
        self.control = Control()
        self.clock = clock
        self.logger = logger
        self.engine = SamplerEngine(
            procfs: procfs, settings: settings, groups: groups, metrics: metrics, logger: logger, reporters: reporters)
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
        var schedule = TickSchedule(start: clock.now, frequency: engine.settings.frequency)
        logger.info(
            "sampler started",
            metadata: [
                "frequency": "\(engine.settings.frequency)", "groups": "\(engine.groups.count)",
                "block": "\(engine.settings.block)", "mutex": "\(engine.settings.mutex)",
            ])
        while !Task.isCancelled {
            do {
                try await clock.sleep(until: schedule.nextDue)
            } catch {
                break
            }
            let began = clock.now
            let frequencyChanged = performTick(at: began)
            let ended = clock.now
            if frequencyChanged {
                schedule = TickSchedule(start: began, frequency: engine.settings.frequency)
            }
            let missed = schedule.finish(at: ended)
            metrics.recordTickEnd(duration: ended - began, missed: missed)
        }
        logger.debug("sampler stopped")
    }

    /// One tick now, outside the schedule (for benchmarks and tools; not while `run()` runs).
    /// Returns its duration on the sampler's clock.
    @discardableResult
    public func tick() -> Duration {
        let began = clock.now
        _ = performTick(at: began)
        let ended = clock.now
        metrics.recordTickEnd(duration: ended - began, missed: 0)
        return ended - began
    }

    private func performTick(at time: MonotonicInstant) -> Bool {
        var frequencyChanged = false
        if let (settings, groups) = control.pending.withLock({ p -> (SamplerSettings, [ProcessGroupSettings])? in
            defer { p = nil }
            return p
        }) {
            frequencyChanged = engine.apply(settings: settings, groups: groups)
            logger.info("sampler reconfigured", metadata: ["frequency": "\(settings.frequency)", "groups": "\(groups.count)"])
        }
        engine.tick(at: time)
        if !control.ready.load(ordering: .relaxed) { control.ready.store(true, ordering: .releasing) }
        return frequencyChanged
    }
}
