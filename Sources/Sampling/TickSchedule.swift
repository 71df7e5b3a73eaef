import LookoutCore

/// When ticks are due: tick N at `start + N/f`, computed from the start every time, so
/// rounding never accumulates into drift. A tick that overruns (or wakes up late) makes
/// the ticks whose time has passed count as missed; they are not run late.
public struct TickSchedule: Sendable, Hashable {
    public let start: MonotonicInstant
    public let frequency: Int
    /// The number of the next tick to run.
    public private(set) var index: Int64 = 0

    public init(start: MonotonicInstant, frequency: Int) {
        precondition(frequency > 0, "frequency must be positive")
        self.start = start
        self.frequency = frequency
    }

    /// Tick `n`'s due time: `start + floor(n * 1e9 / f)` nanoseconds.
    public func due(_ n: Int64) -> MonotonicInstant {
        let offset = Int128(n) * 1_000_000_000 / Int128(frequency)
        return MonotonicInstant(nanoseconds: start.nanoseconds + Int64(offset))
    }

    public var nextDue: MonotonicInstant { due(index) }

    /// The tick `index` ran and finished at `end`. Moves on to the first tick not yet in
    /// the past (due at or after `end`) and returns how many ticks were skipped on the way.
    @discardableResult
    public mutating func finish(at end: MonotonicInstant) -> Int64 {
        let elapsed = Int128(end.nanoseconds - start.nanoseconds)
        // The smallest n with floor(n * 1e9 / f) >= elapsed, i.e. n >= elapsed * f / 1e9, rounded up.
        var next = elapsed < 0 ? 0 : (elapsed * Int128(frequency) + 999_999_999) / 1_000_000_000
        if next <= Int128(index) { next = Int128(index) + 1 }
        let skipped = Int64(next) - index - 1
        index = Int64(next)
        return skipped
    }
}
