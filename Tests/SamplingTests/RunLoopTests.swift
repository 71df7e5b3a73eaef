import LookoutCore
import ProcFS
import Sampling
import Series
import TestSupport
import Testing

/// `run()` on a manual clock: when ticks happen, exactly.
@Suite struct RunLoopTests {
    func makeFixture() -> FakeProc {
        let fake = FakeProc()
        fake.setStat([[1, 0, 1, 100, 0, 0, 0, 0, 0, 0]])
        return fake
    }

    /// Waits until the sampler has done `ticks` ticks and sleeps again.
    func settle(_ sampler: Sampler, _ clock: ManualClock, ticks: UInt64) async -> Bool {
        await waitUntil(timeout: .seconds(10), every: .microseconds(200)) {
            sampler.metrics.ticks == ticks && clock.sleeperCount == 1
        }
    }

    @Test func tickNIsDueAtStartPlusNOverFWithoutDrift() async throws {
        let fake = makeFixture()
        let clock = ManualClock()
        let start = clock.now
        let sampler = Sampler(procfs: try fakeProcFS(fake), clock: clock)
        let task = Task { try await sampler.run() }
        defer { task.cancel() }
        #expect(await settle(sampler, clock, ticks: 1))  // tick 0 at start
        #expect(sampler.isReady)
        let schedule = TickSchedule(start: start, frequency: 19)
        for n in Int64(1)...190 {
            let due = schedule.due(n)
            // One nanosecond early: no tick.
            clock.advance(by: due - clock.now - .nanoseconds(1))
            try await Task.sleep(for: .microseconds(100))
            #expect(sampler.metrics.ticks == UInt64(n))
            // On time: the tick.
            clock.advance(by: .nanoseconds(1))
            #expect(await settle(sampler, clock, ticks: UInt64(n + 1)))
        }
        // 190 ticks after the first, the clock reads exactly start + 10 s: nothing accumulated.
        #expect(clock.now == start + .seconds(10))
        #expect(sampler.metrics.missedTicks == 0)
        let m = sampler.metrics.collect()
        #expect(m.value(SamplerMetricNames.samplerTicks) == 191)
        #expect(m.histogram(SamplerMetricNames.samplerTickDuration)?.count == 191)
    }

    @Test func lateWakeUpsAndOverrunsCountMissedTicksInsteadOfQueueing() async throws {
        let fake = makeFixture()
        let clock = ManualClock()
        let start = clock.now
        let p = period(10)
        // A reporter that, when asked, makes the tick take 2.5 periods (it advances the clock).
        let overrun = RecordingReporter(demand: nil, onReport: { clock.advance(by: p * 5 / 2) })
        var settings = SamplerSettings()
        settings.frequency = 10
        let sampler = Sampler(settings: settings, procfs: try fakeProcFS(fake), clock: clock, reporters: [overrun])
        let task = Task { try await sampler.run() }
        defer { task.cancel() }
        #expect(await settle(sampler, clock, ticks: 1))

        // The sampler wakes up 3.5 periods late: it ticks once and skips ticks 2 and 3.
        clock.advance(by: p * 7 / 2)
        #expect(await settle(sampler, clock, ticks: 2))
        #expect(sampler.metrics.missedTicks == 2)
        // The next tick is tick 4, at start + 0.4 s, not a burst of catch-up ticks.
        clock.advance(by: start + .milliseconds(400) - clock.now - .nanoseconds(1))
        try await Task.sleep(for: .milliseconds(2))
        #expect(sampler.metrics.ticks == 2)
        clock.advance(by: .nanoseconds(1))
        #expect(await settle(sampler, clock, ticks: 3))

        // Tick 5 overruns by 2.5 periods (until 0.75 s): ticks 6 and 7 are missed, tick 8 is next.
        overrun.setDemand([])
        clock.advance(by: .milliseconds(100))
        #expect(await settle(sampler, clock, ticks: 4))
        overrun.setDemand(nil)
        #expect(clock.now == start + .milliseconds(750))
        #expect(sampler.metrics.missedTicks == 4)
        clock.advance(by: .milliseconds(50))
        #expect(await settle(sampler, clock, ticks: 5))
        #expect(clock.now == start + .milliseconds(800))
        let m = sampler.metrics.collect()
        #expect(m.value(SamplerMetricNames.samplerMissedTicks) == 4)
        // The overrun tick's duration (on the sampler's clock) is in the histogram.
        let d = try #require(m.histogram(SamplerMetricNames.samplerTickDuration))
        #expect(abs(d.sum - 0.25) < 1e-9)
    }

    @Test func cancellationEndsRun() async throws {
        let fake = makeFixture()
        let clock = ManualClock()
        let sampler = Sampler(procfs: try fakeProcFS(fake), clock: clock)
        let task = Task { try await sampler.run() }
        #expect(await settle(sampler, clock, ticks: 1))
        task.cancel()
        try await task.value  // returns, does not hang or throw
        #expect(clock.sleeperCount == 0)
    }

    @Test func aNewFrequencyRestartsTheSchedule() async throws {
        let fake = makeFixture()
        let clock = ManualClock()
        let start = clock.now
        var settings = SamplerSettings()
        settings.frequency = 1
        let sampler = Sampler(settings: settings, procfs: try fakeProcFS(fake), clock: clock)
        let task = Task { try await sampler.run() }
        defer { task.cancel() }
        #expect(await settle(sampler, clock, ticks: 1))
        settings.frequency = 4
        sampler.update(settings: settings, groups: [])
        clock.advance(by: .seconds(1))  // tick 1 at 1 Hz applies the update
        #expect(await settle(sampler, clock, ticks: 2))
        clock.advance(by: .milliseconds(250))  // then every 250 ms from there
        #expect(await settle(sampler, clock, ticks: 3))
        #expect(clock.now == start + .milliseconds(1250))
        #expect(sampler.metrics.collect().value(SamplerMetricNames.samplerFrequency) == 4)
    }
}
