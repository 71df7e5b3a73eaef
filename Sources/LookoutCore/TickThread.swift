#if canImport(Glibc)
import Glibc
#endif
import CLookout

/// A thread that waits for absolute deadlines on CLOCK_MONOTONIC (the clock `SystemClock`
/// reads) and can be woken early, or to stop: the sampler's ticks and the rules' rounds run
/// on one each.
///
/// Why not `Task.sleep`: measured here, a loop doing nothing but `Task.sleep` at 19 Hz
/// costs 0.4% of a core (a timer on the dispatch manager thread, then a worker thread
/// woken for the continuation), while a thread in `pthread_cond_timedwait` or
/// `clock_nanosleep` costs 0.06%. The sampler's whole budget is 0.3%. And why a futex
/// rather than a condition variable: after a timed-out `pthread_cond_timedwait` glibc takes
/// the mutex back marked as contended, so its unlock costs one more system call per tick.
public final class TickThread: @unchecked Sendable {
    // @unchecked: `state` is a word at a stable address, only touched with atomic operations
    // (in the C wrappers) and the futex calls.
    private let state: UnsafeMutablePointer<UInt32>

    public init() {
        state = .allocate(capacity: 1)
        state.initialize(to: 0)
    }

    deinit { state.deallocate() }

    /// Blocks until the monotonic clock reaches `deadline` or `wake` is called. Returns false
    /// when asked to stop.
    public func wait(until deadline: MonotonicInstant) -> Bool {
        lookout_tick_wait(state, deadline.nanoseconds) != Int32(LOOKOUT_TICK_STOP)
    }

    /// Ends the current (or next) `wait` early.
    public func wake() { lookout_tick_signal(state, UInt32(LOOKOUT_TICK_WAKE)) }

    /// Ends the current and every later `wait`.
    public func stop() { lookout_tick_signal(state, UInt32(LOOKOUT_TICK_STOP)) }

    /// Runs `body` on a new thread named `name` and returns when it has finished, without
    /// blocking the caller's executor. Returns false (and does not run `body`) when no thread
    /// could be created.
    public func run(name: String, _ body: @escaping @Sendable () -> Void) async -> Bool {
        await withCheckedContinuation { (done: CheckedContinuation<Bool, Never>) in
            let started = Self.spawn(name: name) {
                body()
                done.resume(returning: true)
            }
            if !started { done.resume(returning: false) }
        }
    }

    /// Runs `body` on a new detached thread named `name` and returns at once. Returns false
    /// (and does not run `body`) when no thread could be created.
    public static func spawn(name: String, _ body: @escaping @Sendable () -> Void) -> Bool {
        final class Context {
            let name: String
            let body: @Sendable () -> Void
            init(_ name: String, _ body: @escaping @Sendable () -> Void) {
                self.name = name
                self.body = body
            }
        }
        let context = Unmanaged.passRetained(Context(name, body)).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            let context = Unmanaged<Context>.fromOpaque(raw!).takeRetainedValue()
            // Shows as the thread's comm: `lookout_thread_cpu_seconds_total{thread="lookout-sampler"}`.
            // (pthread_setname_np is not exported to Swift; this is what it does on Linux.)
            let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
            if fd >= 0 {
                let name = Array(context.name.utf8.prefix(15))
                _ = name.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                close(fd)
            }
            context.body()
            return nil
        }, context)
        if rc != 0 {
            Unmanaged<Context>.fromOpaque(context).release()
            return false
        }
        pthread_detach(thread)
        return true
    }
}
