import LookoutCore
import Sampling
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
    }

    private struct State {
        var nextID: UInt64 = 1
        var running: [Running] = []
    }

    private let state = Mutex(State())
    /// The union of the running recordings' demands: 0 for none, else 0x100 | raw value.
    /// The sampler reads it every tick, so it is an atomic, not the lock.
    private let demandBits = Atomic<UInt16>(0)

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
        let aggregate = state.withLock { s -> ProfileAggregate? in
            guard let i = s.running.firstIndex(where: { $0.id == recording.id }) else { return nil }
            let r = s.running.remove(at: i)
            updateDemand(s.running)
            return r.aggregate
        }
        let stop = clock.now
        return aggregate.map { RecordedProfile(aggregate: $0, startTime: recording.wallStart, duration: stop - recording.start) }
    }

    /// Called under the lock, so demand and the running set change together.
    private func updateDemand(_ running: [Running]) {
        var bits: UInt16 = 0
        for r in running { bits |= 0x100 | UInt16(r.aggregate.type.demand.rawValue) }
        demandBits.store(bits, ordering: .relaxed)
    }
}

/// A finished recording: its aggregate and when it was taken. Encoding happens here, on
/// the caller's task, after the window.
public struct RecordedProfile: Sendable {
    public var aggregate: ProfileAggregate
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
        PprofEncoder.encode(self, defaultFrequency: defaultFrequency)
    }

    /// The gzipped `Profile`, as `go tool pprof` and `/debug/pprof/profile` expect it.
    public func pprofGzip(defaultFrequency: Int = SamplerSettings().frequency) throws(ProfileError) -> [UInt8] {
        try Gzip.compress(pprofBytes(defaultFrequency: defaultFrequency))
    }

    /// Folded stacks, root first, one line per stack.
    public func folded() -> String { FoldedEncoder.encode(aggregate) }

    /// The profile in `format`, as written to a file or an HTTP body.
    public func encoded(_ format: ProfileFormat, defaultFrequency: Int = SamplerSettings().frequency) throws(ProfileError) -> [UInt8] {
        switch format {
        case .pprof: return try pprofGzip(defaultFrequency: defaultFrequency)
        case .folded: return Array(folded().utf8)
        }
    }
}
