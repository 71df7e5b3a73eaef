#if canImport(Glibc)
import Glibc
#endif
import LookoutCore
import Sampling
import Stacks
import Synchronization

/// The stack sampler's processor on a thread of its own (`lookout-stacks`): about once a
/// second, sooner when the tick finds its raw buffer half full or a profile ends, it
/// unwinds and symbolizes what the tick copied, hands each tick's samples to the
/// recorder's running cpu recordings and to the last-minute window of the status page,
/// and publishes the engine's totals. The tick never waits for it.
final class StackWorker: @unchecked Sendable {
    // @unchecked: `window` and `windowStart` are touched only by `processOnce`, which runs on
    // one thread (the worker's, or the tick's when the worker has none); the rest is
    // immutable or locked.
    /// How often the worker runs when nothing asks for it sooner.
    static let period = Duration.seconds(1)
    /// The worker thread's nice value.
    static let nice: Int32 = 5

    let id: UInt64
    private let thread = TickThread()
    private let processor: StackProcessor
    private let recorder: ProfileRecorder?
    private let state: StackSamplingState
    private let clock: any AgentClock
    /// Callers of `flush` waiting for the next run to end; nil once the worker has exited.
    private let waiters = Mutex<[CheckedContinuation<Void, Never>]?>([])

    /// The status page's window.
    private var window: StackAggregate
    private var windowStart: MonotonicInstant

    init(id: UInt64, processor: StackProcessor, recorder: ProfileRecorder?, state: StackSamplingState) {
        self.id = id
        self.processor = processor
        self.recorder = recorder
        self.state = state
        clock = recorder?.clock ?? SystemClock()
        window = StackAggregate(
            periodNanoseconds: processor.settings.periodNanoseconds, maxStacks: StackSamplingState.windowStacks)
        windowStart = clock.now
    }

    /// Starts the thread; false when none could be created.
    func start() -> Bool {
        TickThread.spawn(name: "lookout-stacks") { [self] in
            // Below the sampler's thread: when both want a CPU, the tick goes first. (On Linux
            // the nice value is the calling thread's.)
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, Self.nice)
            let monotonic = SystemClock()
            var running = true
            while running {
                running = thread.wait(until: monotonic.now + Self.period)
                let served = waiters.withLock { w -> [CheckedContinuation<Void, Never>] in
                    defer { if w != nil { w = [] } }
                    return w ?? []
                }
                processOnce()
                for c in served { c.resume() }
            }
            state.retire(worker: id)
            let left = waiters.withLock { w -> [CheckedContinuation<Void, Never>] in
                defer { w = nil }
                return w ?? []
            }
            for c in left { c.resume() }
        }
    }

    /// Asks the worker to run now (the tick's raw buffer is filling).
    func wake() { thread.wake() }

    /// Asks the thread to process what is left and exit; returns at once.
    func stop() { thread.stop() }

    /// Returns once the worker has processed everything the tick copied before the call.
    func flush() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let queued = waiters.withLock { w -> Bool in
                guard w != nil else { return false }
                w!.append(c)
                return true
            }
            if queued { thread.wake() } else { c.resume() }
        }
    }

    /// Processes what the tick copied (on the worker's thread, or on the tick's when the
    /// worker has none).
    func processOnce() {
        let frequency = processor.settings.frequency
        processor.process { batch, tag in
            guard !batch.isEmpty else { return }
            recorder?.report(stacks: batch, at: MonotonicInstant(nanoseconds: Int64(bitPattern: tag)), frequency: frequency)
            window.add(batch)
        }
        var lastMinute: StackProfile?
        let now = clock.now
        let length = now - windowStart
        if length >= StackSamplingState.window {
            lastMinute = StackProfile(aggregate: window, startTime: clock.wallNow - length, duration: length)
            window = StackAggregate(
                periodNanoseconds: processor.settings.periodNanoseconds, maxStacks: StackSamplingState.windowStacks)
            windowStart = now
        }
        state.publish(
            worker: id, counters: processor.counters, symbolCacheBytes: processor.symbolCacheBytes, lastMinute: lastMinute)
    }
}
