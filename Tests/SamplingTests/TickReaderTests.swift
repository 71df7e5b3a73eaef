import LookoutCore
import ProcFS
import Synchronization
import TestSupport
import Testing

@testable import Sampling

/// A second reader on the sampler's tick, after the /proc reader: what it sees and what it adds.
@Suite struct TickReaderTests {
    /// Records the selection it sees each tick and adds one sample per tick while asked to.
    final class FollowingReader: TickReader, Sendable {
        let seen = Mutex<[(generation: UInt64, pids: [Int32])]>([])

        func read(_ tick: inout SampleTick) {
            let pids = tick.groups.flatMap { $0.processes.map(\.pid) }
            seen.withLock { $0.append((tick.selectionGeneration, pids)) }
            if tick.demand != nil, let g = tick.groups.first, let p = g.processes.first {
                tick.append(ThreadSample(kind: .cpu, pid: p.pid, tid: p.pid, group: g.name, thread: "from-perf", nanoseconds: 7))
            }
        }
    }

    @Test func aSecondReaderSeesTheSelectionAndItsSamplesReachTheReporters() async throws {
        let fake = FakeProc()
        fake.setStat([[1, 0, 1, 100, 0, 0, 0, 0, 0, 0]])
        fake.addProcess(FakeProc.Process(pid: 120, comm: "app"))
        let clock = ManualClock()
        let second = FollowingReader()
        let reporter = RecordingReporter(demand: [])
        let sampler = Sampler(
            groups: [.init(name: "app", selector: .pid(120))], procfs: try fakeProcFS(fake), clock: clock, reporters: [reporter],
            readers: [second])
        await sampler.tick()
        clock.advance(by: period(19))
        fake.addProcess(FakeProc.Process(pid: 121, comm: "app2"))
        sampler.update(settings: SamplerSettings(), groups: [.init(name: "app", selector: .comm(try AnchoredRegex("app.*")))])
        await sampler.tick()
        let seen = second.seen.withLock { $0 }
        #expect(seen.map(\.pids) == [[120], [120, 121]])
        #expect(seen[0].generation != seen[1].generation)
        // The first tick has no interval and reaches no reporter; the second carries the sample.
        let ticks = reporter.ticks
        #expect(ticks.count == 1)
        #expect(ticks.first?.samples == [ThreadSample(kind: .cpu, pid: 120, tid: 120, group: "app", thread: "from-perf", nanoseconds: 7)])
        #expect(ticks.first?.groups.first?.processes.map(\.pid) == [120, 121])
    }
}
