import LookoutCore
import Sampling
import Synchronization
import TestSupport
import Testing

@testable import Profiles

@Suite struct RecorderTests {
    @Test func asksForNothingWhileNoRecordingRuns() async throws {
        let clock = ManualClock()
        let recorder = ProfileRecorder(clock: clock)
        #expect(recorder.demand == nil)
        let cpu = try recorder.start(.cpu)
        #expect(recorder.demand == .kernelStack)
        let block = try recorder.start(.block)
        #expect(recorder.demand == .kernelStack)
        _ = recorder.stop(cpu)
        // Block samples need no extra reads, but samples must flow: empty, not nil.
        #expect(recorder.demand == [])
        _ = recorder.stop(block)
        #expect(recorder.demand == nil)
        #expect(recorder.runningCount == 0)
    }

    @Test func countsTicksAfterItStartedForItsWindow() async throws {
        let clock = ManualClock()
        let recorder = ProfileRecorder(clock: clock)
        let started = clock.now
        let wallStart = clock.wallNow
        recorder.report(tick(at: started, [sample(tid: 1, thread: "before")]))
        let task = Task { try await recorder.record(.cpu, for: .seconds(2)) }
        #expect(await waitUntil { clock.sleeperCount == 1 })
        // Same instant as the start: that tick's samples fall before the recording.
        recorder.report(tick(at: started, [sample(tid: 1, thread: "before")]))
        for i in 1...38 {
            clock.advance(by: .nanoseconds(1_000_000_000 / 19))
            recorder.report(tick(at: started + .nanoseconds(Int64(i) * 1_000_000_000 / 19), [sample(tid: 1, thread: "during")]))
        }
        clock.advance(by: .seconds(1))
        let p = try await task.value
        recorder.report(tick(at: clock.now, [sample(tid: 1, thread: "after")]))
        #expect(p.aggregate.ticks == 38)
        #expect(p.aggregate.samples == 38)
        #expect(p.aggregate.stacks.keys.map { p.aggregate.strings[$0.thread] } == ["during"])
        #expect(p.duration >= .seconds(2))
        #expect(p.startTime == wallStart)
        #expect(recorder.demand == nil)
    }

    @Test func concurrentRecordingsEachGetTheirOwnWindowAndType() async throws {
        let clock = ManualClock()
        let recorder = ProfileRecorder(clock: clock)
        let first = Task { try await recorder.record(.cpu, for: .seconds(3)) }
        #expect(await waitUntil { clock.sleeperCount == 1 })
        let samples = [sample(tid: 1, thread: "run"), sample(.blocked, tid: 2, thread: "disk", wchan: "io_schedule")]
        clock.advance(by: .seconds(1))
        recorder.report(tick(at: clock.now, samples))
        let second = Task { try await recorder.record(.block, for: .seconds(1)) }
        #expect(await waitUntil { clock.sleeperCount == 2 })
        #expect(recorder.runningCount == 2)
        clock.advance(by: .milliseconds(500))
        recorder.report(tick(at: clock.now, samples))
        clock.advance(by: .milliseconds(600))
        let b = try await second.value
        recorder.report(tick(at: clock.now, samples))
        clock.advance(by: .seconds(1))
        let a = try await first.value
        #expect(a.type == .cpu && a.aggregate.ticks == 3 && a.aggregate.samples == 3)
        #expect(b.type == .block && b.aggregate.ticks == 1 && b.aggregate.samples == 1)
        #expect(b.aggregate.stacks.keys.map { b.aggregate.strings[$0.waitChannel] } == ["io_schedule"])
        #expect(recorder.runningCount == 0)
    }

    @Test func refusesRecordingsPastTheLimit() async throws {
        let recorder = ProfileRecorder(clock: ManualClock(), limits: .init(maxStacks: 10, maxConcurrent: 2))
        _ = try recorder.start(.cpu)
        let second = try recorder.start(.cpu)
        #expect(throws: ProfileError.self) { try recorder.start(.cpu) }
        do {
            _ = try recorder.start(.cpu)
        } catch {
            #expect(error.kind == .tooManyRecordings)
            #expect(error.status == 429)
        }
        _ = recorder.stop(second)
        _ = try recorder.start(.mutex)
        #expect(recorder.runningCount == 2)
    }

    @Test func aCancelledRecordingUnregisters() async throws {
        let clock = ManualClock()
        let recorder = ProfileRecorder(clock: clock)
        let task = Task { try await recorder.record(.cpu, for: .seconds(60)) }
        #expect(await waitUntil { recorder.runningCount == 1 && clock.sleeperCount == 1 })
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(recorder.runningCount == 0)
        #expect(recorder.demand == nil)
    }

    @Test func theRecordingLimitsReachTheAggregate() async throws {
        let clock = ManualClock()
        let recorder = ProfileRecorder(clock: clock, limits: .init(maxStacks: 2, maxConcurrent: 1))
        let task = Task { try await recorder.record(.cpu, for: .seconds(1)) }
        #expect(await waitUntil { clock.sleeperCount == 1 })
        clock.advance(by: .milliseconds(100))
        recorder.report(tick(at: clock.now, (Int32(1)...5).map { sample(tid: $0, thread: "t\($0)") }))
        clock.advance(by: .seconds(1))
        let p = try await task.value
        #expect(p.aggregate.stackCount == 2)
        #expect(p.aggregate.droppedSamples == 3)
    }
}
