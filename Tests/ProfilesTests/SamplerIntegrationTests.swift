import LookoutCore
import ProcFS
import Sampling
import TestSupport
import Testing

@testable import Profiles

/// The recorder behind a real `Sampler` reading a fake /proc, ticked by hand on a manual clock.
@Suite struct SamplerIntegrationTests {
    static let period = Duration.nanoseconds(1_000_000_000 / 19)

    func fixture() -> FakeProc {
        let fake = FakeProc()
        fake.setStat([[100, 0, 50, 1000, 0, 0, 0, 0, 0, 0], [100, 0, 50, 1000, 0, 0, 0, 0, 0, 0]])
        var p = FakeProc.Process(pid: 600, comm: "app")
        p.threads = [
            .init(tid: 600, comm: "app", runNanoseconds: 1_000),
            .init(tid: 601, comm: "worker", runNanoseconds: 1_000, wchan: "futex_wait_queue"),
            .init(tid: 602, comm: "flusher", state: "D", runNanoseconds: 1_000, wchan: "io_schedule"),
        ]
        fake.addProcess(p)
        fake.write("600/task/601/stack", "[<0>] futex_wait_queue+0x60/0x90\n[<0>] futex_wait+0x17b/0x260\n[<0>] do_futex+0x105/0x1b0\n")
        return fake
    }

    @Test func cpuAndBlockProfilesFromTheSampler() async throws {
        let fake = fixture()
        let clock = ManualClock()
        let recorder = ProfileRecorder(clock: clock)
        var settings = SamplerSettings()
        settings.block = true
        let sampler = Sampler(
            settings: settings, groups: [.init(name: "app", selector: .pid(600))],
            procfs: try ProcFS(root: fake.root, sysRoot: fake.sysRoot, userHZ: 100, pageSize: 4096), clock: clock,
            reporters: [recorder])
        let service = ProfileService(recorder: recorder, sampler: sampler)
        await sampler.tick()
        #expect(recorder.demand == nil)

        let cpu = Task { await service.handle(query: [("seconds", "1"), ("format", "folded")]) }
        let block = Task { await service.handle(query: [("seconds", "1"), ("type", "block")]) }
        #expect(await clock.waitForSleepers(2))
        #expect(recorder.demand == .kernelStack)
        var run: UInt64 = 1_000
        for _ in 0..<19 {
            clock.advance(by: Self.period)
            run += 20_000_000
            fake.setRun(600, tid: 601, run)
            await sampler.tick()
        }
        clock.advance(by: .seconds(1))
        let folded = await cpu.value
        #expect(folded.status == 200)
        #expect(
            String(decoding: folded.body, as: UTF8.self)
                == "app;pid 600;worker;do_futex;futex_wait;futex_wait_queue 19\n")

        let b = await block.value
        #expect(b.status == 200)
        let d = try #require(decodeGzipped(b.body))
        #expect(d.samples.count == 1)
        #expect(d.samples[0].frames == ["io_schedule", "flusher", "pid 600", "app"])
        #expect(d.samples[0].values == [19, 19 * Self.period.nanoseconds])
        #expect(d.samples[0].numLabels == ["pid": 600, "tid": 602])
        #expect(recorder.demand == nil)
    }

    @Test func theCPUValueIsTheSchedstatDelta() async throws {
        let fake = fixture()
        let clock = ManualClock()
        let recorder = ProfileRecorder(clock: clock)
        let sampler = Sampler(
            groups: [.init(name: "app", selector: .pid(600))],
            procfs: try ProcFS(root: fake.root, sysRoot: fake.sysRoot, userHZ: 100, pageSize: 4096), clock: clock,
            reporters: [recorder])
        await sampler.tick()
        let task = Task { try await recorder.record(.cpu, for: .seconds(1)) }
        #expect(await clock.waitForSleepers(1))
        // Uneven on-CPU time per tick: the profile must carry the sum, not count x period.
        var run: UInt64 = 1_000
        for i in 0..<10 {
            clock.advance(by: Self.period)
            run += UInt64(i + 1) * 1_000_000
            fake.setRun(600, tid: 600, run)
            await sampler.tick()
        }
        clock.advance(by: .seconds(1))
        let p = try await task.value
        let d = try #require(DecodedProfile.decode(p.pprofBytes()))
        #expect(d.samples.map(\.frames) == [["app", "pid 600", "app"]])
        #expect(d.samples[0].values == [10, 55_000_000])
    }
}
