import LookoutCore
import ProcFS
import Sampling
import Series
import TestSupport
import Testing

typealias N = SamplerMetricNames

/// The sampler on fake /proc trees, ticked by hand on a manual clock.
@Suite struct SamplerFixtureTests {
    static let idleCPU: [UInt64] = [1000, 0, 500, 100_000, 10, 0, 5, 0, 0, 0]

    func fixture(_ body: (FakeProc) -> Void = { _ in }) -> FakeProc {
        let fake = FakeProc()
        fake.setStat([Self.idleCPU, Self.idleCPU])
        body(fake)
        return fake
    }

    @Test func hostCountersAndPerTickUtilization() async throws {
        let fake = fixture()
        let clock = ManualClock()
        let sampler = Sampler(procfs: try fakeProcFS(fake), clock: clock)
        #expect(!sampler.isReady)
        await sampler.tick()
        #expect(sampler.isReady)
        var m = sampler.metrics.collect()
        #expect(m.value(N.hostCPUSeconds, ["cpu": "1", "mode": "idle"]) == 1000)
        #expect(m.value(N.hostCPUSeconds, ["cpu": "0", "mode": "user"]) == 10)
        #expect(m.family(N.hostCPUSeconds)?.metrics.count == 16)
        #expect(m.histogram(N.hostUtilization)?.count == 0)  // one reading: no delta yet

        // One tick later: cpu0 ran 3 ticks of user and idled 2; cpu1 idled 5. Busy 3 of 10.
        clock.advance(by: period(19))
        var cpu0 = Self.idleCPU
        cpu0[0] += 3
        cpu0[3] += 2
        var cpu1 = Self.idleCPU
        cpu1[3] += 5
        fake.setStat([cpu0, cpu1])
        await sampler.tick()
        m = sampler.metrics.collect()
        let h = try #require(m.histogram(N.hostUtilization))
        #expect(h.count == 1 && abs(h.sum - 0.3) < 1e-12)
        #expect(h.buckets.first { $0.upperBound == 0.3 }?.cumulativeCount == 1)
        #expect(h.buckets.first { $0.upperBound == 0.2 }?.cumulativeCount == 0)
        #expect(m.value(N.hostUtilizationPeak) == 0.3)
        #expect(m.value(N.hostCPUSeconds, ["cpu": "0", "mode": "user"]) == 10.03)

        // A counter the kernel moves back (iowait does) is not exported as a drop.
        var back = cpu0
        back[4] -= 5
        fake.setStat([back, cpu1])
        clock.advance(by: period(19))
        await sampler.tick()
        m = sampler.metrics.collect()
        #expect(m.value(N.hostCPUSeconds, ["cpu": "0", "mode": "iowait"]) == 0.1)
        #expect(m.value(N.samplerTicks) == 3)
    }

    @Test func groupUtilizationFromSchedstatNanoseconds() async throws {
        let fake = fixture { f in
            var p = FakeProc.Process(pid: 100, comm: "api")
            p.threads = [.init(tid: 100, comm: "api", runNanoseconds: 1_000_000_000), .init(tid: 101, comm: "worker", runNanoseconds: 0)]
            f.addProcess(p)
        }
        let clock = ManualClock()
        let sampler = Sampler(groups: [.init(name: "api", selector: .pid(100))], procfs: try fakeProcFS(fake), clock: clock)
        await sampler.tick()
        // Both threads run half of the next tick: one full core in all.
        let half = UInt64(period(19).nanoseconds / 2)
        clock.advance(by: period(19))
        fake.setRun(100, tid: 100, 1_000_000_000 + half)
        fake.setRun(100, tid: 101, half)
        await sampler.tick()
        var m = sampler.metrics.collect()
        var h = try #require(m.histogram(N.processUtilization, ["group": "api"]))
        #expect(h.count == 1 && abs(h.sum - 1.0) < 1e-6)
        #expect(abs((m.value(N.processUtilizationPeak, ["group": "api"]) ?? 0) - 1.0) < 1e-6)
        // An idle tick.
        clock.advance(by: period(19))
        await sampler.tick()
        m = sampler.metrics.collect()
        h = try #require(m.histogram(N.processUtilization, ["group": "api"]))
        #expect(h.count == 2 && h.buckets[0].cumulativeCount == 1)
        #expect(m.value(N.processCount, ["group": "api"]) == 1)
        #expect(m.value(N.processThreads, ["group": "api"]) == 2)
        #expect(m.value(N.processResidentMemory, ["group": "api"]) == 409_600.0)
        #expect(m.value(N.processOpenFDs, ["group": "api"]) == 3)
    }

    @Test func countersNeverGoBackwardsWhenProcessesLeaveOrPIDsAreReused() async throws {
        let fake = fixture { f in
            var a = FakeProc.Process(pid: 200, comm: "worker-a")
            a.utime = 100
            a.stime = 20
            a.threads = [.init(tid: 200, comm: "worker-a", voluntarySwitches: 10, nonvoluntarySwitches: 1)]
            var b = FakeProc.Process(pid: 201, comm: "worker-b")
            b.utime = 50
            b.stime = 5
            b.threads = [.init(tid: 201, comm: "worker-b", voluntarySwitches: 7)]
            f.addProcess(a)
            f.addProcess(b)
            f.addProcess(FakeProc.Process(pid: 202, comm: "other"))
        }
        let clock = ManualClock()
        let logs = LogCapture()
        let sampler = Sampler(
            groups: [.init(name: "workers", selector: .comm(try AnchoredRegex("worker-.*")))], procfs: try fakeProcFS(fake), clock: clock,
            logger: logs.logger)
        await sampler.tick()
        var m = sampler.metrics.collect()
        let user: Labels = ["group": "workers", "mode": "user"]
        let system: Labels = ["group": "workers", "mode": "system"]
        let voluntary: Labels = ["group": "workers", "type": "voluntary"]
        #expect(m.value(N.processCPUSeconds, user) == 1.5)
        #expect(m.value(N.processCPUSeconds, system) == 0.25)
        #expect(m.value(N.processCount, ["group": "workers"]) == 2)
        #expect(m.value(N.processContextSwitches, voluntary) == 17)

        // worker-b exits and is reaped; worker-a keeps running.
        fake.removeProcess(201)
        var a = FakeProc.Process(pid: 200, comm: "worker-a")
        a.utime = 130
        a.stime = 20
        a.threads = [.init(tid: 200, comm: "worker-a", voluntarySwitches: 12, nonvoluntarySwitches: 1)]
        fake.addProcess(a)
        for _ in 0..<18 {
            clock.advance(by: period(19))
            await sampler.tick()
        }
        m = sampler.metrics.collect()
        #expect(m.value(N.processCPUSeconds, user) == 1.5)  // cumulative figures are read once a second
        clock.advance(by: .seconds(1) - period(19) * 18)
        await sampler.tick()
        m = sampler.metrics.collect()
        #expect(m.value(N.processCPUSeconds, user) == 1.8)  // 1.5 + 0.3, b's 0.5 kept
        #expect(m.value(N.processCount, ["group": "workers"]) == 1)
        #expect(m.value(N.processContextSwitches, voluntary) == 19)

        // worker-a exits and a new process gets its PID (a later start time): a new member,
        // whose whole CPU time is added; nothing is subtracted.
        fake.removeProcess(200)
        var reused = FakeProc.Process(pid: 200, comm: "worker-c")
        reused.startTime = 99_000
        reused.utime = 10
        fake.addProcess(reused)
        clock.advance(by: .seconds(1))
        await sampler.tick()
        m = sampler.metrics.collect()
        #expect(m.value(N.processCPUSeconds, user) == 1.9)
        #expect(m.value(N.processCount, ["group": "workers"]) == 1)
        // Processes vanishing is normal: nothing was logged as a problem.
        #expect(logs.warnings.isEmpty, "\(logs.warnings)")
    }

    @Test func selectorsKernelThreadsZombiesAndOddNames() async throws {
        let pidfileDir = TemporaryDirectory()
        let pidfile = pidfileDir.write("api.pid", "  301\n")
        let fake = fixture { f in
            var odd = FakeProc.Process(pid: 300, comm: "a b) (c")
            odd.utime = 1
            f.addProcess(odd)
            var py = FakeProc.Process(pid: 301, comm: "python3")
            py.cmdline = ["/usr/bin/python3", "-m", "gunicorn", "app:main"]
            py.cgroup = "4:memory:/x\n1:name=systemd:/system.slice/api.service\n0::/system.slice/api.service\n"
            py.utime = 2
            f.addProcess(py)
            var kthread = FakeProc.Process(pid: 2, comm: "a b) (c")  // same name as the odd one
            kthread.flags = 0x0020_8040
            kthread.utime = 4
            f.addProcess(kthread)
            var zombie = FakeProc.Process(pid: 302, comm: "python3")
            zombie.state = "Z"
            zombie.cmdline = []
            f.addProcess(zombie)
            // Listed by the scan, gone before its stat is read (exited in between).
            f.directory.mkdir("proc/999")
            f.setSelf(303)
            var me = FakeProc.Process(pid: 303, comm: "lookout")
            me.utime = 8
            f.addProcess(me)
        }
        let groups: [ProcessGroupSettings] = [
            .init(name: "odd", selector: .comm(try AnchoredRegex(#"a b\) \(c"#))),
            .init(name: "cmd", selector: .cmdline(try AnchoredRegex(".*gunicorn.*"))),
            .init(name: "cg", selector: .cgroup(try AnchoredRegex("/system.slice/api.service"))),
            .init(name: "file", selector: .pidfile(pidfile)),
            .init(name: "kernel", selector: .pid(2)),
            .init(name: "zombie", selector: .pid(302)),
            .init(name: "self", selector: .current),
            .init(name: "nobody", selector: .pidfile(pidfileDir.path + "/missing.pid")),
        ]
        let logs = LogCapture()
        let sampler = Sampler(groups: groups, procfs: try fakeProcFS(fake), clock: ManualClock(), logger: logs.logger)
        await sampler.tick()
        let m = sampler.metrics.collect()
        func count(_ g: String) -> Double? { m.value(N.processCount, ["group": g]) }
        func user(_ g: String) -> Double? { m.value(N.processCPUSeconds, ["group": g, "mode": "user"]) }
        #expect(count("odd") == 1 && user("odd") == 0.01)  // the kernel thread of the same name is not taken
        #expect(count("cmd") == 1 && user("cmd") == 0.02)  // the zombie python3 is not taken
        #expect(count("cg") == 1 && user("cg") == 0.02)
        #expect(count("file") == 1 && user("file") == 0.02)
        #expect(count("kernel") == 1 && user("kernel") == 0.04)
        #expect(m.value(N.processResidentMemory, ["group": "kernel"]) == 0)
        #expect(count("zombie") == 0)
        #expect(count("self") == 1 && user("self") == 0.08)
        #expect(count("nobody") == 0)
        // No command line ends up in a label.
        for f in m { for metric in f.metrics { for l in metric.labels { #expect(!l.value.contains("gunicorn")) } } }
        #expect(logs.warnings.isEmpty, "\(logs.warnings)")
    }

    @Test func threadCountersPerNameOnlyWhereEnabled() async throws {
        let fake = fixture { f in
            var p = FakeProc.Process(pid: 400, comm: "srv")
            p.threads = [
                .init(tid: 400, comm: "srv", runNanoseconds: 2_000_000_000),
                .init(tid: 401, comm: "worker", runNanoseconds: 500_000_000),
                .init(tid: 402, comm: "worker", runNanoseconds: 250_000_000),
            ]
            f.addProcess(p)
            var q = FakeProc.Process(pid: 500, comm: "quiet")
            q.threads = [.init(tid: 500, comm: "quiet", runNanoseconds: 7)]
            f.addProcess(q)
        }
        let clock = ManualClock()
        let sampler = Sampler(
            groups: [.init(name: "srv", selector: .pid(400), threads: true), .init(name: "quiet", selector: .pid(500))],
            procfs: try fakeProcFS(fake), clock: clock)
        await sampler.tick()
        var m = sampler.metrics.collect()
        #expect(m.value(N.threadCPUSeconds, ["group": "srv", "thread": "srv"]) == 2.0)
        #expect(m.value(N.threadCPUSeconds, ["group": "srv", "thread": "worker"]) == 0.75)
        #expect(m.family(N.threadCPUSeconds)?.metrics.count == 2)  // none for "quiet"

        // A worker exits, the other runs 0.1 s and renames itself; the counters only grow.
        fake.remove("400/task/402")
        fake.setThread(400, .init(tid: 401, comm: "renamed", runNanoseconds: 600_000_000))
        clock.advance(by: .seconds(1))
        await sampler.tick()
        m = sampler.metrics.collect()
        #expect(m.value(N.threadCPUSeconds, ["group": "srv", "thread": "worker"]) == 0.75)
        #expect(m.value(N.threadCPUSeconds, ["group": "srv", "thread": "renamed"]) == 0.1)
        #expect(m.value(N.processThreads, ["group": "srv"]) == 3)  // from /proc/400/stat, as the fixture wrote it
    }

    @Test func cpuOffReadsOnlyOnceASecondAndObservesNoUtilization() async throws {
        let fake = fixture { f in
            var p = FakeProc.Process(pid: 150, comm: "c")
            p.threads = [.init(tid: 150, comm: "c", runNanoseconds: 1_000_000_000)]
            f.addProcess(p)
        }
        var settings = SamplerSettings()
        settings.cpu = false
        let clock = ManualClock()
        let sampler = Sampler(
            settings: settings, groups: [.init(name: "c", selector: .pid(150), threads: true)], procfs: try fakeProcFS(fake), clock: clock)
        await sampler.tick()
        for i in 1...18 {
            clock.advance(by: period(19))
            fake.setRun(150, tid: 150, 1_000_000_000 + UInt64(i) * 10_000_000)
            fake.setStat([Self.idleCPU.enumerated().map { $0.offset == 0 ? $0.element + UInt64(i) : $0.element }, Self.idleCPU])
            await sampler.tick()
        }
        var m = sampler.metrics.collect()
        // Between the once-a-second reads nothing moved: schedstat and /proc/stat were not read.
        #expect(m.value(N.threadCPUSeconds, ["group": "c", "thread": "c"]) == 1.0)
        #expect(m.value(N.hostCPUSeconds, ["cpu": "0", "mode": "user"]) == 10)
        clock.advance(by: .seconds(1) - period(19) * 18)
        await sampler.tick()
        m = sampler.metrics.collect()
        #expect(m.value(N.threadCPUSeconds, ["group": "c", "thread": "c"]) == 1.18)
        #expect(m.value(N.hostCPUSeconds, ["cpu": "0", "mode": "user"]) == 10.18)
        #expect(m.histogram(N.processUtilization, ["group": "c"])?.count == 0)
        #expect(m.histogram(N.hostUtilization)?.count == 0)
        #expect(m.value(N.samplerEnabled, ["profile": "cpu"]) == 0)
        #expect(m.value(N.samplerTicks) == 20)
    }

    @Test func reportersGetSamplesOnlyWhileTheyAsk() async throws {
        let fake = fixture { f in
            var p = FakeProc.Process(pid: 600, comm: "app")
            p.threads = [.init(tid: 600, comm: "app", runNanoseconds: 0, wchan: "ep_poll"), .init(tid: 601, comm: "idle", runNanoseconds: 5)]
            f.addProcess(p)
        }
        let clock = ManualClock()
        let reporter = RecordingReporter()
        let sampler = Sampler(groups: [.init(name: "app", selector: .pid(600))], procfs: try fakeProcFS(fake), clock: clock, reporters: [reporter])
        await sampler.tick()
        clock.advance(by: period(19))
        fake.setRun(600, tid: 600, 10_000_000)
        await sampler.tick()
        #expect(reporter.ticks.isEmpty)  // idle reporter: nothing built, nothing sent

        reporter.setDemand([.waitChannel])
        clock.advance(by: period(19))
        fake.setRun(600, tid: 600, 30_000_000)
        await sampler.tick()
        let tick = try #require(reporter.ticks.last)
        #expect(tick.interval == period(19) && tick.frequency == 19)
        #expect(tick.samples == [
            ThreadSample(kind: .cpu, pid: 600, tid: 600, group: "app", thread: "app", nanoseconds: 20_000_000, waitChannel: "ep_poll")
        ])

        reporter.setDemand([.kernelStack])
        fake.write("600/task/600/stack", "[<0>] ep_poll+0x2c/0x3c0\n[<0>] do_epoll_wait+0xb8/0xd0\n")
        clock.advance(by: period(19))
        fake.setRun(600, tid: 600, 31_000_000)
        await sampler.tick()
        #expect(reporter.ticks.last?.samples.first?.kernelStack == ["ep_poll", "do_epoll_wait"])
    }

    @Test func blockAndMutexSampling() async throws {
        let fake = fixture { f in
            var p = FakeProc.Process(pid: 700, comm: "db")
            p.threads = [
                .init(tid: 700, comm: "db", state: "D", wchan: "io_schedule"),
                .init(tid: 701, comm: "flusher", state: "D", wchan: "io_schedule"),
                .init(tid: 702, comm: "locker", state: "S", wchan: "futex_wait_queue", syscall: futexWaitSyscall),
                .init(tid: 703, comm: "reader", state: "S", wchan: "do_sys_poll", syscall: "7 0x7ffd 0x1 0x3e8 0x0 0x0 0x0 0x7ffd 0x7f00"),
            ]
            f.addProcess(p)
        }
        var settings = SamplerSettings()
        settings.block = true
        settings.mutex = true
        let clock = ManualClock()
        let reporter = RecordingReporter(demand: [])
        let sampler = Sampler(
            settings: settings, groups: [.init(name: "db", selector: .pid(700))], procfs: try fakeProcFS(fake), clock: clock,
            reporters: [reporter])
        for _ in 0..<20 {
            await sampler.tick()
            clock.advance(by: period(19))
        }
        let m = sampler.metrics.collect()
        #expect(m.value(N.processBlockedSamples, ["group": "db", "wchan": "io_schedule"]) == 40)
        #expect(m.value(N.processMutexWaitSamples, ["group": "db"]) == 20)
        #expect(m.value(N.samplerEnabled, ["profile": "block"]) == 1)
        #expect(m.value(N.samplerEnabled, ["profile": "mutex"]) == 1)
        let last = try #require(reporter.ticks.last)
        #expect(last.samples.filter { $0.kind == .blocked }.map(\.tid).sorted() == [700, 701])
        #expect(last.samples.filter { $0.kind == .blocked }.allSatisfy { $0.waitChannel == "io_schedule" && $0.nanoseconds == UInt64(period(19).nanoseconds) })
        #expect(last.samples.filter { $0.kind == .mutexWait }.map(\.thread) == ["locker"])
    }

    @Test func blockAndMutexOffCostNoReads() async throws {
        // wchan and syscall are directories here: reading them would fail and be logged.
        let fake = fixture { f in
            var p = FakeProc.Process(pid: 800, comm: "svc")
            p.threads = [.init(tid: 800, comm: "svc", state: "D"), .init(tid: 801, comm: "w", state: "S")]
            f.addProcess(p)
            for tid in [800, 801] {
                f.remove("800/task/\(tid)/wchan")
                f.remove("800/task/\(tid)/syscall")
                f.directory.mkdir("proc/800/task/\(tid)/wchan")
                f.directory.mkdir("proc/800/task/\(tid)/syscall")
            }
        }
        let clock = ManualClock()
        let logs = LogCapture()
        let sampler = Sampler(groups: [.init(name: "svc", selector: .pid(800))], procfs: try fakeProcFS(fake), clock: clock, logger: logs.logger)
        for _ in 0..<25 {
            await sampler.tick()
            clock.advance(by: period(19))
        }
        let m = sampler.metrics.collect()
        #expect(logs.warnings.isEmpty, "\(logs.warnings)")
        #expect(m.family(N.processBlockedSamples) == nil && m.family(N.processMutexWaitSamples) == nil)
        #expect(m.value(N.samplerEnabled, ["profile": "block"]) == 0 && m.value(N.samplerEnabled, ["profile": "mutex"]) == 0)
        #expect(m.value(N.samplerEnabled, ["profile": "cpu"]) == 1)
        // Kept open: the threads' schedstat (every tick), the process' stat and statm (every
        // second); no task stat (block and mutex sampling read it every tick).
        let kept = openFiles(containing: fake.root + "/800/")
        #expect(
            kept.sorted() == ["/800/stat", "/800/statm", "/800/task/800/schedstat", "/800/task/801/schedstat"].map { fake.root + $0 })

        // The same tree with block sampling on does read them (the check above is not vacuous).
        var on = SamplerSettings()
        on.block = true
        on.mutex = true
        sampler.update(settings: on, groups: [.init(name: "svc", selector: .pid(800))])
        await sampler.tick()
        #expect(!logs.warnings.isEmpty)
    }

    @Test func reloadKeepsCountersOfGroupsThatStillExist() async throws {
        let fake = fixture { f in
            var a = FakeProc.Process(pid: 900, comm: "a")
            a.utime = 300
            f.addProcess(a)
            var b = FakeProc.Process(pid: 901, comm: "b")
            b.utime = 100
            f.addProcess(b)
        }
        let clock = ManualClock()
        let sampler = Sampler(
            groups: [.init(name: "one", selector: .pid(900)), .init(name: "two", selector: .pid(901))], procfs: try fakeProcFS(fake),
            clock: clock)
        await sampler.tick()
        clock.advance(by: period(19))
        fake.setRun(900, tid: 900, 40_000_000)
        await sampler.tick()
        var m = sampler.metrics.collect()
        #expect(m.histogram(N.processUtilization, ["group": "one"])?.count == 1)

        // "one" now selects process 901 (whose CPU time is added); "two" goes; "three" comes.
        var settings = SamplerSettings()
        settings.frequency = 97
        settings.peakWindow = .seconds(30)
        sampler.update(
            settings: settings,
            groups: [.init(name: "one", selector: .comm(try AnchoredRegex("a|b"))), .init(name: "three", selector: .pid(901))])
        clock.advance(by: period(19))
        await sampler.tick()
        m = sampler.metrics.collect()
        #expect(m.value(N.processCPUSeconds, ["group": "one", "mode": "user"]) == 4.0)
        #expect(m.value(N.processCount, ["group": "one"]) == 2)
        // Kept: the 40 ms tick and now an idle one (901 joined and has no delta yet).
        let kept = try #require(m.histogram(N.processUtilization, ["group": "one"]))
        #expect(kept.count == 2 && abs(kept.sum - Double(40_000_000) / Double(period(19).nanoseconds)) < 1e-9)
        #expect(m.value(N.processCPUSeconds, ["group": "three", "mode": "user"]) == 1.0)
        #expect(m.value(N.processCount, ["group": "two"]) == nil)
        #expect(m.value(N.samplerFrequency) == 97)
        #expect(m.value(N.samplerTicks) == 3)
    }

    @Test func pressureAndCgroup() async throws {
        let fake = fixture { f in
            f.setSelf(1)
            f.addProcess(FakeProc.Process(pid: 1, comm: "lookout"))
            f.write("1/cgroup", "0::/lookout\n")
            f.writeSys("fs/cgroup/cgroup.controllers", "cpu\n")
            f.writeSys("fs/cgroup/lookout/cpu.stat", "usage_usec 2500000\nnr_periods 20\nnr_throttled 5\nthrottled_usec 750000\n")
        }
        let clock = ManualClock()
        let sampler = Sampler(procfs: try fakeProcFS(fake), clock: clock)
        await sampler.tick()
        var m = sampler.metrics.collect()
        #expect(m.family(N.hostPressureWaiting) == nil)  // no PSI: no series, no error
        #expect(m.value(N.cgroupUsage) == 2.5)
        #expect(m.value(N.cgroupPeriods) == 20 && m.value(N.cgroupThrottledPeriods) == 5)
        #expect(m.value(N.cgroupThrottledSeconds) == 0.75)

        fake.write("pressure/cpu", "some avg10=0.00 avg60=0.00 avg300=0.00 total=1500000\n")
        fake.writeSys("fs/cgroup/lookout/cpu.stat", "usage_usec 3000000\nnr_periods 22\nnr_throttled 5\nthrottled_usec 750000\n")
        clock.advance(by: .seconds(1))
        await sampler.tick()
        m = sampler.metrics.collect()
        #expect(m.value(N.hostPressureWaiting) == 1.5)
        #expect(m.value(N.cgroupUsage) == 3.0 && m.value(N.cgroupPeriods) == 22)
    }

    @Test func historyHasOnePointPerSecond() async throws {
        let fake = fixture { f in f.addProcess(FakeProc.Process(pid: 50, comm: "h")) }
        let clock = ManualClock(now: MonotonicInstant(nanoseconds: 100_000_000_000))
        let sampler = Sampler(groups: [.init(name: "h", selector: .pid(50))], procfs: try fakeProcFS(fake), clock: clock, historyCapacity: 10)
        #expect(sampler.history().end == nil)
        var run: UInt64 = 0
        var cpu0 = Self.idleCPU
        var cpu1 = Self.idleCPU
        // 20 ticks a second. The interval ending at tick j counts in tick j's second:
        // second 100 at 25% of a core, second 101 at 50%, second 102 idle.
        for i in 0..<60 {
            await sampler.tick()
            clock.advance(by: .milliseconds(50))
            let next = (i + 1) / 20
            run += UInt64(50_000_000 * (next == 0 ? 0.25 : next == 1 ? 0.5 : 0))
            fake.setRun(50, tid: 50, run)
            cpu0[0] += 1
            cpu0[3] += 4
            cpu1[3] += 5
            fake.setStat([cpu0, cpu1])
        }
        let h = sampler.history()
        #expect(h.resolution == .seconds(1) && h.host.mean.count == 10 && h.groups.count == 1 && h.groups[0].group == "h")
        let g = h.groups[0].mean
        #expect(g[6] == nil)
        #expect(abs((g[7] ?? 0) - 0.25) < 1e-9)  // the first tick has no delta; the other 19 are 0.25
        #expect(abs((g[8] ?? 0) - 0.5) < 1e-9 && abs((h.groups[0].peak[8] ?? 0) - 0.5) < 1e-9)
        #expect(g[9] == 0)
        #expect(h.host.mean[7...9].allSatisfy { abs(($0 ?? 0) - 0.1) < 1e-9 })
        #expect(h.end == clock.wallNow)
    }

    @Test func everySeriesHasTheContractNameTypeAndHelp() async throws {
        let fake = fixture { f in
            f.setSelf(10)
            f.addProcess(FakeProc.Process(pid: 10, comm: "lookout"))
            f.write("pressure/cpu", "some avg10=0.00 avg60=0.00 avg300=0.00 total=1\n")
            f.write("10/cgroup", "2:cpu,cpuacct:/\n")
            f.writeSys("fs/cgroup/cpu,cpuacct/cpuacct.usage", "5\n")
            f.writeSys("fs/cgroup/cpu,cpuacct/cpu.stat", "nr_periods 0\nnr_throttled 0\nthrottled_time 0\n")
            var p = FakeProc.Process(pid: 11, comm: "api")
            p.threads = [.init(tid: 11, comm: "api", state: "D", wchan: "io_schedule")]
            f.addProcess(p)
        }
        var settings = SamplerSettings()
        settings.block = true
        settings.mutex = true
        let clock = ManualClock()
        let sampler = Sampler(
            settings: settings, groups: [.init(name: "lookout", selector: .current, threads: true), .init(name: "api", selector: .pid(11))],
            procfs: try fakeProcFS(fake), clock: clock)
        await sampler.tick()
        clock.advance(by: period(19))
        await sampler.tick()
        let m = sampler.metrics.collect()
        let expected: [(String, MetricType, Set<String>)] = [
            (N.hostCPUSeconds, .counter, ["cpu", "mode"]), (N.hostUtilization, .histogram, []),
            (N.hostUtilizationPeak, .gauge, []), (N.hostPressureWaiting, .counter, []), (N.cgroupUsage, .counter, []),
            (N.cgroupThrottledSeconds, .counter, []), (N.cgroupThrottledPeriods, .counter, []), (N.cgroupPeriods, .counter, []),
            (N.processCPUSeconds, .counter, ["group", "mode"]), (N.processUtilization, .histogram, ["group"]),
            (N.processUtilizationPeak, .gauge, ["group"]), (N.processCount, .gauge, ["group"]), (N.processThreads, .gauge, ["group"]),
            (N.processResidentMemory, .gauge, ["group"]), (N.processOpenFDs, .gauge, ["group"]),
            (N.processContextSwitches, .counter, ["group", "type"]), (N.threadCPUSeconds, .counter, ["group", "thread"]),
            (N.processBlockedSamples, .counter, ["group", "wchan"]), (N.processMutexWaitSamples, .counter, ["group"]),
            (N.samplerFrequency, .gauge, []), (N.samplerEnabled, .gauge, ["profile"]), (N.samplerTicks, .counter, []),
            (N.samplerMissedTicks, .counter, []), (N.samplerTickDuration, .histogram, []),
        ]
        #expect(Set(m.map(\.name)) == Set(expected.map(\.0)))
        #expect(m.count == expected.count)
        for (name, type, labels) in expected {
            let f = try #require(m.family(name), "\(name)")
            #expect(f.type == type, "\(name)")
            #expect(!f.help.isEmpty, "\(name)")
            #expect(!f.metrics.isEmpty, "\(name)")
            for metric in f.metrics { #expect(Set(metric.labels.map(\.name)) == labels, "\(name) \(metric.labels)") }
            if type == .counter { #expect(name.hasSuffix("_total")) }
        }
        #expect(Set(m.family(N.processContextSwitches)!.metrics.compactMap { $0.labels["type"] }) == ["voluntary", "nonvoluntary"])
        #expect(Set(m.family(N.processCPUSeconds)!.metrics.compactMap { $0.labels["mode"] }) == ["user", "system"])
        #expect(Set(m.family(N.samplerEnabled)!.metrics.compactMap { $0.labels["profile"] }) == ["cpu", "block", "mutex"])
        #expect(Set(m.family(N.hostCPUSeconds)!.metrics.compactMap { $0.labels["mode"] }) == Set(CPUTimes.modes))
    }
}
