import LookoutCore
import Sampling
import Stacks
import Synchronization

/// The sampler's reporter for profiles. It asks for samples only while at least one
/// recording runs (otherwise `demand` is nil and the sampler does no extra work), and
/// adds each tick to every running recording's aggregate under a short lock: hash lookups
/// per sample, no I/O, no allocation except for stacks not seen before. Encoding happens
/// after a recording ends, on the caller's task.
///
/// Its clock must be the sampler's: a recording counts the ticks whose time is after its
/// start, and sleeps on that clock for its window.
///
/// Wiring (the Agent): make one, pass it to the sampler, and give it to the service:
/// ```swift
/// let recorder = ProfileRecorder(clock: clock)
/// let sampler = Sampler(settings: ..., groups: ..., procfs: procfs, clock: clock, reporters: [recorder])
/// let profiles = ProfileService(recorder: recorder, sampler: sampler)
/// ```
public final class ProfileRecorder: TickReporter, Sendable {
    public struct Limits: Sendable, Hashable {
        /// Distinct stacks (per thread) one recording keeps; samples of further stacks are dropped and counted.
        public var maxStacks: Int
        /// Recordings that may run at once; more are refused.
        public var maxConcurrent: Int

        public init(maxStacks: Int = 10_000, maxConcurrent: Int = 8) {
            self.maxStacks = maxStacks
            self.maxConcurrent = maxConcurrent
        }
    }

    public let clock: any AgentClock
    public let limits: Limits

    private struct Running {
        var id: UInt64
        var start: MonotonicInstant
        var aggregate: ProfileAggregate
        /// Real stacks (cpu recordings, while stack sampling is active); made by the first batch.
        var stacks: StackAggregate?
    }

    private struct State {
        var nextID: UInt64 = 1
        var running: [Running] = []
    }

    private let state = Mutex(State())
    /// The union of the running recordings' demands: 0 for none, else 0x100 | raw value.
    /// The sampler reads it every tick, so it is an atomic, not the lock.
    private let demandBits = Atomic<UInt16>(0)
    /// Whether stack sampling is active (set by the stack reader): cpu recordings are then
    /// profiles of real stacks.
    private let stacksActive = Atomic<Bool>(false)
    /// Waits until the stack samples copied so far are symbolized and reported (set by the
    /// stack reader: its worker reports them up to a second late).
    private let stackFlush = Mutex<(@Sendable () async -> Void)?>(nil)

    public init(clock: any AgentClock = SystemClock(), limits: Limits = Limits()) {
        self.clock = clock
        self.limits = limits
    }

    // MARK: TickReporter

    public var demand: ThreadSampleDemand? {
        let bits = demandBits.load(ordering: .relaxed)
        return bits == 0 ? nil : ThreadSampleDemand(rawValue: UInt8(truncatingIfNeeded: bits))
    }

    public func report(_ tick: SampleTick) {
        state.withLock { s in
            for i in s.running.indices where tick.monotonicTime > s.running[i].start {
                s.running[i].aggregate.add(tick)
            }
        }
    }

    // MARK: stacks

    /// Whether a stack reader samples real stacks now; cpu recordings that end while it does
    /// carry them.
    public var stackSamplingActive: Bool {
        get { stacksActive.load(ordering: .relaxed) }
        set { stacksActive.store(newValue, ordering: .relaxed) }
    }

    /// What a cpu recording awaits before it ends, so it has every stack sample of its window.
    public func setStackFlush(_ flush: (@Sendable () async -> Void)?) {
        stackFlush.withLock { $0 = flush }
    }

    /// Adds a drain of the stack sampler to every running cpu recording that started before
    /// `time` (the tick's time). Called by the stack reader's worker with each tick's samples.
    public func report(stacks batch: StackBatch, at time: MonotonicInstant, frequency: Int) {
        guard !batch.isEmpty else { return }
        let maxStacks = limits.maxStacks
        state.withLock { s in
            for i in s.running.indices where s.running[i].aggregate.type == .cpu && time > s.running[i].start {
                if s.running[i].stacks == nil {
                    s.running[i].stacks = StackAggregate(
                        periodNanoseconds: 1_000_000_000 / Int64(max(frequency, 1)), maxStacks: maxStacks)
                }
                s.running[i].stacks!.add(batch)
            }
        }
    }

    // MARK: recording

    /// Recordings running now.
    public var runningCount: Int { state.withLock { $0.running.count } }

    /// Records a profile of `type` for `duration` on the recorder's clock, then returns
    /// it. Ticks that happen after the call count. Cancelling the task ends the recording
    /// early and throws `CancellationError`; either way the recording is unregistered.
    public func record(_ type: ProfileType, for duration: Duration) async throws -> RecordedProfile {
        let recording = try start(type)
        var stopped = false
        defer { if !stopped { _ = stop(recording) } }
        do {
            try await clock.sleep(until: recording.start + duration)
        } catch {
            throw CancellationError()
        }
        if type == .cpu && stackSamplingActive, let flush = stackFlush.withLock({ $0 }) { await flush() }
        stopped = true
        guard let profile = stop(recording) else { throw CancellationError() }
        return profile
    }

    /// A running recording, to `stop` later (for callers that end it themselves, e.g. on a
    /// signal; `record` is the usual way).
    public struct Recording: Sendable, Hashable {
        let id: UInt64
        /// Ticks after this instant count.
        public let start: MonotonicInstant
        public let wallStart: WallTime
    }

    /// Registers a recording; it counts ticks after its start. Throws when
    /// `limits.maxConcurrent` recordings run already.
    public func start(_ type: ProfileType) throws(ProfileError) -> Recording {
        let start = clock.now
        let wallStart = clock.wallNow
        let maxStacks = limits.maxStacks
        let maxConcurrent = limits.maxConcurrent
        let id = state.withLock { s -> UInt64? in
            guard s.running.count < maxConcurrent else { return nil }
            let id = s.nextID
            s.nextID += 1
            s.running.append(Running(id: id, start: start, aggregate: ProfileAggregate(type: type, maxStacks: maxStacks)))
            updateDemand(s.running)
            return id
        }
        guard let id else {
            throw ProfileError(
                .tooManyRecordings, "\(maxConcurrent) profiles are being recorded already; try again when one is done")
        }
        return Recording(id: id, start: start, wallStart: wallStart)
    }

    /// Unregisters a recording and hands over what it collected; nil if it was stopped already.
    public func stop(_ recording: Recording) -> RecordedProfile? {
        let running = state.withLock { s -> Running? in
            guard let i = s.running.firstIndex(where: { $0.id == recording.id }) else { return nil }
            let r = s.running.remove(at: i)
            updateDemand(s.running)
            return r
        }
        let stop = clock.now
        guard let running else { return nil }
        var profile = RecordedProfile(aggregate: running.aggregate, startTime: recording.wallStart, duration: stop - recording.start)
        if running.aggregate.type == .cpu && stackSamplingActive {
            let period = 1_000_000_000 / Int64(max(running.aggregate.frequency, 1))
            profile.stacks = StackProfile(
                aggregate: running.stacks ?? StackAggregate(periodNanoseconds: period, maxStacks: limits.maxStacks),
                startTime: recording.wallStart, duration: stop - recording.start)
        }
        return profile
    }

    /// Called under the lock, so demand and the running set change together.
    private func updateDemand(_ running: [Running]) {
        var bits: UInt16 = 0
        for r in running { bits |= 0x100 | UInt16(r.aggregate.type.demand.rawValue) }
        demandBits.store(bits, ordering: .relaxed)
    }
}

/// A finished recording: its aggregate and when it was taken. Encoding happens here, on
/// the caller's task, after the window. A cpu recording made while stack sampling was
/// active carries real stacks, and its encodings are theirs; otherwise they are thread-level.
public struct RecordedProfile: Sendable {
    public var aggregate: ProfileAggregate
    /// Real stacks (perf_event samples), when stack sampling was active.
    public var stacks: StackProfile?
    /// Wall-clock time the recording started (`time_nanos`).
    public var startTime: WallTime
    /// How long it recorded (`duration_nanos`).
    public var duration: Duration

    public init(aggregate: ProfileAggregate, startTime: WallTime, duration: Duration) {
        self.aggregate = aggregate
        self.startTime = startTime
        self.duration = duration
    }

    public var type: ProfileType { aggregate.type }

    /// The packed `perftools.profiles.Profile`, not compressed.
    public func pprofBytes(defaultFrequency: Int = SamplerSettings().frequency) -> [UInt8] {
        if let stacks { return stacks.pprofBytes() }
        return PprofEncoder.encode(self, defaultFrequency: defaultFrequency)
    }

    /// The gzipped `Profile`, as `go tool pprof` and `/debug/pprof/profile` expect it.
    public func pprofGzip(defaultFrequency: Int = SamplerSettings().frequency) throws(ProfileError) -> [UInt8] {
        try Gzip.compress(pprofBytes(defaultFrequency: defaultFrequency))
    }

    /// Folded stacks, root first, one line per stack.
    public func folded() -> String { stacks?.folded() ?? FoldedEncoder.encode(aggregate) }

    /// Samples in the profile (real stack samples when it has them).
    public var samples: Int64 { stacks?.aggregate.samples ?? aggregate.samples }

    /// Samples left out because the profile had too many distinct stacks.
    public var droppedSamples: Int64 { stacks?.aggregate.droppedSamples ?? aggregate.droppedSamples }

    /// A self-contained, zoomable SVG flame graph: of real stacks, or of threads and their
    /// wait channels. `group` keeps one group's stacks.
    public func flameGraph(title: String = "CPU", group: String? = nil) -> String {
        if let stacks { return stacks.flameGraph(title: title, group: group) }
        let all = FoldedEncoder.rootFirstStacks(aggregate).filter { group == nil || $0.frames.first == group }
        return FlameGraph.svg(stacks: all, title: FlameGraph.heading(title + " (thread-level)", stacks: all, duration: duration))
    }

    /// The profile in `format`, as written to a file or an HTTP body.
    public func encoded(_ format: ProfileFormat, defaultFrequency: Int = SamplerSettings().frequency) throws(ProfileError) -> [UInt8] {
        switch format {
        case .pprof: return try pprofGzip(defaultFrequency: defaultFrequency)
        case .folded: return Array(folded().utf8)
        }
    }
}
