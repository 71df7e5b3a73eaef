import Exposition
import Series
import LookoutCore
import ProcFS
import Sampling
import TestSupport
import Testing

@testable import Agent

/// The agent's `process_*` metrics on a fixture /proc.
@Suite struct SelfMetricsTests {
    func value(_ families: [MetricFamily], _ name: String) -> Double? {
        families.first { $0.name == name }?.metrics.first?.value.singleValue
    }

    @Test func processMetricsComeFromTheProcFSReaders() throws {
        let fake = FakeProc()
        fake.setStat([[1, 0, 1, 100, 0, 0, 0, 0, 0, 0]])  // btime 1790000000
        fake.setSelf(77)
        var me = FakeProc.Process(pid: 77, comm: "lookout")
        me.utime = 250
        me.stime = 50
        me.startTime = 12_345
        me.rssPages = 1000
        me.openFDs = 5
        fake.addProcess(me)
        let procfs = try ProcFS(root: fake.root, sysRoot: fake.sysRoot, userHZ: 100, pageSize: 4096)
        let metrics = SelfMetrics(procfs: procfs)
        var m = metrics.box.collect()
        #expect(value(m, "process_cpu_seconds_total") == 3)
        #expect(value(m, "process_resident_memory_bytes") == 4_096_000)
        #expect(value(m, "process_virtual_memory_bytes") == 12_288_000)
        #expect(value(m, "process_start_time_seconds") == 1_790_000_123.45)
        #expect(value(m, "process_open_fds") == 5)
        #expect((value(m, "process_max_fds") ?? 0) > 0)
        #expect(m.map(\.name) == [
            "process_cpu_seconds_total", "process_resident_memory_bytes", "process_virtual_memory_bytes",
            "process_start_time_seconds", "process_open_fds", "process_max_fds",
        ])

        // Each refresh reads the process again; /proc/stat (the boot time) was read once.
        fake.remove("stat")
        me.utime = 300
        fake.addProcess(me)
        metrics.refresh()
        m = metrics.box.collect()
        #expect(value(m, "process_cpu_seconds_total") == 3.5)
        #expect(value(m, "process_start_time_seconds") == 1_790_000_123.45)

        // A file that cannot be parsed leaves its series out (`stat` is kept open: the same file, rewritten).
        fake.write("77/stat", "77 (lookout\n")
        metrics.refresh()
        m = metrics.box.collect()
        #expect(value(m, "process_cpu_seconds_total") == nil && value(m, "process_open_fds") == 5)
    }

    /// Read on the sampler's ticks: only those that do the once-a-second reads refresh it.
    @Test func refreshedOnTheSamplersOnceASecondTicks() async throws {
        let fake = FakeProc()
        fake.setStat([[1, 0, 1, 100, 0, 0, 0, 0, 0, 0]])
        fake.setSelf(77)
        var me = FakeProc.Process(pid: 77, comm: "lookout")
        me.utime = 100
        fake.addProcess(me)
        let procfs = try ProcFS(root: fake.root, sysRoot: fake.sysRoot, userHZ: 100, pageSize: 4096)
        let metrics = SelfMetrics(procfs: procfs)
        let box = metrics.box
        let clock = ManualClock()
        let sampler = Sampler(procfs: procfs, clock: clock, readers: [metrics])
        func cpu() -> Double? { value(box.collect(), "process_cpu_seconds_total") }

        await sampler.tick()
        #expect(cpu() == 1)
        me.utime = 200
        fake.addProcess(me)
        // An ordinary tick does not read it.
        clock.advance(by: .milliseconds(52))
        await sampler.tick()
        #expect(cpu() == 1)
        // The next second's tick does.
        clock.advance(by: .seconds(1))
        await sampler.tick()
        #expect(cpu() == 2)
    }
}
