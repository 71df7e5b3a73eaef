import LookoutCore
import Testing

@testable import Notify

@Suite struct BackoffTests {
    @Test func doublesWithJitterUpToTheCap() {
        let b = Backoff(base: .milliseconds(500), cap: .seconds(300))
        #expect(b.delay(failures: 1, jitter: 1) == .milliseconds(500))
        #expect(b.delay(failures: 1, jitter: 0) == .milliseconds(250))
        #expect(b.delay(failures: 2, jitter: 1) == .seconds(1))
        #expect(b.delay(failures: 4, jitter: 0.5) == .seconds(3))
        #expect(b.delay(failures: 10, jitter: 1) == .seconds(256))
        #expect(b.delay(failures: 11, jitter: 1) == .seconds(300))
        #expect(b.delay(failures: 1000, jitter: 0.999_999) <= .seconds(300))
        #expect(b.delay(failures: 1000, jitter: 0) == .seconds(150))
        for _ in 0..<100 {
            let d = b.delay(failures: 3, jitter: Double.random(in: 0..<1))
            #expect(d >= .seconds(1) && d <= .seconds(2))
        }
    }
}

@Suite struct DeliveryResultTests {
    @Test func classifiesOutcomes() {
        #expect(DeliveryResult(.status(200)) == .success)
        #expect(DeliveryResult(.status(204)) == .success)
        #expect(DeliveryResult(.status(429)) == .retry)
        #expect(DeliveryResult(.status(500)) == .retry)
        #expect(DeliveryResult(.status(503)) == .retry)
        #expect(DeliveryResult(.failed(.connect, "refused")) == .retry)
        #expect(DeliveryResult(.failed(.timeout, "")) == .retry)
        #expect(DeliveryResult(.failed(.other, "reset")) == .retry)
        #expect(DeliveryResult(.status(400)) == .dropped)
        #expect(DeliveryResult(.status(404)) == .dropped)
        #expect(DeliveryResult(.status(301)) == .dropped)
    }
}

/// The retry state machine, on a ManualClock.
@Suite struct DeliverySchedulerTests {
    let clock = ManualClock()

    @Test func oneRequestAtATimePerReceiverInOrder() {
        var s = DeliveryScheduler(backoff: Backoff(base: .seconds(1), cap: .seconds(60)))
        s.enqueue(1, receiver: "a")
        s.enqueue(2, receiver: "a")
        s.enqueue(3, receiver: "b")
        let started = s.start(now: clock.now)
        #expect(started.map(\.id) == [1, 3])
        #expect(s.start(now: clock.now).isEmpty)
        s.complete(receiver: "a", id: 1, result: .success, now: clock.now, jitter: 1)
        #expect(s.start(now: clock.now).map(\.id) == [2])
        s.complete(receiver: "b", id: 3, result: .dropped, now: clock.now, jitter: 1)
        s.complete(receiver: "a", id: 2, result: .success, now: clock.now, jitter: 1)
        #expect(s.pendingCount("a") == 0 && s.pendingCount("b") == 0)
        #expect(s.nextDeadline == nil)
    }

    @Test func failuresBackOffExponentiallyAndHoldTheQueue() {
        var s = DeliveryScheduler(backoff: Backoff(base: .seconds(1), cap: .seconds(5)))
        s.enqueue(1, receiver: "a")
        s.enqueue(2, receiver: "a")
        var expected: [Duration] = [.seconds(1), .seconds(2), .seconds(4), .seconds(5), .seconds(5)]
        while !expected.isEmpty {
            let wait = expected.removeFirst()
            #expect(s.start(now: clock.now).map(\.id) == [1])
            let next = s.complete(receiver: "a", id: 1, result: .retry, now: clock.now, jitter: 1)
            #expect(next == clock.now + wait)
            #expect(s.nextDeadline == clock.now + wait)
            clock.advance(by: wait - .milliseconds(1))
            #expect(s.start(now: clock.now).isEmpty)
            clock.advance(by: .milliseconds(1))
        }
        #expect(s.failures("a") == 5)
        #expect(s.start(now: clock.now).map(\.id) == [1])
        s.complete(receiver: "a", id: 1, result: .success, now: clock.now, jitter: 1)
        #expect(s.failures("a") == 0)
        // After a success the next entry goes at once.
        #expect(s.start(now: clock.now).map(\.id) == [2])
    }

    @Test func removingAnEntryInFlightKeepsTheReceiverBusyUntilItEnds() {
        var s = DeliveryScheduler(backoff: Backoff(base: .seconds(1), cap: .seconds(5)))
        s.enqueue(1, receiver: "am")
        #expect(s.start(now: clock.now).map(\.id) == [1])
        s.remove(1, receiver: "am")
        s.enqueue(2, receiver: "am")
        #expect(s.start(now: clock.now).isEmpty)
        s.complete(receiver: "am", id: 1, result: .retry, now: clock.now, jitter: 1)
        #expect(s.pendingIDs("am") == [2])
        clock.advance(by: .seconds(1))
        #expect(s.start(now: clock.now).map(\.id) == [2])
        #expect(s.removeReceiver("am") == [2])
    }
}
