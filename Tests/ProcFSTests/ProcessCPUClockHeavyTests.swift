#if canImport(Glibc)
import Glibc
#endif
import ProcFS
import TestSupport
import Testing

/// `ProcessCPUClock` and `ProcFS.isOwnPIDNamespace` against this machine's kernel.
@Suite struct ProcessCPUClockHeavyTests {
    /// The threads' `schedstat` run times of a process, summed.
    func threadsRunNanoseconds(_ fs: ProcFS, _ pid: Int32) throws -> UInt64 {
        var sum: UInt64 = 0
        for tid in try fs.threadIDs(pid: pid) ?? [] {
            sum += try fs.threadSchedstat(pid: pid, tid: tid)?.runNanoseconds ?? 0
        }
        return sum
    }

    @Test func onlyTheAgentsOwnLiveProcfsSharesItsPIDNamespace() throws {
        #expect(try ProcFS().isOwnPIDNamespace)
        // A tree that looks like /proc, even with `self` naming this process, is not one.
        let fake = FakeProc()
        fake.setSelf(getpid())
        #expect(try !ProcFS(root: fake.root).isOwnPIDNamespace)
    }

    @Test func aChildsClockIsWhatItsThreadsRanAndFailsOnceItIsReaped() async throws {
        let fs = try ProcFS()
        let burner = try ChildProcess(["/bin/sh", "-c", "while :; do :; done"])
        defer { burner.kill() }
        let clock = try #require(ProcessCPUClock(pid: burner.pid))
        let start = try #require(clock.read())
        try await Task.sleep(for: .milliseconds(300))
        // Stopped, its counters hold still and the clock and schedstat can be compared.
        burner.signal(SIGSTOP)
        try await Task.sleep(for: .milliseconds(50))
        let c = try #require(clock.read())
        let threads = try threadsRunNanoseconds(fs, burner.pid)
        #expect(c > start + 20_000_000, "it ran: \(c - start) ns")
        // One thread, alive: the clock is its schedstat's run time, to the scheduler's accounting.
        #expect(c >= threads && c - threads <= 5_000_000, "clock \(c), schedstat \(threads)")

        burner.kill()
        #expect(clock.read() == nil)
        #expect(ProcessCPUClock(pid: burner.pid) == nil)
    }

    @Test func theAgentsOwnClockCountsItsThreads() throws {
        let fs = try ProcFS()
        let clock = try #require(ProcessCPUClock(pid: getpid()))
        let before = try #require(clock.read())
        // Burn 50 ms of CPU on this thread.
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        let until = Int(ts.tv_sec) * 1_000_000_000 + ts.tv_nsec + 50_000_000
        var spins = 0
        while Int(ts.tv_sec) * 1_000_000_000 + ts.tv_nsec < until {
            spins &+= 1
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        }
        let threads = try threadsRunNanoseconds(fs, getpid())
        let after = try #require(clock.read())
        #expect(after - before >= 50_000_000, "\(spins) spins")
        // The living threads ran no more than the whole process (which counts exited ones too).
        #expect(threads <= after + 5_000_000, "threads \(threads), clock \(after)")
    }

    /// The count of a process' descriptors, from the fd directory's size on a live procfs,
    /// is what listing the directory finds; a fixture tree is listed.
    @Test func openFileDescriptorsCountAsTheListingDoes() async throws {
        let fs = try ProcFS()
        #expect(fs.isLiveProcfs)
        let child = try ChildProcess(["/bin/sleep", "60"])
        defer { child.kill() }
        // Until its exec, the child still holds the descriptors it closes on exec.
        let comm = fs.path(pid: child.pid, "comm")
        #expect(await waitUntil { (try? fs.read(comm, Comm.parse)) == "sleep" })
        let dir = fs.path(pid: child.pid, "fd")
        let counted = try #require(try fs.openFileDescriptorCount(pid: child.pid))
        #expect(counted == (try ProcFS.countEntries(dir)) && counted >= 3)
        child.kill()
        #expect(try fs.openFileDescriptorCount(pid: child.pid) == nil)

        let fake = FakeProc()
        var p = FakeProc.Process(pid: 40, comm: "svc")
        p.openFDs = 7
        fake.addProcess(p)
        let fixture = try ProcFS(root: fake.root)
        #expect(!fixture.isLiveProcfs)
        #expect(try fixture.openFileDescriptorCount(pid: 40) == 7)
    }
}
