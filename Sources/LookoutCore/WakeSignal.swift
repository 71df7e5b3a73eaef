import Synchronization

/// Wakes one waiting task (the prober's scheduler when targets change, the notifier's loop
/// when alerts arrive). A signal sent while nobody waits is kept (once) for the next `wait`,
/// so no wake-up is lost between a check and a wait.
public final class WakeSignal: Sendable {
    private struct State {
        var pending = false
        var cancelled = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    public init() {}

    public func signal() {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if let w = s.waiter {
                s.waiter = nil
                return w
            }
            s.pending = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns when signalled or when the task is cancelled.
    public func wait() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let now = state.withLock { s -> Bool in
                    if s.pending || s.cancelled {
                        s.pending = false
                        s.cancelled = false
                        return true
                    }
                    s.waiter = c
                    return false
                }
                if now { c.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
                guard let w = s.waiter else {
                    // Cancelled before the continuation was stored: the wait returns at once.
                    s.cancelled = true
                    return nil
                }
                s.waiter = nil
                return w
            }
            waiter?.resume()
        }
    }
}
