import LookoutCore

/// The circuit breaker of one endpoint: a pure state machine on the agent's clock.
///
/// Closed, every scheduled probe runs. After `failureThreshold` consecutive failures
/// that all started within `window`, it opens: the endpoint is then probed at most
/// once per `retryInterval`, until a probe succeeds and closes it again. A dead
/// endpoint is thus still watched (and its last result, e.g. a timeout, still shown)
/// without costing a socket and a timeout every interval.
public struct CircuitBreaker: Sendable, Hashable {
    public struct Policy: Sendable, Hashable {
        public var failureThreshold: Int
        public var window: Duration
        public var retryInterval: Duration

        public init(failureThreshold: Int = 5, window: Duration = .seconds(60), retryInterval: Duration = .seconds(60)) {
            precondition(failureThreshold >= 1)
            self.failureThreshold = failureThreshold
            self.window = window
            self.retryInterval = retryInterval
        }

        public static let `default` = Policy()
    }

    public enum State: Sendable, Hashable {
        case closed
        /// Opened by the failed probe that started at `since`.
        case open(since: MonotonicInstant)
    }

    /// What a recorded result changed.
    public enum Transition: Sendable, Hashable {
        case opened
        case closed
    }

    public let policy: Policy
    public private(set) var state: State = .closed
    /// Start times of the current run of consecutive failures, at most `failureThreshold` kept.
    private var failureStarts: [MonotonicInstant] = []
    /// Start of the last probe recorded, which paces the probes while open.
    public private(set) var lastAttempt: MonotonicInstant?

    public init(policy: Policy = .default) {
        self.policy = policy
    }

    public var isOpen: Bool {
        if case .open = state { return true }
        return false
    }

    /// Consecutive failures recorded so far (capped at the threshold).
    public var consecutiveFailures: Int { failureStarts.count }

    /// Whether a probe scheduled at `now` should run.
    public func allowsProbe(at now: MonotonicInstant) -> Bool {
        guard isOpen, let lastAttempt else { return true }
        return now >= lastAttempt + policy.retryInterval
    }

    /// The earliest instant a probe is allowed again (nil when closed).
    public var nextAllowedProbe: MonotonicInstant? {
        guard isOpen, let lastAttempt else { return nil }
        return lastAttempt + policy.retryInterval
    }

    /// Records the result of a probe that started at `start`.
    @discardableResult
    public mutating func record(success: Bool, startedAt start: MonotonicInstant) -> Transition? {
        lastAttempt = max(lastAttempt ?? start, start)
        if success {
            failureStarts.removeAll()
            if isOpen {
                state = .closed
                return .closed
            }
            return nil
        }
        failureStarts.append(start)
        if failureStarts.count > policy.failureThreshold { failureStarts.removeFirst() }
        guard !isOpen, failureStarts.count >= policy.failureThreshold else { return nil }
        if start - failureStarts[0] <= policy.window {
            state = .open(since: start)
            return .opened
        }
        return nil
    }
}
