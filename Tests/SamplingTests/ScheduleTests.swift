import LookoutCore
import Testing

@testable import Sampling

@Suite struct TickScheduleTests {
    @Test func dueTimesNeverDrift() {
        let start = MonotonicInstant(nanoseconds: 5_000_000_123)
        for f in [1, 7, 19, 97, 1000] {
            let s = TickSchedule(start: start, frequency: f)
            // After any whole number of seconds, the tick is due exactly that many seconds later.
            for seconds in [1, 10, 3600, 86400 * 365] {
                #expect(s.due(Int64(f * seconds)) == start + .seconds(seconds))
            }
            #expect(s.due(1) - s.due(0) == .nanoseconds(1_000_000_000 / Int64(f)))
        }
        // 19 Hz: 52631578.9 ns; floor each time from the start, not accumulated.
        let s = TickSchedule(start: MonotonicInstant(nanoseconds: 0), frequency: 19)
        #expect(s.due(1).nanoseconds == 52_631_578)
        #expect(s.due(2).nanoseconds == 105_263_157)
        #expect(s.due(18).nanoseconds == 947_368_421)
    }

    @Test func onTimeTicksSkipNothing() {
        var s = TickSchedule(start: MonotonicInstant(nanoseconds: 0), frequency: 19)
        for n in 0..<100 {
            #expect(s.index == Int64(n))
            let end = s.due(Int64(n)) + .microseconds(300)
            #expect(s.finish(at: end) == 0)
        }
    }

    @Test func overrunsCountMissedTicksAndDoNotQueue() {
        var s = TickSchedule(start: MonotonicInstant(nanoseconds: 0), frequency: 10)
        #expect(s.finish(at: MonotonicInstant(nanoseconds: 1_000)) == 0)
        #expect(s.nextDue.nanoseconds == 100_000_000)
        // Tick 1 runs until 0.35 s: ticks 2 and 3 (0.2 s, 0.3 s) are missed, the next is tick 4.
        #expect(s.finish(at: MonotonicInstant(nanoseconds: 350_000_000)) == 2)
        #expect(s.index == 4 && s.nextDue.nanoseconds == 400_000_000)
        // Finishing exactly when the next tick is due misses nothing: it runs now.
        #expect(s.finish(at: MonotonicInstant(nanoseconds: 500_000_000)) == 0)
        #expect(s.index == 5)
        // Finishing 1 ns after a due time misses that tick.
        #expect(s.finish(at: MonotonicInstant(nanoseconds: 600_000_001)) == 1)
        #expect(s.index == 7)
    }
}

@Suite struct PeakWindowTests {
    @Test func keepsTheMaximumOfTheWindowThenForgetsIt() {
        var p = PeakWindow(window: .seconds(15))
        let t0 = MonotonicInstant(nanoseconds: 100_000_000_000)
        #expect(p.peak(at: t0) == 0)
        p.record(0.1, at: t0)
        p.record(0.95, at: t0 + .milliseconds(300))
        p.record(0.2, at: t0 + .seconds(5))
        #expect(p.peak(at: t0 + .seconds(5)) == 0.95)
        #expect(p.peak(at: t0 + .seconds(14)) == 0.95)
        // 16 s later the spike's slot has left the window; the 0.2 at +5 s is still in it.
        #expect(p.peak(at: t0 + .seconds(16)) == 0.2)
        #expect(p.peak(at: t0 + .seconds(22)) == 0)
        p.record(0.5, at: t0 + .seconds(40))
        #expect(p.peak(at: t0 + .seconds(40)) == 0.5)
        // A late value older than the window is ignored.
        p.record(0.99, at: t0)
        #expect(p.peak(at: t0 + .seconds(40)) == 0.5)
    }

    @Test func shortWindowsUseShorterSlots() {
        var p = PeakWindow(window: .seconds(1))
        let t0 = MonotonicInstant(nanoseconds: 10_000_000_000)
        p.record(0.7, at: t0)
        #expect(p.peak(at: t0 + .milliseconds(900)) == 0.7)
        #expect(p.peak(at: t0 + .milliseconds(1200)) == 0)
    }
}

@Suite struct HistoryRingTests {
    @Test func perSecondMeanAndPeakOldestFirst() {
        var r = HistoryRing(capacity: 5)
        r.record(0.2, second: 10)
        r.record(0.4, second: 10)
        r.record(1.0, second: 11)
        r.record(0.5, second: 13)
        r.record(0.0, second: 14)  // the second being filled: shown once the window reaches it
        #expect(r.series(endingAt: 14).mean.last == 0.0)
        let s = r.series(endingAt: 13)
        #expect(s.mean.count == 5)
        #expect(s.mean[0] == nil)  // second 9
        #expect(abs((s.mean[1] ?? 0) - 0.3) < 1e-12 && s.peak[1] == 0.4)
        #expect(s.mean[2] == 1.0 && s.mean[3] == nil && s.mean[4] == 0.5)
        // Older than the capacity: gone.
        r.record(0.1, second: 30)
        #expect(r.series(endingAt: 29).mean.allSatisfy { $0 == nil })
    }
}
