import ProcFS
import TestSupport
import Testing

/// Parsers of the cgroup limit files, /proc/PID/mountinfo, and `status` names with padding.
@Suite struct CgroupLimitParserTests {
    private func parse<T>(_ text: String, _ parser: (UnsafeRawBufferPointer) throws(ProcFSError) -> T) throws(ProcFSError) -> T {
        try withBytes(Array(text.utf8), parser)
    }

    @Test func cpuMaxAndV1Quota() throws {
        #expect(try parse("150000 100000\n", CgroupCPULimit.parseV2Max) == 1.5)
        #expect(try parse("max 100000\n", CgroupCPULimit.parseV2Max) == nil)
        #expect(throws: ProcFSError.self) { try parse("lots 100000\n", CgroupCPULimit.parseV2Max) }
        #expect(throws: ProcFSError.self) { try parse("50000 0\n", CgroupCPULimit.parseV2Max) }
        #expect(try parse("-1\n", CgroupCPULimit.parseInteger) == -1)
        #expect(try parse("250000\n", CgroupCPULimit.parseInteger) == 250_000)
        #expect(try parse("1024\n", CgroupCPULimit.parseUnsigned) == 1024)
        #expect(CgroupCPULimit.coresV1(quota: -1, period: 100_000) == nil)
        #expect(CgroupCPULimit.coresV1(quota: 50_000, period: 100_000) == 0.5)
    }

    @Test func mountinfoCgroupMounts() throws {
        let text = """
            22 1 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
            31 22 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
            32 31 0:29 /docker/abc /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct
            40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
            41 31 0:38 / /sys/fs/cgroup/unified\\040tree rw,relatime - cgroup2 cgroup2 rw,nsdelegate

            """
        let mounts = try parse(text, CgroupMount.parseMountinfo)
        #expect(mounts.count == 3)
        #expect(mounts[0] == CgroupMount(root: "/docker/abc", mountPoint: "/sys/fs/cgroup/cpu,cpuacct", isUnified: false, controllers: ["cpu", "cpuacct"]))
        #expect(mounts[1].controllers == ["xattr", "name=systemd"])
        #expect(mounts[2].isUnified && mounts[2].mountPoint == "/sys/fs/cgroup/unified tree")
        #expect(throws: ProcFSError.self) { try parse("1 2 3\n", CgroupMount.parseMountinfo) }
    }

    @Test func pathsMapOnlyBelowTheMountRoot() {
        let host = CgroupMount(root: "/", mountPoint: "/sys/fs/cgroup/cpu", isUnified: false, controllers: ["cpu"])
        #expect(host.directory(of: "/") == "/sys/fs/cgroup/cpu")
        #expect(host.directory(of: "/svc/a") == "/sys/fs/cgroup/cpu/svc/a")
        let container = CgroupMount(root: "/docker/abc", mountPoint: "/sys/fs/cgroup/cpu", isUnified: false, controllers: ["cpu"])
        #expect(container.directory(of: "/docker/abc") == "/sys/fs/cgroup/cpu")
        #expect(container.directory(of: "/docker/abc/child") == "/sys/fs/cgroup/cpu/child")
        #expect(container.directory(of: "/docker/abcdef") == nil)
        #expect(container.directory(of: "/other") == nil)
        #expect(container.directory(of: "/") == nil)
    }

    @Test func statusNamePaddedWithSpacesLosesThePadding() throws {
        #expect(try parse("Name:   worker  \nThreads:\t1\n", ProcessStatus.parse).name == "worker")
        #expect(try parse("Name:\t \tpool 1\t\nThreads:\t1\n", ProcessStatus.parse).name == "pool 1")
        #expect(try parse("Name:\tx\n", ProcessStatus.parse).name == "x")
    }

    @Test func cpuTicksOfStat() throws {
        let line = FakeProc().statLine(
            7, comm: "a) b", state: "S", ppid: 1, flags: 0, utime: 123, stime: 45, threads: 1, startTime: 9, rssPages: 1)
        #expect(try parse(line, ProcessStat.parseCPUTicks) == 168)
        #expect(throws: ProcFSError.self) { try parse("7 (x) S 1 2 3\n", ProcessStat.parseCPUTicks) }
    }
}

/// Limits and weights on v1, v2 and hybrid trees, the layouts automaxprocs tests: the
/// cgroup found through /proc/self/mountinfo, including a container whose mount shows its
/// own cgroup as the root.
@Suite struct CgroupLimitTreeTests {
    func procfs(_ fake: FakeProc) throws -> ProcFS {
        try ProcFS(root: fake.root, sysRoot: fake.sysRoot, userHZ: 100, pageSize: 4096)
    }

    @Test func v1SeparateHierarchiesWithQuotaAndShares() throws {
        let fake = FakeProc()
        fake.write("self/cgroup", "4:memory:/svc\n3:cpuacct:/svc\n2:cpu:/svc\n1:name=systemd:/svc\n0::/svc\n")
        fake.write(
            "self/mountinfo",
            """
            32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
            33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
            41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw

            """)
        fake.writeSys("fs/cgroup/cpuacct/svc/cpuacct.usage", "2500000000\n")
        fake.writeSys("fs/cgroup/cpu/svc/cpu.stat", "nr_periods 40\nnr_throttled 4\nthrottled_time 300000000\n")
        fake.writeSys("fs/cgroup/cpu/svc/cpu.cfs_quota_us", "250000\n")
        fake.writeSys("fs/cgroup/cpu/svc/cpu.cfs_period_us", "100000\n")
        fake.writeSys("fs/cgroup/cpu/svc/cpu.shares", "512\n")
        fake.writeSys("fs/cgroup/unified/cgroup.controllers", "\n")
        fake.writeSys("fs/cgroup/unified/svc/cpu.stat", "usage_usec 1\n")
        let fs = try procfs(fake)
        let files = try #require(try fs.cgroupCPUFiles())
        #expect(files.layout == .v1 && files.cpuDirectory == fake.sysRoot + "/fs/cgroup/cpu/svc")
        #expect(files.usageFile == fake.sysRoot + "/fs/cgroup/cpuacct/svc/cpuacct.usage")
        #expect(try fs.cgroupCPULimit(files) == CgroupCPULimit(cores: 2.5, weight: 512))

        // Unlimited: no cores, the weight stays.
        fake.writeSys("fs/cgroup/cpu/svc/cpu.cfs_quota_us", "-1\n")
        #expect(try fs.cgroupCPULimit(files) == CgroupCPULimit(cores: nil, weight: 512))
    }

    @Test func v1ContainerWhoseMountShowsItsOwnCgroup() throws {
        let fake = FakeProc()
        fake.write("self/cgroup", "2:cpu,cpuacct:/docker/abc123\n")
        fake.write("self/mountinfo", "32 31 0:29 /docker/abc123 /sys/fs/cgroup/cpu,cpuacct ro,relatime - cgroup cgroup rw,cpu,cpuacct\n")
        fake.writeSys("fs/cgroup/cpu,cpuacct/cpuacct.usage", "42\n")
        fake.writeSys("fs/cgroup/cpu,cpuacct/cpu.stat", "nr_periods 1\nnr_throttled 1\nthrottled_time 5\n")
        fake.writeSys("fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "50000\n")
        fake.writeSys("fs/cgroup/cpu,cpuacct/cpu.cfs_period_us", "100000\n")
        fake.writeSys("fs/cgroup/cpu,cpuacct/cpu.shares", "1024\n")
        let fs = try procfs(fake)
        let files = try #require(try fs.cgroupCPUFiles())
        #expect(files.usageFile == fake.sysRoot + "/fs/cgroup/cpu,cpuacct/cpuacct.usage")
        #expect(try fs.cgroupCPU(files) == CgroupCPUStat(usageNanoseconds: 42, periods: 1, throttledPeriods: 1, throttledNanoseconds: 5))
        #expect(try fs.cgroupCPULimit(files) == CgroupCPULimit(cores: 0.5, weight: 1024))
    }

    @Test func v2UnifiedWithMaxAndWeight() throws {
        let fake = FakeProc()
        fake.write("self/cgroup", "0::/system.slice/api.service\n")
        fake.write("self/mountinfo", "29 22 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n")
        fake.writeSys("fs/cgroup/cgroup.controllers", "cpuset cpu io memory pids\n")
        let dir = "fs/cgroup/system.slice/api.service/"
        fake.writeSys(dir + "cpu.stat", "usage_usec 3000000\nnr_periods 100\nnr_throttled 10\nthrottled_usec 250000\n")
        fake.writeSys(dir + "cpu.max", "75000 100000\n")
        fake.writeSys(dir + "cpu.weight", "200\n")
        let fs = try procfs(fake)
        let files = try #require(try fs.cgroupCPUFiles())
        #expect(files.layout == .v2)
        #expect(try fs.cgroupCPULimit(files) == CgroupCPULimit(cores: 0.75, weight: 200))
        fake.writeSys(dir + "cpu.max", "max 100000\n")
        #expect(try fs.cgroupCPULimit(files) == CgroupCPULimit(cores: nil, weight: 200))
    }

    @Test func hybridWithoutV1CPUControllerUsesUnified() throws {
        let fake = FakeProc()
        fake.write("self/cgroup", "1:name=systemd:/x\n0::/x\n")
        fake.write(
            "self/mountinfo",
            """
            40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
            41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw

            """)
        fake.writeSys("fs/cgroup/unified/cgroup.controllers", "cpu\n")
        fake.writeSys("fs/cgroup/unified/x/cpu.stat", "usage_usec 7\n")
        fake.writeSys("fs/cgroup/unified/x/cpu.max", "200000 100000\n")
        fake.writeSys("fs/cgroup/unified/x/cpu.weight", "100\n")
        let fs = try procfs(fake)
        let files = try #require(try fs.cgroupCPUFiles())
        #expect(files.layout == .v2 && files.usageFile == fake.sysRoot + "/fs/cgroup/unified/x/cpu.stat")
        #expect(try fs.cgroupCPULimit(files) == CgroupCPULimit(cores: 2, weight: 100))
    }

    @Test func aPathOutsideTheMountIsReportedNotReadFromTheMountRoot() throws {
        // The cgroup namespace's root is /docker/abc, but the process sits in /other.
        let fake = FakeProc()
        fake.write("self/cgroup", "2:cpu,cpuacct:/other\n")
        fake.write("self/mountinfo", "32 31 0:29 /docker/abc /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n")
        fake.writeSys("fs/cgroup/cpu,cpuacct/cpuacct.usage", "42\n")
        fake.writeSys("fs/cgroup/cpu,cpuacct/cpu.stat", "nr_periods 1\nnr_throttled 1\nthrottled_time 5\n")
        let fs = try procfs(fake)
        do {
            let files = try fs.cgroupCPUFiles()
            Issue.record("expected an error, found \(String(describing: files))")
        } catch {
            #expect(error.description.contains("cgroup /other of the cpuacct controller is not below the root /docker/abc"), "\(error)")
        }

        // Without mountinfo: a path with no directory under the mount is reported too.
        let bare = FakeProc()
        bare.write("self/cgroup", "0::/gone.slice\n")
        bare.writeSys("fs/cgroup/cgroup.controllers", "cpu\n")
        bare.writeSys("fs/cgroup/cpu.stat", "usage_usec 99\n")
        do {
            let files = try procfs(bare).cgroupCPUFiles()
            Issue.record("expected an error, found \(String(describing: files))")
        } catch {
            #expect("\(error)".contains("cgroup /gone.slice has no directory"), "\(error)")
        }
    }
}
