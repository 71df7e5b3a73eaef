#if canImport(Glibc)
import Glibc
#endif
import LookoutCore

/// A thread that waits for absolute deadlines on CLOCK_MONOTONIC (the clock `SystemClock`
/// reads) and can be woken early, or to stop.
///
/// Why not `Task.sleep`: measured here, a loop doing nothing but `Task.sleep` at 19 Hz
/// costs 0.4% of a core (a timer on the dispatch manager thread, then a worker thread
/// woken for the continuation), while a thread in `pthread_cond_timedwait` or
/// `clock_nanosleep` costs 0.06%. The sampler's whole budget is 0.3%.
public final class TickThread: @unchecked Sendable {
    // @unchecked: the mutex and condition variable are pthread objects at stable addresses;
    // `stopRequested` and `wakeRequested` are only touched with the mutex held.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private var stopRequested = false
    private var wakeRequested = false

    public init() {
        mutex = .allocate(capacity: 1)
        condition = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Blocks until the monotonic clock reaches `deadline` or `wake` is called. Returns false
    /// when asked to stop.
    public func wait(until deadline: MonotonicInstant) -> Bool {
        var ts = timespec(tv_sec: Int(deadline.nanoseconds / 1_000_000_000), tv_nsec: Int(deadline.nanoseconds % 1_000_000_000))
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        // A spurious wake-up loops back to wait for the same deadline.
        while !stopRequested {
            if wakeRequested {
                wakeRequested = false
                return true
            }
            if pthread_cond_timedwait(condition, mutex, &ts) == ETIMEDOUT { return !stopRequested }
        }
        return false
    }

    /// Ends the current (or next) `wait` early.
    public func wake() {
        pthread_mutex_lock(mutex)
        wakeRequested = true
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }

    public func stop() {
        pthread_mutex_lock(mutex)
        stopRequested = true
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }

    /// Runs `body` on a new thread named `name` and returns when it has finished, without
    /// blocking the caller's executor. Returns false (and does not run `body`) when no thread
    /// could be created.
    func run(name: String, _ body: @escaping @Sendable () -> Void) async -> Bool {
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
