#if canImport(Glibc)
import Glibc
#endif
import ProcFS
import TestSupport
import Testing

/// Reads through `ProcFS` on trees the tests write, as node_exporter tests do.
@Suite struct FixtureTreeTests {
    func procfs(_ fake: FakeProc) throws -> ProcFS {
        try ProcFS(root: fake.root, sysRoot: fake.sysRoot, userHZ: 100, pageSize: 4096)
    }

    @Test func rootMustBeADirectory() {
        #expect(throws: ProcFSError.self) { try ProcFS(root: "/nonexistent/proc") }
        do {
            _ = try ProcFS(root: "/nonexistent/proc")
        } catch {
            #expect(error.kind == .invalidRoot && error.path == "/nonexistent/proc")
        }
    }

    @Test func processesWithOddNamesKernelThreadsAndZombies() throws {
        let fake = FakeProc()
        var odd = FakeProc.Process(pid: 100, comm: "a b) (c")
        odd.utime = 50
        odd.stime = 7
        odd.cmdline = ["/usr/bin/odd", "--flag", "x y"]
        odd.threads = [
            .init(tid: 100, comm: "a b) (c", runNanoseconds: 5_000_000, voluntarySwitches: 3),
            .init(tid: 101, comm: "worker)", state: "D", runNanoseconds: 7_000_000, wchan: "io_schedule"),
        ]
        fake.addProcess(odd)
        var kthread = FakeProc.Process(pid: 2, comm: "kthreadd")
        kthread.flags = 0x0020_8040
        fake.addProcess(kthread)
        var zombie = FakeProc.Process(pid: 300, comm: "defunct")
        zombie.state = "Z"
        fake.addProcess(zombie)
        fake.setSelf(100)
        fake.write("version", "not a process")
        let fs = try procfs(fake)

        #expect(try fs.processIDs() == [2, 100, 300])
        #expect(fs.selfPID() == 100)
        let st = try #require(try fs.processStat(pid: 100))
        #expect(st.comm == "a b) (c" && st.utime == 50 && st.stime == 7 && st.numThreads == 2 && !st.isKernelThread)
        #expect(try fs.threadIDs(pid: 100) == [100, 101])
        #expect(try fs.threadStat(pid: 100, tid: 101)?.comm == "worker)")
        #expect(try fs.threadStat(pid: 100, tid: 101)?.state == UInt8(ascii: "D"))
        #expect(try fs.threadComm(pid: 100, tid: 101) == "worker)")
        #expect(try fs.processComm(pid: 100) == "a b) (c")
        #expect(try fs.waitChannel(pid: 100, tid: 101) == .some("io_schedule"))
        #expect(try fs.waitChannel(pid: 100, tid: 100) == .some(nil))
        #expect(try fs.threadSchedstat(pid: 100, tid: 101)?.runNanoseconds == 7_000_000)
        #expect(try fs.processSchedstat(pid: 100)?.runNanoseconds == 5_000_000)
        #expect(try fs.threadStatus(pid: 100, tid: 100)?.voluntaryContextSwitches == 3)
        #expect(try fs.processStatus(pid: 100)?.residentBytes == 100 * 4096)
        #expect(try fs.processStatm(pid: 100)?.residentPages == 100)
        #expect(try fs.openFileDescriptorCount(pid: 100) == 3)
        #expect(try fs.cmdline(pid: 100) == ["/usr/bin/odd", "--flag", "x y"])
        #expect(try fs.syscall(pid: 100, tid: 100) == .running)

        let k = try #require(try fs.processStat(pid: 2))
        #expect(k.isKernelThread)
        #expect(try fs.cmdline(pid: 2) == [])
        #expect(try fs.processStatm(pid: 2)?.residentPages == 0)
        #expect(try fs.processStatus(pid: 2)?.residentBytes == nil)
        #expect(try fs.processStat(pid: 300)?.isZombie == true)
    }

    @Test func vanishedProcessesAreNilNotErrors() throws {
        let fake = FakeProc()
        fake.addProcess(FakeProc.Process(pid: 500, comm: "short-lived"))
        let fs = try procfs(fake)
        let kept = fs.processFile(pid: 500, "schedstat")
        let buffer = ReadBuffer()
        #expect(try kept.read(buffer, Schedstat.parse) != nil)
        #expect(kept.isOpen)
        fake.removeProcess(500)
        // Listed a moment ago, gone now: every reader says "gone", none throws.
        #expect(try kept.read(buffer, Schedstat.parse) == nil)
        #expect(try fs.processStat(pid: 500) == nil)
        #expect(try fs.processStatus(pid: 500) == nil)
        #expect(try fs.processStatm(pid: 500) == nil)
        #expect(try fs.threadSchedstat(pid: 500, tid: 500) == nil)
        #expect(try fs.threadIDs(pid: 500) == nil)
        #expect(try fs.openFileDescriptorCount(pid: 500) == nil)
        #expect(try fs.cmdline(pid: 500) == nil)
        #expect(try fs.cgroups(pid: 500) == nil)
        #expect(try fs.processIDs() == [])
    }

    @Test func malformedFilesNameThePathAndQuoteTheInput() throws {
        let fake = FakeProc()
        fake.write("77/stat", "77 (broken S 1 2 3\n")
        fake.write("stat", "cpu 1 2 three 4\n")
        let fs = try procfs(fake)
        do {
            _ = try fs.processStat(pid: 77)
            Issue.record("expected an error")
        } catch {
            #expect(error.kind == .malformed)
            #expect(error.path == fake.root + "/77/stat")
            #expect(error.description == "\(fake.root)/77/stat: no ')' after the command name: \"77 (broken S 1 2 3\"")
        }
        #expect(throws: ProcFSError.self) { try fs.systemStat() }
    }

    @Test func pressureAbsentWithoutFullAndWithFull() throws {
        let fake = FakeProc()
        let fs = try procfs(fake)
        #expect(try fs.cpuPressure() == nil)
        fake.write("pressure/cpu", "some avg10=1.50 avg60=0.20 avg300=0.05 total=123456\n")
        let p = try #require(try fs.cpuPressure())
        #expect(p.some.totalMicroseconds == 123_456 && p.full == nil)
        fake.write("pressure/cpu", "some avg10=1.50 avg60=0.20 avg300=0.05 total=123456\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n")
        #expect(try fs.cpuPressure()?.full?.totalMicroseconds == 0)
    }

    @Test func systemStatWithManyCPUsOutgrowsTheBuffer() throws {
        let fake = FakeProc()
        fake.setStat((0..<512).map { n in [UInt64(n) * 1000 + 123_456_789, 1, 2, 3_000_000_000, 4, 5, 6, 7, 0, 0] })
        let fs = try procfs(fake)
        let buffer = ReadBuffer(capacity: 1024)
        let file = ProcFile(fs.path("stat"))
        let s = try #require(try file.read(buffer, SystemStat.parse))
        #expect(s.cpus.count == 512 && s.cpus[511].user == 511_000 + 123_456_789)
        #expect(buffer.capacity > 1024)
        // Rewritten in place: the kept-open file reads the new content.
        fake.setStat([[1, 2, 3, 4, 5, 6, 7, 8, 0, 0]])
        #expect(try file.read(buffer, SystemStat.parse)?.cpus.count == 1)
    }

    @Test func cgroupV1SeparateHierarchies() throws {
        let fake = FakeProc()
        fake.write("self/cgroup", "4:memory:/svc\n3:cpuacct:/svc\n2:cpu:/svc\n1:name=systemd:/svc\n0::/svc\n")
        fake.writeSys("fs/cgroup/cpuacct/cpuacct.usage", "999\n")
        fake.writeSys("fs/cgroup/cpuacct/svc/cpuacct.usage", "2500000000\n")
        fake.writeSys("fs/cgroup/cpu/cpu.stat", "nr_periods 0\nnr_throttled 0\nthrottled_time 0\n")
        fake.writeSys("fs/cgroup/cpu/svc/cpu.stat", "nr_periods 40\nnr_throttled 4\nthrottled_time 300000000\nnr_bursts 0\nburst_time 0\n")
        // A controller-less v2 tree next to it (hybrid), as on this kind of machine: v1 wins.
        fake.writeSys("fs/cgroup/unified/cgroup.controllers", "\n")
        fake.writeSys("fs/cgroup/unified/svc/cpu.stat", "usage_usec 1\n")
        let fs = try procfs(fake)
        let files = try #require(try fs.cgroupCPUFiles())
        #expect(files.layout == .v1 && files.cgroupPath == "/svc")
        #expect(files.usageFile == fake.sysRoot + "/fs/cgroup/cpuacct/svc/cpuacct.usage")
        #expect(files.throttlingFile == fake.sysRoot + "/fs/cgroup/cpu/svc/cpu.stat")
        let s = try #require(try fs.cgroupCPU(files))
        #expect(s == CgroupCPUStat(usageNanoseconds: 2_500_000_000, periods: 40, throttledPeriods: 4, throttledNanoseconds: 300_000_000))
    }

    @Test func cgroupV1CombinedMount() throws {
        let fake = FakeProc()
        fake.write("self/cgroup", "2:cpu,cpuacct:/\n")
        fake.writeSys("fs/cgroup/cpu,cpuacct/cpuacct.usage", "42\n")
        fake.writeSys("fs/cgroup/cpu,cpuacct/cpu.stat", "nr_periods 1\nnr_throttled 1\nthrottled_time 5\n")
        let fs = try procfs(fake)
        let files = try #require(try fs.cgroupCPUFiles())
        #expect(files.usageFile == fake.sysRoot + "/fs/cgroup/cpu,cpuacct/cpuacct.usage")
        #expect(try fs.cgroupCPU(files) == CgroupCPUStat(usageNanoseconds: 42, periods: 1, throttledPeriods: 1, throttledNanoseconds: 5))
    }

    @Test func cgroupV2UnifiedAndHybrid() throws {
        let fake = FakeProc()
        fake.write("self/cgroup", "0::/system.slice/api.service\n")
        fake.writeSys("fs/cgroup/cgroup.controllers", "cpuset cpu io memory pids\n")
        fake.writeSys(
            "fs/cgroup/system.slice/api.service/cpu.stat",
            "usage_usec 3000000\nuser_usec 2000000\nsystem_usec 1000000\nnr_periods 100\nnr_throttled 10\nthrottled_usec 250000\n")
        let fs = try procfs(fake)
        let files = try #require(try fs.cgroupCPUFiles())
        #expect(files.layout == .v2)
        #expect(try fs.cgroupCPU(files) == CgroupCPUStat(usageNanoseconds: 3_000_000_000, periods: 100, throttledPeriods: 10, throttledNanoseconds: 250_000_000))

        let hybrid = FakeProc()
        hybrid.write("self/cgroup", "1:name=systemd:/x\n0::/x\n")
        hybrid.writeSys("fs/cgroup/unified/cgroup.controllers", "\n")
        hybrid.writeSys("fs/cgroup/unified/x/cpu.stat", "usage_usec 7\nuser_usec 4\nsystem_usec 3\n")
        let hfs = try procfs(hybrid)
        let hfiles = try #require(try hfs.cgroupCPUFiles())
        #expect(hfiles.layout == .v2 && hfiles.usageFile == hybrid.sysRoot + "/fs/cgroup/unified/x/cpu.stat")
        #expect(try hfs.cgroupCPU(hfiles) == CgroupCPUStat(usageNanoseconds: 7000))
    }

    @Test func noCgroupMountIsNoData() throws {
        let fake = FakeProc()
        fake.write("self/cgroup", "0::/\n")
        #expect(try procfs(fake).cgroupCPUFiles() == nil)
        let noFile = FakeProc()
        #expect(try procfs(noFile).cgroupCPUFiles() == nil)
    }
}
