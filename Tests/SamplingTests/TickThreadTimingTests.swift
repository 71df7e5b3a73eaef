#if canImport(Glibc)
import Glibc
#endif
import LookoutCore
import Synchronization
import TestSupport
import Testing

@testable import Sampling

/// The sampler's wait: absolute deadlines on the monotonic clock, an early wake, a stop.
@Suite struct TickThreadTimingTests {
    let clock = SystemClock()

    @Test func waitsUntilTheDeadlineAndNotLess() {
        let thread = TickThread()
        let start = clock.now
        let deadline = start + .milliseconds(60)
        #expect(thread.wait(until: deadline))
        let woke = clock.now
        #expect(woke >= deadline, "woke \(woke - start) after the start")
        #expect(woke - start < .seconds(5))
        // A deadline already past returns at once.
        #expect(thread.wait(until: start))
    }

    @Test func aWakeEndsTheWaitEarlyAndIsNotLost() async {
        let thread = TickThread()
        let start = clock.now
        let waited = Atomic<Bool>(false)
        let returned = await onOwnThread {
            let r = thread.wait(until: SystemClock().now + .seconds(60))
            waited.store(true, ordering: .releasing)
            return r
        } racing: {
            usleep(50_000)
            thread.wake()
        }
        #expect(returned && waited.load(ordering: .acquiring))
        #expect(clock.now - start < .seconds(30))
        // A wake that comes before the wait ends that wait at once, and only that one.
        thread.wake()
        #expect(thread.wait(until: clock.now + .seconds(60)))
        let again = clock.now
        #expect(thread.wait(until: again + .milliseconds(30)))
        #expect(clock.now >= again + .milliseconds(30))
    }

    @Test func aStopEndsTheWaitAndEveryLaterOne() async {
        let thread = TickThread()
        let returned = await onOwnThread {
            thread.wait(until: SystemClock().now + .seconds(60))
        } racing: {
            usleep(50_000)
            thread.stop()
        }
        #expect(!returned)
        #expect(!thread.wait(until: clock.now + .seconds(60)))
        thread.wake()
        #expect(!thread.wait(until: clock.now + .seconds(60)))
    }
}

/// Runs `body` on a thread of its own while `other` runs on another, and returns `body`'s result.
private func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () -> T, racing other: @escaping @Sendable () -> Void) async -> T {
    async let result = TestSupport.onOwnThread(body)
    _ = await TestSupport.onOwnThread(other)
    return await result
}
