#if canImport(Glibc)
import Glibc
#endif
import ProcFS
import TestSupport
import Testing

/// The parsers against this machine's real /proc and /sys.
@Suite struct LiveProcTests {
    let fs: ProcFS

    init() throws { fs = try ProcFS() }

    @Test func systemStatHasEveryOnlineCPU() throws {
        let s = try fs.systemStat()
        #expect(s.cpus.count == sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        let sumUser = s.cpus.reduce(UInt64(0)) { $0 + $1.user }
        // The total line is summed by the kernel at a slightly different moment.
        #expect(sumUser <= s.total.user + 100 && sumUser + 100 >= s.total.user)
        #expect(s.bootTime != nil && s.contextSwitches != nil)
        #expect(fs.userHZ == 100)
    }

    @Test func everyProcessParses() throws {
        var parsed = 0
        for pid in try fs.processIDs() {
            // Any of them may exit while we read: nil is fine, a thrown error is not.
            guard let st = try fs.processStat(pid: pid) else { continue }
            #expect(st.pid == pid)
            _ = try fs.processStatus(pid: pid)
            _ = try fs.processStatm(pid: pid)
            _ = try fs.processSchedstat(pid: pid)
            _ = try fs.cgroups(pid: pid)
            for tid in try fs.threadIDs(pid: pid) ?? [] {
                _ = try fs.threadStat(pid: pid, tid: tid)
                _ = try fs.threadSchedstat(pid: pid, tid: tid)
                // syscall needs ptrace access, which a sandbox may refuse even to root: that is a
                // typed, reported refusal, not a parse failure.
                do {
                    _ = try fs.syscall(pid: pid, tid: tid)
                } catch {
                    #expect(error.kind == .permissionDenied, "\(error)")
                }
            }
            if st.isKernelThread { #expect(try fs.cmdline(pid: pid) ?? [] == []) }
            parsed += 1
        }
        #expect(parsed > 3)
    }

    @Test func ownProcessAndThreads() throws {
        let me = getpid()
        #expect(fs.selfPID() == me)
        let st = try #require(try fs.processStat(pid: me))
        #expect("RSD".utf8.contains(st.state) && st.numThreads >= 1)
        let tids = try #require(try fs.threadIDs(pid: me))
        #expect(tids.contains(me) && Int64(tids.count) >= 1)
        #expect(try fs.openFileDescriptorCount(pid: me)! >= 3)
        #expect(try fs.processStatus(pid: me)?.residentBytes ?? 0 > 1 << 20)
        #expect(try fs.kernelStack(pid: me, tid: me) != nil)  // running as root here
    }

    @Test func keptOpenSchedstatReadsFreshValues() throws {
        let tid = currentThreadID()
        let file = fs.threadFile(pid: getpid(), tid: tid, "schedstat")
        let buffer = ReadBuffer()
        let before = try file.read(buffer, Schedstat.parse)?.runNanoseconds ?? .max
        var x: UInt64 = 0
        // Burn 20 ms of this thread's CPU time (not wall time: other tests share the cores).
        let start = SystemClockNow.threadCPU()
        while SystemClockNow.threadCPU() - start < 20_000_000 { x &+= 1 }
        let after = try file.read(buffer, Schedstat.parse)?.runNanoseconds ?? 0
        #expect(x > 0)
        #expect(before != .max && after >= before &+ 15_000_000)
        #expect(file.isOpen)
    }

    @Test func exitedChildIsGoneEvenThroughAKeptOpenFile() throws {
        let child = try ChildProcess(["sleep", "30"])
        let buffer = ReadBuffer()
        let schedstat = fs.processFile(pid: child.pid, "schedstat")
        #expect(try schedstat.read(buffer, Schedstat.parse) != nil)
        let stat = try #require(try fs.processStat(pid: child.pid))
        #expect(stat.comm == "sleep" || stat.comm == "sh")
        child.kill()
        // The task is reaped: the kept-open descriptor now fails with ESRCH.
        #expect(try schedstat.read(buffer, Schedstat.parse) == nil)
        #expect(try fs.processStat(pid: child.pid) == nil)
    }

    @Test func ownCgroupAndPressure() throws {
        let files = try #require(try fs.cgroupCPUFiles(), "this machine has cgroup v1 with a v2 tree at unified/")
        let s = try #require(try fs.cgroupCPU(files))
        #expect((s.usageNanoseconds ?? 0) > 0)
        if files.layout == .v1 { #expect(s.periods != nil && s.throttledNanoseconds != nil) }
        if let p = try fs.cpuPressure() { #expect(p.some.totalMicroseconds > 0) }
    }
}

enum SystemClockNow {
    static func threadCPU() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
