import LookoutCore

/// Exponential backoff with jitter: the n-th consecutive failure waits between half and all
/// of `min(cap, base * 2^(n-1))`. The random half keeps many agents that lost the same
/// receiver from retrying in step; the fixed half keeps the wait growing.
public struct Backoff: Sendable, Hashable {
    public var base: Duration
    public var cap: Duration

    public init(base: Duration = .milliseconds(500), cap: Duration = .seconds(300)) {
        self.base = base
        self.cap = cap
    }

    /// The wait after `failures` consecutive failures (1 for the first); `jitter` in [0, 1).
    public func delay(failures: Int, jitter: Double) -> Duration {
        let exponent = min(max(failures - 1, 0), 62)
        let full = min(base.seconds * Double(UInt64(1) << UInt64(exponent)), cap.seconds)
        let j = min(max(jitter, 0), 1)
        return .seconds(full * (0.5 + 0.5 * j))
    }
}

/// Which outbox entry goes to which receiver when, as a state machine.
///
/// Each receiver gets its notifications in order, one request at a time: a resolved
/// notification never overtakes the firing one, and a receiver that is down costs one
/// request per backoff, not one per notification. Different receivers do not wait for
/// each other.
public struct DeliveryScheduler: Sendable {
    public var backoff: Backoff

    struct Queue: Sendable {
        var pending: [UInt64] = []
        var inFlight: UInt64?
        var failures = 0
        var retryAt: MonotonicInstant?
    }

    private(set) var queues: [String: Queue] = [:]

    public init(backoff: Backoff) { self.backoff = backoff }

    /// Entries waiting for `receiver`, including one in flight.
    public func pendingCount(_ receiver: String) -> Int { queues[receiver]?.pending.count ?? 0 }
    public func isInFlight(_ receiver: String) -> Bool { queues[receiver]?.inFlight != nil }
    public func failures(_ receiver: String) -> Int { queues[receiver]?.failures ?? 0 }
    public func retryAt(_ receiver: String) -> MonotonicInstant? { queues[receiver]?.retryAt }
    public func pendingIDs(_ receiver: String) -> [UInt64] { queues[receiver]?.pending ?? [] }
    public var receivers: [String] { queues.keys.sorted() }

    /// Queues an entry; ids must grow (the outbox hands them out in order).
    public mutating func enqueue(_ id: UInt64, receiver: String) {
        queues[receiver, default: Queue()].pending.append(id)
    }

    /// Takes an entry out (delivered elsewhere, replaced, or dropped for space). If it is
    /// in flight, the request finishes but its result changes nothing for the entry.
    public mutating func remove(_ id: UInt64, receiver: String) {
        guard var q = queues[receiver] else { return }
        q.pending.removeAll { $0 == id }
        queues[receiver] = q
    }

    /// Forgets a receiver entirely; returns the ids it still had.
    public mutating func removeReceiver(_ receiver: String) -> [UInt64] {
        queues.removeValue(forKey: receiver)?.pending ?? []
    }

    /// The requests to start now: the head of each idle receiver whose backoff has passed.
    public mutating func start(now: MonotonicInstant) -> [(receiver: String, id: UInt64)] {
        var out: [(String, UInt64)] = []
        for name in queues.keys.sorted() {
            var q = queues[name]!
            guard q.inFlight == nil, let head = q.pending.first else { continue }
            if let r = q.retryAt, r > now { continue }
            q.inFlight = head
            q.retryAt = nil
            queues[name] = q
            out.append((name, head))
        }
        return out
    }

    /// Records how a request ended. Returns the time of the next attempt after a failure.
    @discardableResult
    public mutating func complete(
        receiver: String, id: UInt64, result: DeliveryResult, now: MonotonicInstant, jitter: Double
    ) -> MonotonicInstant? {
        guard var q = queues[receiver] else { return nil }
        if q.inFlight == id { q.inFlight = nil }
        var next: MonotonicInstant?
        switch result {
        case .success, .dropped:
            q.failures = 0
            q.retryAt = nil
            q.pending.removeAll { $0 == id }
        case .retry:
            q.failures += 1
            next = now + backoff.delay(failures: q.failures, jitter: jitter)
            q.retryAt = next
        }
        queues[receiver] = q
        if q.pending.isEmpty && q.inFlight == nil && q.failures == 0 { queues[receiver] = nil }
        return next
    }

    /// When `start` will next have something to do (nil: only a completion or a new entry can change that).
    public var nextDeadline: MonotonicInstant? {
        queues.values.compactMap { q in q.inFlight == nil && !q.pending.isEmpty ? q.retryAt : nil }.min()
    }
}
