#if canImport(Glibc)
import Glibc
#endif
import Exposition
import Series
import LookoutCore
import ProcFS
import Sampling
import TestSupport
import Testing

/// The sampler's whole exposition for a fixture /proc, byte for byte: names, labels, help
/// texts, units, bucket bounds and values are a contract (dashboards and rules rely on them).
@Suite struct ExpositionGoldenTests {
    static let idle: [UInt64] = [1000, 0, 500, 100_000, 10, 0, 5, 0, 0, 0]

    /// Host, cgroup v1 (with a CPU limit), PSI, a group with per-thread series, a group with block and mutex
    /// samples and the agent itself; a second of ticks with CPU moving, ending on the tick
    /// that does the once-a-second reads.
    func exposition() async throws -> (text: String, openMetrics: String) {
        let fake = FakeProc()
        fake.setStat([Self.idle, Self.idle])
        fake.setSelf(10)
        var me = FakeProc.Process(pid: 10, comm: "lookout")
        me.cgroup = "2:cpu,cpuacct:/\n"
        me.utime = 40
        me.stime = 10
        fake.addProcess(me)
        fake.writeSys("fs/cgroup/cpu,cpuacct/cpuacct.usage", "2500000000\n")
        fake.writeSys("fs/cgroup/cpu,cpuacct/cpu.stat", "nr_periods 20\nnr_throttled 5\nthrottled_time 750000000\n")
        fake.writeSys("fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "150000\n")
        fake.writeSys("fs/cgroup/cpu,cpuacct/cpu.cfs_period_us", "100000\n")
        fake.writeSys("fs/cgroup/cpu,cpuacct/cpu.shares", "1024\n")
        fake.write("pressure/cpu", "some avg10=0.00 avg60=0.00 avg300=0.00 total=1500000\n")
        var api = FakeProc.Process(pid: 20, comm: "api")
        api.utime = 150
        api.stime = 30
        api.rssPages = 2048
        api.openFDs = 7
        api.threads = [
            .init(tid: 20, comm: "api", runNanoseconds: 1_000_000_000, voluntarySwitches: 100, nonvoluntarySwitches: 3),
            .init(tid: 21, comm: "worker", runNanoseconds: 500_000_000, voluntarySwitches: 40),
            .init(tid: 22, comm: "worker", runNanoseconds: 250_000_000, voluntarySwitches: 2, nonvoluntarySwitches: 1),
        ]
        fake.addProcess(api)
        var db = FakeProc.Process(pid: 30, comm: "db")
        db.threads = [
            .init(tid: 30, comm: "db", state: "D", wchan: "io_schedule"),
            .init(tid: 31, comm: "locker", state: "S", wchan: "futex_wait_queue", syscall: futexWaitSyscall),
        ]
        fake.addProcess(db)

        var settings = SamplerSettings()
        settings.block = true
        settings.mutex = true
        let clock = ManualClock(now: MonotonicInstant(nanoseconds: 50_000_000_000))
        let sampler = Sampler(
            settings: settings,
            groups: [
                .init(name: "api", selector: .pid(20), threads: true), .init(name: "db", selector: .pid(30)),
                .init(name: "lookout", selector: .current),
            ],
            procfs: try fakeProcFS(fake), clock: clock)
        await sampler.tick()
        let start = clock.now
        var cpu0 = Self.idle
        var cpu1 = Self.idle
        for i in 1...19 {
            clock.advance(by: start + period(19) * i - clock.now)
            // cpu0 busy 3 of 5 ticks of USER_HZ every other tick, cpu1 idle; api's main thread
            // runs a tenth of a tick, the workers in turn a whole one.
            cpu0[0] += UInt64(i % 2 == 0 ? 3 : 1)
            cpu0[3] += UInt64(i % 2 == 0 ? 2 : 4)
            cpu1[3] += 5
            fake.setStat([cpu0, cpu1])
            fake.setRun(20, tid: 20, 1_000_000_000 + UInt64(i) * 5_000_000)
            fake.setRun(20, tid: 21 + Int32(i % 2), (i % 2 == 0 ? 250_000_000 : 500_000_000) + UInt64(i) * 52_000_000)
            await sampler.tick()
        }
        var later = api
        later.utime = 175
        later.stime = 33
        later.threads[0].voluntarySwitches = 130
        for t in later.threads { fake.setThread(20, t, threadsInProcess: 3, startTime: later.startTime) }
        fake.write("20/stat", fake.statLine(20, comm: "api", state: "S", ppid: 1, flags: 0x0040_0100, utime: 175, stime: 33,
            threads: 3, startTime: later.startTime, rssPages: 2048))
        clock.advance(by: start + .seconds(1) - clock.now)
        await sampler.tick()
        let families = sampler.metrics.collect().sorted { $0.name < $1.name }
        // A gather that names one of the families gets it; one that names none renders nothing.
        for f in families {
            #expect(sampler.metrics.collect(matching: FamilyNameFilter(names: [f.name])).map(\.name) == [f.name])
        }
        #expect(sampler.metrics.collect(matching: FamilyNameFilter(names: ["process_cpu_seconds_total"])).isEmpty)
        var text: [UInt8] = []
        MetricsExposition.encode(families, as: .text, into: &text)
        var openMetrics: [UInt8] = []
        MetricsExposition.encode(families, as: .openMetrics, into: &openMetrics)
        return (String(decoding: text, as: UTF8.self), String(decoding: openMetrics, as: UTF8.self))
    }

    @Test func textAndOpenMetricsAreByteForByteTheContract() async throws {
        let (text, openMetrics) = try await exposition()
        if text != Golden.text || openMetrics != Golden.openMetrics {
            let out = "/tmp/lookout-sampler-exposition.actual"
            try? FileIO.writeAtomically(out, Array((text + "\n----\n" + openMetrics).utf8))
            Issue.record("the exposition differs from the contract; the actual one is in \(out)")
        }
        #expect(text == Golden.text)
        #expect(openMetrics == Golden.openMetrics)
    }
}
