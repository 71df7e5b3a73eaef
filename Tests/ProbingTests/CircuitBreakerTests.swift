import LookoutCore
import Testing

@testable import Probing

@Suite struct CircuitBreakerTests {
    let t0 = MonotonicInstant(nanoseconds: 1_000_000_000)

    func at(_ seconds: Int) -> MonotonicInstant { t0 + .seconds(seconds) }

    @Test func opensAfterFiveConsecutiveFailuresWithinAMinute() {
        var b = CircuitBreaker()
        for s in [0, 15, 30, 45] {
            #expect(b.allowsProbe(at: at(s)))
            #expect(b.record(success: false, startedAt: at(s)) == nil)
            #expect(!b.isOpen)
        }
        #expect(b.consecutiveFailures == 4)
        // The fifth, 60 s after the first: within the window (inclusive).
        #expect(b.record(success: false, startedAt: at(60)) == .opened)
        #expect(b.isOpen)
        #expect(b.state == .open(since: at(60)))
        // Probed once per 60 s from the last attempt while open.
        #expect(!b.allowsProbe(at: at(75)))
        #expect(!b.allowsProbe(at: at(105)))
        #expect(b.allowsProbe(at: at(120)))
        #expect(b.nextAllowedProbe == at(120))
        #expect(b.record(success: false, startedAt: at(120)) == nil)
        #expect(b.isOpen)
        #expect(!b.allowsProbe(at: at(135)))
        #expect(b.allowsProbe(at: at(180)))
        // One success closes it; every tick runs again.
        #expect(b.record(success: true, startedAt: at(180)) == .closed)
        #expect(!b.isOpen)
        #expect(b.consecutiveFailures == 0)
        #expect(b.allowsProbe(at: at(181)))
        #expect(b.nextAllowedProbe == nil)
    }

    @Test func slowFailuresDoNotOpenIt() {
        // 30 s interval: five failures span 120 s, more than the window.
        var b = CircuitBreaker()
        for s in stride(from: 0, through: 120, by: 30) { b.record(success: false, startedAt: at(s)) }
        #expect(!b.isOpen)
        // The sliding window of the last five failures: 30...150 still spans 120 s.
        b.record(success: false, startedAt: at(150))
        #expect(!b.isOpen)
        #expect(b.consecutiveFailures == 5)
    }

    @Test func aSuccessResetsTheStreak() {
        var b = CircuitBreaker()
        for s in [0, 1, 2, 3] { b.record(success: false, startedAt: at(s)) }
        b.record(success: true, startedAt: at(4))
        for s in [5, 6, 7, 8] { b.record(success: false, startedAt: at(s)) }
        #expect(!b.isOpen)
        #expect(b.record(success: false, startedAt: at(9)) == .opened)
    }

    @Test func fastFailuresAfterSlowOnesOpenIt() {
        var b = CircuitBreaker()
        // Two early failures, then a burst: the last five (10...14) are within 60 s.
        b.record(success: false, startedAt: at(-200))
        b.record(success: false, startedAt: at(-100))
        for s in [10, 11, 12, 13] { b.record(success: false, startedAt: at(s)) }
        #expect(!b.isOpen)
        #expect(b.record(success: false, startedAt: at(14)) == .opened)
    }

    @Test func customPolicy() {
        var b = CircuitBreaker(policy: .init(failureThreshold: 2, window: .seconds(10), retryInterval: .seconds(5)))
        b.record(success: false, startedAt: at(0))
        #expect(b.record(success: false, startedAt: at(10)) == .opened)
        #expect(!b.allowsProbe(at: at(14)))
        #expect(b.allowsProbe(at: at(15)))
    }
}
