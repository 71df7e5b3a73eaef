import LookoutCore
import ProcFS
import Sampling
import Series
import TestSupport
import Testing

/// /proc trees the kernel's own layout does not promise: a snapshot or an emulated /proc
/// without `task/`, a kernel without `schedstat`, padded `status` names. The counters stay
/// the kernel's figure; nothing is added twice.
@Suite struct ProcFallbackTests {
    static let idle: [UInt64] = [1000, 0, 500, 100_000, 10, 0, 5, 0, 0, 0]

    /// Ticks at 19 Hz for `seconds` seconds on the manual clock, checking `each` after every
    /// whole second.
    func run(_ sampler: Sampler, _ clock: ManualClock, seconds: Int, each: ([MetricFamily]) -> Void) async {
        for _ in 0..<seconds {
            for _ in 0..<19 {
                clock.advance(by: period(19))
                await sampler.tick()
            }
            clock.advance(by: .seconds(1) - period(19) * 19)
            await sampler.tick()
            each(sampler.metrics.collect())
        }
    }

    func snapshot(_ body: (FakeProc) -> Void) -> FakeProc {
        let fake = FakeProc()
        fake.setStat([Self.idle, Self.idle])
        body(fake)
        return fake
    }

    @Test func aProcessWithoutTaskFolderIsOneProcessWithOneThreadAndTheKernelsCPU() async throws {
        let fake = snapshot { f in
            var p = FakeProc.Process(pid: 300, comm: "java")
            p.utime = 58_100
            p.stime = 1_900
            p.threads = [
                .init(tid: 300, comm: "java", runNanoseconds: 9_000_000_000), .init(tid: 301, comm: "GC", runNanoseconds: 1_000_000_000),
            ]
            f.addProcess(p)
            Shell.removeTree(f.root + "/300/task")
        }
        let clock = ManualClock()
        let logs = LogCapture()
        let sampler = Sampler(
            groups: [.init(name: "jvm", selector: .pid(300), threads: true)], procfs: try fakeProcFS(fake), clock: clock,
            logger: logs.logger)
        await sampler.tick()
        let group: Labels = ["group": "jvm"]
        var m = sampler.metrics.collect()
        #expect(m.value(N.processCPUSeconds, group.setting("mode", "user")) == 581)
        #expect(m.value(N.processCPUSeconds, group.setting("mode", "system")) == 19)
        #expect(m.value(N.processes, group) == 1)
        // The process' own stat counts every thread: that is the one thread's figure.
        #expect(m.value(N.threadCPUSeconds, group.setting("thread", "java")) == 600)
        var seconds = 0
        await run(sampler, clock, seconds: 10) { m in
            seconds += 1
            #expect(m.value(N.processCPUSeconds, group.setting("mode", "user")) == 581, "after \(seconds) s")
            #expect(m.value(N.processCPUSeconds, group.setting("mode", "system")) == 19, "after \(seconds) s")
            #expect(m.value(N.processes, group) == 1, "after \(seconds) s")
            #expect(m.value(N.threadCPUSeconds, group.setting("thread", "java")) == 600, "after \(seconds) s")
        }
        #expect(seconds == 10)
        m = sampler.metrics.collect()
        // Nothing ran: every tick's utilization was 0.
        let h = try #require(m.histogram(N.processUtilization, group))
        #expect(h.count >= 190 && h.sum == 0)
        #expect(logs.warnings.isEmpty, "\(logs.warnings)")

        // It runs 0.05 s in one tick: the per-tick figure comes from the process' stat too.
        fake.write(
            "300/stat",
            fake.statLine(
                300, comm: "java", state: "S", ppid: 1, flags: 0x0040_0100, utime: 58_105, stime: 1_900, threads: 2, startTime: 1000,
                rssPages: 100))
        clock.advance(by: period(19))
        await sampler.tick()
        m = sampler.metrics.collect()
        let after = try #require(m.histogram(N.processUtilization, group))
        #expect(abs(after.sum - 0.05 / period(19).seconds) < 1e-9)
    }

    @Test func threadsWithoutSchedstatFallBackToStat() async throws {
        let fake = snapshot { f in
            var p = FakeProc.Process(pid: 310, comm: "svc")
            p.utime = 700
            p.stime = 300
            p.threads = [
                .init(tid: 310, comm: "svc", utime: 400, stime: 100), .init(tid: 311, comm: "worker", utime: 200, stime: 200),
            ]
            f.addProcess(p)
            f.remove("310/schedstat")
            f.remove("310/task/310/schedstat")
            f.remove("310/task/311/schedstat")
        }
        let clock = ManualClock()
        let logs = LogCapture()
        let sampler = Sampler(
            groups: [.init(name: "svc", selector: .pid(310), threads: true)], procfs: try fakeProcFS(fake), clock: clock,
            logger: logs.logger)
        await sampler.tick()
        let group: Labels = ["group": "svc"]
        var seconds = 0
        await run(sampler, clock, seconds: 10) { m in
            seconds += 1
            #expect(m.value(N.processCPUSeconds, group.setting("mode", "user")) == 7, "after \(seconds) s")
            #expect(m.value(N.processCPUSeconds, group.setting("mode", "system")) == 3, "after \(seconds) s")
            #expect(m.value(N.processes, group) == 1, "after \(seconds) s")
            #expect(m.value(N.processThreads, group) == 2, "after \(seconds) s")
            #expect(m.value(N.threadCPUSeconds, group.setting("thread", "svc")) == 5, "after \(seconds) s")
            #expect(m.value(N.threadCPUSeconds, group.setting("thread", "worker")) == 4, "after \(seconds) s")
        }
        #expect(seconds == 10)

        // The worker runs 3 ticks of USER_HZ during one sample tick.
        fake.setThread(310, .init(tid: 311, comm: "worker", utime: 203, stime: 200), threadsInProcess: 2)
        fake.remove("310/task/311/schedstat")
        clock.advance(by: period(19))
        await sampler.tick()
        let m = sampler.metrics.collect()
        let h = try #require(m.histogram(N.processUtilization, group))
        #expect(abs(h.sum - 0.03 / period(19).seconds) < 1e-9)
        #expect(m.value(N.threadCPUSeconds, group.setting("thread", "worker")) == 4.03)
        #expect(logs.warnings.isEmpty, "\(logs.warnings)")
    }

    /// Threads whose files read empty are taken for gone, and so is their process; the
    /// selection finds it again every second (same PID, same start time): it comes back
    /// with its counters' last readings, and its lifetime CPU is not added again.
    @Test func aKnownProcessFoundAgainIsNotAddedAgain() async throws {
        let fake = snapshot { f in
            var p = FakeProc.Process(pid: 330, comm: "odd")
            p.utime = 500
            p.stime = 100
            f.addProcess(p)
            f.write("330/task/330/schedstat", "")
            f.write("330/task/330/stat", "")
        }
        let clock = ManualClock()
        let sampler = Sampler(groups: [.init(name: "odd", selector: .pid(330))], procfs: try fakeProcFS(fake), clock: clock)
        await sampler.tick()
        let user: Labels = ["group": "odd", "mode": "user"]
        #expect(sampler.metrics.collect().value(N.processCPUSeconds, user) == 5)
        var seconds = 0
        await run(sampler, clock, seconds: 10) { m in
            seconds += 1
            #expect(m.value(N.processCPUSeconds, user) == 5, "after \(seconds) s")
            #expect(m.value(N.processCPUSeconds, ["group": "odd", "mode": "system"]) == 1, "after \(seconds) s")
        }
        #expect(seconds == 10)
    }

    @Test func anEmptyTaskFolderIsLikeNone() async throws {
        let fake = snapshot { f in
            var p = FakeProc.Process(pid: 340, comm: "empty")
            p.utime = 70
            p.stime = 30
            f.addProcess(p)
            Shell.removeTree(f.root + "/340/task")
            f.directory.mkdir("proc/340/task")
        }
        let clock = ManualClock()
        let sampler = Sampler(
            groups: [.init(name: "e", selector: .pid(340), threads: true)], procfs: try fakeProcFS(fake), clock: clock)
        await sampler.tick()
        await run(sampler, clock, seconds: 2) { m in
            #expect(m.value(N.processes, ["group": "e"]) == 1)
            #expect(m.value(N.processCPUSeconds, ["group": "e", "mode": "user"]) == 0.7)
            #expect(m.value(N.threadCPUSeconds, ["group": "e", "thread": "empty"]) == 1)
        }
    }

    @Test func aStatusNamePaddedWithSpacesIsTrimmedInTheThreadLabel() async throws {
        let fake = snapshot { f in
            var p = FakeProc.Process(pid: 320, comm: "app")
            p.threads = [.init(tid: 320, comm: "app", runNanoseconds: 1_000_000_000)]
            f.addProcess(p)
            f.write(
                "320/task/320/status",
                "Name:   app    \nState:\tS (sleeping)\nTgid:\t320\nPid:\t320\nThreads:\t1\nvoluntary_ctxt_switches:\t1\nnonvoluntary_ctxt_switches:\t0\n")
        }
        let sampler = Sampler(
            groups: [.init(name: "app", selector: .pid(320), threads: true)], procfs: try fakeProcFS(fake), clock: ManualClock())
        await sampler.tick()
        let m = sampler.metrics.collect()
        #expect(m.value(N.threadCPUSeconds, ["group": "app", "thread": "app"]) == 1)
        #expect(m.family(N.threadCPUSeconds)?.metrics.map { $0.labels["thread"] } == ["app"])
    }

    @Test func cgroupLimitAndWeightAreExportedAndTheLimitIsAbsentWhenUnlimited() async throws {
        let fake = snapshot { f in
            f.setSelf(1)
            var me = FakeProc.Process(pid: 1, comm: "lookout")
            me.cgroup = "2:cpu,cpuacct:/pod\n"
            f.addProcess(me)
            f.write("1/mountinfo", "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n")
            f.writeSys("fs/cgroup/cpu,cpuacct/pod/cpuacct.usage", "5\n")
            f.writeSys("fs/cgroup/cpu,cpuacct/pod/cpu.stat", "nr_periods 0\nnr_throttled 0\nthrottled_time 0\n")
            f.writeSys("fs/cgroup/cpu,cpuacct/pod/cpu.cfs_quota_us", "150000\n")
            f.writeSys("fs/cgroup/cpu,cpuacct/pod/cpu.cfs_period_us", "100000\n")
            f.writeSys("fs/cgroup/cpu,cpuacct/pod/cpu.shares", "2048\n")
        }
        let clock = ManualClock()
        let sampler = Sampler(procfs: try fakeProcFS(fake), clock: clock)
        await sampler.tick()
        var m = sampler.metrics.collect()
        #expect(m.value(N.cgroupLimitCores) == 1.5)
        #expect(m.value(N.cgroupWeight) == 2048)
        #expect(m.family(N.cgroupLimitCores)?.type == .gauge && m.family(N.cgroupWeight)?.type == .gauge)
        #expect(sampler.metrics.cgroupLimit == CgroupCPULimit(cores: 1.5, weight: 2048))

        fake.writeSys("fs/cgroup/cpu,cpuacct/pod/cpu.cfs_quota_us", "-1\n")
        clock.advance(by: .seconds(1))
        await sampler.tick()
        m = sampler.metrics.collect()
        #expect(m.family(N.cgroupLimitCores) == nil)
        #expect(m.value(N.cgroupWeight) == 2048)
    }
}
