import LookoutCore

/// What to do with a batch after one attempt, and how long to wait before the next: the
/// state of one endpoint's retries, without I/O (the queue sends, this decides).
///
/// 2xx: sent. 429 and 5xx, and failures to reach the receiver: retried with exponential
/// backoff from `minBackoff` to `maxBackoff`, or after `Retry-After` when the receiver sets
/// it. Any other status (a 4xx: malformed, out of order, duplicate, too old) is final for the
/// batch: it is dropped and counted, never retried forever.
public struct SendPolicy: Sendable, Hashable {
    public enum Verdict: Sendable, Hashable {
        case sent
        case retry(after: Duration)
        case drop
    }

    public let minBackoff: Duration
    public let maxBackoff: Duration
    /// The longest `Retry-After` honoured; a longer one is cut to it.
    public let maxRetryAfter: Duration
    private var backoff: Duration

    public init(minBackoff: Duration, maxBackoff: Duration, maxRetryAfter: Duration = .seconds(600)) {
        self.minBackoff = minBackoff
        self.maxBackoff = maxBackoff
        self.maxRetryAfter = maxRetryAfter
        self.backoff = minBackoff
    }

    /// `status` 0 means no answer (a transport failure).
    public mutating func verdict(status: Int, retryAfter: String?) -> Verdict {
        switch status {
        case 200..<300:
            backoff = minBackoff
            return .sent
        case 0, 429, 500..<600:
            let wait: Duration
            if let header = retryAfter, let seconds = Self.retryAfterSeconds(header) {
                wait = min(.seconds(seconds), maxRetryAfter)
            } else {
                wait = backoff
            }
            backoff = min(backoff * 2, maxBackoff)
            return .retry(after: wait)
        default:
            backoff = minBackoff
            return .drop
        }
    }

    /// `Retry-After` in delay-seconds form; the HTTP-date form is not used by remote_write
    /// receivers and is ignored (the backoff applies).
    static func retryAfterSeconds(_ header: String) -> Int? {
        let t = header.trimmingSpaces()
        guard !t.isEmpty, t.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let n = Int(t) else { return nil }
        return n
    }
}
