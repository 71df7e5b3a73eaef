#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A point on the monotonic clock, in nanoseconds from an arbitrary origin.
public struct MonotonicInstant: Comparable, Hashable, Sendable, CustomStringConvertible {
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    public static func < (a: Self, b: Self) -> Bool { a.nanoseconds < b.nanoseconds }

    public static func + (a: Self, d: Duration) -> Self { Self(nanoseconds: a.nanoseconds + d.nanoseconds) }
    public static func - (a: Self, d: Duration) -> Self { Self(nanoseconds: a.nanoseconds - d.nanoseconds) }
    public static func - (a: Self, b: Self) -> Duration { .nanoseconds(a.nanoseconds - b.nanoseconds) }

    public var description: String { "\(nanoseconds)ns" }
}

/// A point in wall-clock time, in nanoseconds since the Unix epoch.
public struct WallTime: Comparable, Hashable, Sendable, CustomStringConvertible {
    public var nanosecondsSinceEpoch: Int64

    public init(nanosecondsSinceEpoch: Int64) { self.nanosecondsSinceEpoch = nanosecondsSinceEpoch }
    public init(millisecondsSinceEpoch ms: Int64) { self.nanosecondsSinceEpoch = ms &* 1_000_000 }
    public init(secondsSinceEpoch s: Double) { self.nanosecondsSinceEpoch = Int64((s * 1e9).rounded()) }

    public var millisecondsSinceEpoch: Int64 { nanosecondsSinceEpoch / 1_000_000 }
    public var secondsSinceEpoch: Double { Double(nanosecondsSinceEpoch) / 1e9 }

    public static func < (a: Self, b: Self) -> Bool { a.nanosecondsSinceEpoch < b.nanosecondsSinceEpoch }
    public static func + (a: Self, d: Duration) -> Self {
        Self(nanosecondsSinceEpoch: a.nanosecondsSinceEpoch + d.nanoseconds)
    }
    public static func - (a: Self, d: Duration) -> Self {
        Self(nanosecondsSinceEpoch: a.nanosecondsSinceEpoch - d.nanoseconds)
    }
    public static func - (a: Self, b: Self) -> Duration { .nanoseconds(a.nanosecondsSinceEpoch - b.nanosecondsSinceEpoch) }

    /// RFC 3339 in UTC with millisecond precision, e.g. `2026-11-23T10:01:02.345Z`.
    public var rfc3339: String { RFC3339.format(self) }

    public var description: String { rfc3339 }
}

extension Duration {
    /// The duration in whole nanoseconds (saturating).
    public var nanoseconds: Int64 {
        let (s, atto) = components
        let (ns, overflow) = s.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return s < 0 ? .min : .max }
        return ns &+ atto / 1_000_000_000
    }

    /// The duration in seconds as a floating point number.
    public var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) * 1e-18
    }

    public var milliseconds: Int64 { nanoseconds / 1_000_000 }

    public static func seconds(_ value: Double) -> Duration { .nanoseconds(Int64((value * 1e9).rounded())) }
}

/// The one time source of the agent. Every tick, timeout, `for` duration, retry and
/// backoff reads it, so tests drive all of them with a `ManualClock`.
public protocol AgentClock: Sendable {
    /// Monotonic time; never goes back, unaffected by wall-clock changes.
    var now: MonotonicInstant { get }
    /// Wall-clock time, for timestamps shown to people and other systems.
    var wallNow: WallTime { get }
    /// Suspends until `deadline` on the monotonic clock. Throws `CancellationError` when cancelled.
    func sleep(until deadline: MonotonicInstant) async throws
}

extension AgentClock {
    public func sleep(for duration: Duration) async throws {
        try await sleep(until: now + duration)
    }
}

/// The real clocks: `CLOCK_MONOTONIC` and `CLOCK_REALTIME`.
public struct SystemClock: AgentClock {
    public init() {}

    public var now: MonotonicInstant {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return MonotonicInstant(nanoseconds: Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec))
    }

    public var wallNow: WallTime {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return WallTime(nanosecondsSinceEpoch: Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec))
    }

    public func sleep(until deadline: MonotonicInstant) async throws {
        let remaining = deadline.nanoseconds - now.nanoseconds
        if remaining > 0 {
            try await Task.sleep(for: .nanoseconds(remaining), tolerance: .nanoseconds(0))
        } else {
            try Task.checkCancellation()
        }
    }
}

/// A clock that moves only when a test tells it to. Sleepers resume, in deadline
/// order, when `advance` passes their deadline.
public final class ManualClock: AgentClock, Sendable {
    private struct Sleeper {
        let id: UInt64
        let deadline: MonotonicInstant
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now: MonotonicInstant
        var wall: WallTime
        var nextID: UInt64 = 0
        var sleepers: [Sleeper] = []
        var sleepsStarted = 0
    }

    private let state: Mutex<State>

    public init(
        now: MonotonicInstant = MonotonicInstant(nanoseconds: 1_000_000_000),
        wall: WallTime = WallTime(secondsSinceEpoch: 1_790_000_000)
    ) {
        state = Mutex(State(now: now, wall: wall))
    }

    public var now: MonotonicInstant { state.withLock { $0.now } }
    public var wallNow: WallTime { state.withLock { $0.wall } }

    /// Number of tasks suspended in `sleep` right now.
    public var sleeperCount: Int { state.withLock { $0.sleepers.count } }

    /// Number of `sleep` calls made so far (including ones that returned at once).
    public var sleepsStarted: Int { state.withLock { $0.sleepsStarted } }

    public func sleep(until deadline: MonotonicInstant) async throws {
        let id = state.withLock { s -> UInt64 in
            s.nextID += 1
            s.sleepsStarted += 1
            return s.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                let resumeNow: Bool = state.withLock { s in
                    if deadline <= s.now { return true }
                    if Task.isCancelled { return true }
                    s.sleepers.append(Sleeper(id: id, deadline: deadline, continuation: c))
                    return false
                }
                if resumeNow { c.resume() }
            }
            try Task.checkCancellation()
        } onCancel: {
            let sleeper: Sleeper? = state.withLock { s in
                guard let i = s.sleepers.firstIndex(where: { $0.id == id }) else { return nil }
                return s.sleepers.remove(at: i)
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves both clocks forward and resumes every sleeper whose deadline has come.
    public func advance(by duration: Duration) {
        let due: [Sleeper] = state.withLock { s in
            s.now = s.now + duration
            s.wall = s.wall + duration
            let now = s.now
            let due = s.sleepers.filter { $0.deadline <= now }.sorted { $0.deadline < $1.deadline }
            s.sleepers.removeAll { $0.deadline <= now }
            return due
        }
        for sleeper in due { sleeper.continuation.resume() }
    }

    /// Sets the wall clock without moving the monotonic one.
    public func setWall(_ wall: WallTime) {
        state.withLock { $0.wall = wall }
    }

    /// Waits (yielding, in real time, at most `timeout`) until at least `count` tasks sleep on this clock.
    /// Returns false on timeout. The bound is generous: on a busy machine a task that was just
    /// started may wait long for a thread before it first sleeps.
    @discardableResult
    public func waitForSleepers(_ count: Int = 1, timeout: Duration = .seconds(60)) async -> Bool {
        let start = SystemClock().now
        while sleeperCount < count {
            if SystemClock().now - start > timeout { return false }
            try? await Task.sleep(for: .milliseconds(1))
        }
        return true
    }
}

/// Calendar dates of the proleptic Gregorian calendar, in UTC.
public enum CivilDate {
    /// Year, month (1-12) and day (1-31) of a day counted from 1970-01-01 (H. Hinnant's algorithm).
    public static func from(daysSinceEpoch: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let days = daysSinceEpoch + 719_468
        let era = (days >= 0 ? days : days - 146_096) / 146_097
        let doe = days - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        var year = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        if month <= 2 { year += 1 }
        return (year, month, day)
    }
}

enum RFC3339 {
    static func format(_ t: WallTime) -> String {
        var ms = t.millisecondsSinceEpoch
        if t.nanosecondsSinceEpoch < 0 && t.nanosecondsSinceEpoch % 1_000_000 != 0 { ms -= 1 }
        let days = ms >= 0 ? ms / 86_400_000 : (ms - 86_399_999) / 86_400_000
        let msOfDay = ms - days * 86_400_000
        let (year, month, day) = CivilDate.from(daysSinceEpoch: days)
        let h = msOfDay / 3_600_000, m = msOfDay / 60_000 % 60, s = msOfDay / 1000 % 60, milli = msOfDay % 1000
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(h, 2)):\(pad(m, 2)):\(pad(s, 2)).\(pad(milli, 3))Z"
    }

    private static func pad(_ v: Int64, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fff...](Z|±HH:MM)`.
    static func parse(_ text: String) -> WallTime? {
        let b = Array(text.utf8)
        func num(_ from: Int, _ len: Int) -> Int64? {
            guard from + len <= b.count else { return nil }
            var v: Int64 = 0
            for i in from..<(from + len) {
                guard b[i] >= 48 && b[i] <= 57 else { return nil }
                v = v * 10 + Int64(b[i] - 48)
            }
            return v
        }
        guard b.count >= 20, let y = num(0, 4), b[4] == UInt8(ascii: "-"), let mo = num(5, 2),
            b[7] == UInt8(ascii: "-"), let d = num(8, 2), b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t"),
            let h = num(11, 2), b[13] == UInt8(ascii: ":"), let mi = num(14, 2), b[16] == UInt8(ascii: ":"),
            let s = num(17, 2)
        else { return nil }
        var i = 19
        var nanos: Int64 = 0
        if i < b.count && b[i] == UInt8(ascii: ".") {
            i += 1
            var digits = 0
            while i < b.count, b[i] >= 48, b[i] <= 57 {
                if digits < 9 { nanos = nanos * 10 + Int64(b[i] - 48); digits += 1 }
                i += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<9 { nanos *= 10 }
        }
        var offsetSeconds: Int64 = 0
        guard i < b.count else { return nil }
        if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
            i += 1
        } else if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
            guard let oh = num(i + 1, 2), b[i + 3] == UInt8(ascii: ":"), let om = num(i + 4, 2) else { return nil }
            offsetSeconds = (oh * 3600 + om * 60) * (b[i] == UInt8(ascii: "-") ? -1 : 1)
            i += 6
        } else {
            return nil
        }
        guard i == b.count, (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, s < 61 else { return nil }
        // Days from civil (H. Hinnant).
        let yy = mo <= 2 ? y - 1 : y
        let era = (yy >= 0 ? yy : yy - 399) / 400
        let yoe = yy - era * 400
        let mp = mo > 2 ? mo - 3 : mo + 9
        let doy = (153 * mp + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        let secs = days * 86400 + h * 3600 + mi * 60 + s - offsetSeconds
        return WallTime(nanosecondsSinceEpoch: secs * 1_000_000_000 + nanos)
    }
}

extension WallTime {
    /// Parses an RFC 3339 timestamp.
    public init?(rfc3339 text: String) {
        guard let t = RFC3339.parse(text) else { return nil }
        self = t
    }
}
