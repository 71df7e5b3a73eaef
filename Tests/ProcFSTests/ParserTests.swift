import ProcFS
import Testing

private func parse<T>(_ text: String, _ parser: (UnsafeRawBufferPointer) throws(ProcFSError) -> T) throws(ProcFSError) -> T {
    try withBytes(Array(text.utf8), parser)
}

private func parseError<T>(_ text: String, _ parser: (UnsafeRawBufferPointer) throws(ProcFSError) -> T) -> ProcFSError? {
    do {
        _ = try parse(text, parser)
        return nil
    } catch {
        return error
    }
}

@Suite struct SystemStatParserTests {
    static let sample = """
        cpu  13786 0 4946 529877 522 0 74 19 0 0
        cpu0 5941 0 2246 266349 29 0 17 11 0 0
        cpu1 7845 0 2699 263528 493 0 57 7 0 0
        intr 1234567 9 0 0 0 0
        ctxt 24123456
        btime 1763890000
        processes 31234
        procs_running 3
        procs_blocked 1
        softirq 900 1 2 3 4 5 6 7 8 9 10

        """

    @Test func parsesCPULinesAndCounters() throws {
        let s = try parse(Self.sample, SystemStat.parse)
        #expect(s.total.cpu == -1)
        #expect(s.total.user == 13786 && s.total.system == 4946 && s.total.idle == 529877 && s.total.steal == 19)
        #expect(s.cpus.map(\.cpu) == [0, 1])
        #expect(s.cpus[1].user == 7845 && s.cpus[1].iowait == 493 && s.cpus[1].softirq == 57)
        #expect(s.contextSwitches == 24_123_456 && s.bootTime == 1_763_890_000 && s.forks == 31234)
        #expect(s.procsRunning == 3 && s.procsBlocked == 1)
        #expect(s.total.busy == 13786 + 4946 + 74 + 19)
        #expect(s.total.total == s.total.busy + 529877 + 522)
        #expect((0..<8).map { s.cpus[0][mode: $0] } == [5941, 0, 2246, 266349, 29, 0, 17, 11])
    }

    @Test func offlineCPUsHaveNoLineAndOldKernelsFewerFields() throws {
        let s = try parse("cpu 10 20 30 40\ncpu0 5 10 15 20\ncpu3 5 10 15 20\n", SystemStat.parse)
        #expect(s.cpus.map(\.cpu) == [0, 3])
        #expect(s.total.iowait == 0 && s.total.steal == 0 && s.total.idle == 40)
    }

    @Test func parsesIntoReusedStorageAndStopsAfterCPULines() throws {
        var s = SystemStat()
        try withBytes(Array(Self.sample.utf8)) { (b) throws(ProcFSError) in try SystemStat.parse(b, into: &s, cpuLinesOnly: true) }
        #expect(s.cpus.count == 2 && s.contextSwitches == nil)
        try withBytes(Array("cpu 1 2 3 4\ncpu0 1 2 3 4\n".utf8)) { (b) throws(ProcFSError) in
            try SystemStat.parse(b, into: &s, cpuLinesOnly: false)
        }
        #expect(s.cpus.count == 1 && s.total.user == 1)
    }

    @Test func malformedInputIsQuoted() {
        let e = parseError("cpu  1 2 x 4\n", SystemStat.parse)
        #expect(e?.kind == .malformed)
        #expect(e?.description.contains("\"cpu  1 2 x 4\"") == true)
        #expect(parseError("cpu0 1 2 3 4\n", SystemStat.parse)?.reason == "no \"cpu\" line")
        #expect(parseError("cpu 1 2 3\n", SystemStat.parse)?.reason.contains("at least 4 fields") == true)
        #expect(parseError("cpuX 1 2 3 4\ncpu 1 2 3 4\n", SystemStat.parse)?.input == "cpuX 1 2 3 4")
        #expect(parseError("cpu 99999999999999999999999 2 3 4\n", SystemStat.parse)?.kind == .malformed)
    }
}

@Suite struct PressureParserTests {
    @Test func someAndFull() throws {
        let p = try parse(
            "some avg10=0.32 avg60=0.75 avg300=3.48 total=36910363\nfull avg10=1.00 avg60=0.00 avg300=0.00 total=12\n",
            Pressure.parse)
        #expect(p.some.totalMicroseconds == 36_910_363)
        #expect(abs(p.some.avg10 - 0.32) < 1e-9 && abs(p.some.avg300 - 3.48) < 1e-9)
        #expect(p.full?.totalMicroseconds == 12 && p.full?.avg10 == 1.0)
    }

    @Test func fullMayBeAbsent() throws {
        let p = try parse("some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", Pressure.parse)
        #expect(p.full == nil && p.some.totalMicroseconds == 0)
    }

    @Test func malformed() {
        #expect(parseError("some avg10=0.32 avg60=0.75 total=1\n", Pressure.parse)?.reason.contains("avg300") == true)
        let e = parseError("some avg10=x avg60=0 avg300=0 total=1\n", Pressure.parse)
        #expect(e?.input == "some avg10=x avg60=0 avg300=0 total=1")
        #expect(parseError("full avg10=0 avg60=0 avg300=0 total=1\n", Pressure.parse)?.reason == "no \"some\" line")
        #expect(parseError("", Pressure.parse) != nil)
    }
}

@Suite struct ProcessStatParserTests {
    static func line(_ comm: String, state: String = "S", flags: UInt64 = 4_194_560) -> String {
        "4242 (\(comm)) \(state) 1 4242 4242 0 -1 \(flags) 1200 0 3 0 731 155 0 0 20 0 7 0 98765 1234567 2048 "
            + "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
    }

    @Test func parsesFields() throws {
        let s = try parse(Self.line("gunicorn"), ProcessStat.parse)
        #expect(s.pid == 4242 && s.comm == "gunicorn" && s.stateCharacter == "S" && s.ppid == 1)
        #expect(s.utime == 731 && s.stime == 155 && s.numThreads == 7 && s.startTime == 98765)
        #expect(s.virtualMemoryBytes == 1_234_567 && s.rssPages == 2048 && s.processor == 1 && s.nice == 0 && s.priority == 20)
        #expect(!s.isKernelThread && !s.isZombie)
    }

    @Test func commWithSpacesAndParenthesesSplitsAtTheLastParen() throws {
        for comm in ["a b) (c", "))", "(", "x) S 1 2 3", "tmux: server", ""] {
            let s = try parse(Self.line(comm), ProcessStat.parse)
            #expect(s.comm == comm)
            #expect(s.utime == 731 && s.startTime == 98765)
            #expect(try parse(Self.line(comm, state: "D"), ProcessStat.parseState) == UInt8(ascii: "D"))
        }
    }

    @Test func kernelThreadsAndZombies() throws {
        #expect(try parse(Self.line("kworker/0:1", state: "I", flags: 0x0420_8060), ProcessStat.parse).isKernelThread)
        #expect(try parse(Self.line("defunct", state: "Z"), ProcessStat.parse).isZombie)
    }

    @Test func malformedInputIsQuoted() {
        let e = parseError("4242 (no closing paren S 1 2 3\n", ProcessStat.parse)
        #expect(e?.reason == "no ')' after the command name")
        #expect(e?.description.contains("\"4242 (no closing paren S 1 2 3\"") == true)
        #expect(parseError("(x) S 1\n", ProcessStat.parse)?.reason == "no PID at the start")
        #expect(parseError("1 (x) S 1 2 3\n", ProcessStat.parse)?.reason.contains("at least 24 fields") == true)
        #expect(parseError("1 (x) S 1 2 abc 4\n", ProcessStat.parse)?.reason == "field 6 is not a number")
        #expect(parseError("1 (x)\n", ProcessStat.parse)?.reason == "no state after the command name")
    }
}

@Suite struct StatusStatmSchedstatParserTests {
    static let status = """
        Name:\tmy worker\\n2
        Umask:\t0022
        State:\tS (sleeping)
        Tgid:\t4242
        Ngid:\t0
        Pid:\t4243
        PPid:\t1
        Uid:\t1000\t1000\t1000\t1000
        VmRSS:\t   18220 kB
        Threads:\t7
        voluntary_ctxt_switches:\t1234
        nonvoluntary_ctxt_switches:\t56

        """

    @Test func status() throws {
        let s = try parse(Self.status, ProcessStatus.parse)
        #expect(s.name == "my worker\n2")
        #expect(s.state == UInt8(ascii: "S") && s.tgid == 4242 && s.pid == 4243 && s.ppid == 1 && s.uid == 1000)
        #expect(s.residentBytes == 18220 * 1024 && s.threads == 7)
        #expect(s.voluntaryContextSwitches == 1234 && s.nonvoluntaryContextSwitches == 56)
    }

    @Test func kernelThreadStatusHasNoMemory() throws {
        let s = try parse("Name:\tkthreadd\nState:\tS (sleeping)\nTgid:\t2\nPid:\t2\nPPid:\t0\nThreads:\t1\n", ProcessStatus.parse)
        #expect(s.residentBytes == nil && s.name == "kthreadd")
    }

    @Test func statusMalformed() {
        #expect(parseError("Name:\tx\nThreads:\tmany\n", ProcessStatus.parse)?.input == "Threads:\\tmany")
        #expect(parseError("State:\tS\n", ProcessStatus.parse)?.reason == "no Name line")
        #expect(parseError("Name:\tx\nVmRSS:\t12 MB\n", ProcessStatus.parse)?.reason == "VmRSS is not in kB")
    }

    @Test func statm() throws {
        let m = try parse("1000 250 120 10 0 300 0\n", ProcessStatm.parse)
        #expect(m.sizePages == 1000 && m.residentPages == 250 && m.sharedPages == 120 && m.textPages == 10 && m.dataPages == 300)
        #expect(parseError("1 2 3\n", ProcessStatm.parse)?.input == "1 2 3")
    }

    @Test func schedstat() throws {
        let s = try parse("42954204 39711434 33\n", Schedstat.parse)
        #expect(s.runNanoseconds == 42_954_204 && s.waitNanoseconds == 39_711_434 && s.timeslices == 33)
        #expect(parseError("42954204 39711434\n", Schedstat.parse)?.input == "42954204 39711434")
        #expect(parseError("1 2 3 4\n", Schedstat.parse) != nil)
    }
}

@Suite struct ThreadFileParserTests {
    @Test func syscall() throws {
        #expect(try parse("running\n", SyscallState.parse) == .running)
        #expect(try parse("-1 0x7ffd1234 0x7f00aa\n", SyscallState.parse) == .notInSyscall)
        #if arch(x86_64)
        let futex = "202 0x7f1c2c000b68 0x80 0x0 0x0 0x0 0x0 0x7f1c33ffec10 0x7f1c3d26a0b6\n"
        let state = try parse(futex, SyscallState.parse)
        #expect(state == .inSyscall(number: 202, firstArgument: 0x7f1c_2c00_0b68))
        #expect(state.isFutexWait)
        #endif
        let read = try parse("0 0x3 0x7fbd62a18000 0x20000 0x0 0x0 0x0 0x7fff8757 0x7fbd62b9\n", SyscallState.parse)
        #expect(read == .inSyscall(number: 0, firstArgument: 3) && !read.isFutexWait)
        #expect(parseError("walking\n", SyscallState.parse)?.input == "walking")
        #expect(parseError("202 zz\n", SyscallState.parse) != nil)
    }

    @Test func waitChannelStackCommCmdline() throws {
        #expect(try parse("do_nanosleep", { WaitChannel.parse($0) }) == "do_nanosleep")
        #expect(try parse("0", { WaitChannel.parse($0) }) == nil)
        #expect(try parse("", { WaitChannel.parse($0) }) == nil)
        let stack = "[<0>] futex_wait_queue+0x60/0x90\n[<0>] futex_wait+0x185/0x270\n[<0>] do_syscall_64+0x5b/0x110\n"
        #expect(try parse(stack, KernelStack.parse) == ["futex_wait_queue", "futex_wait", "do_syscall_64"])
        #expect(parseError("[<0> broken\n", KernelStack.parse)?.reason == "unterminated address")
        #expect(try parse("a b) (c\n", { Comm.parse($0) }) == "a b) (c")
        #expect(try parse("python3\u{0}-c\u{0}while True: pass\u{0}", { Cmdline.parse($0) }) == ["python3", "-c", "while True: pass"])
        #expect(try parse("", { Cmdline.parse($0) }) == [])
    }
}

@Suite struct CgroupParserTests {
    @Test func membershipLines() throws {
        let v1 = "12:cpu,cpuacct:/system.slice/api.service\n4:memory:/x\n1:name=systemd:/a:b\n0::/system.slice/api.service\n"
        let e = try parse(v1, CgroupEntry.parse)
        #expect(e.count == 4)
        #expect(e[0].hierarchyID == 12 && e[0].controllers == ["cpu", "cpuacct"] && e[0].path == "/system.slice/api.service")
        #expect(e[2].controllers == ["name=systemd"] && e[2].path == "/a:b")
        #expect(e[3].isUnified && !e[0].isUnified)
        #expect(parseError("12/cpu/x\n", CgroupEntry.parse)?.input == "12/cpu/x")
        #expect(parseError("x:cpu:/\n", CgroupEntry.parse)?.reason == "bad hierarchy ID")
    }

    @Test func cpuStatFiles() throws {
        let v2 = try parse(
            "usage_usec 188283400\nuser_usec 137913416\nsystem_usec 50369983\nnr_periods 10\nnr_throttled 3\nthrottled_usec 4500\n",
            CgroupCPUStat.parseV2)
        #expect(v2 == CgroupCPUStat(usageNanoseconds: 188_283_400_000, periods: 10, throttledPeriods: 3, throttledNanoseconds: 4_500_000))
        let v2NoController = try parse("usage_usec 5\nuser_usec 3\nsystem_usec 2\n", CgroupCPUStat.parseV2)
        #expect(v2NoController.usageNanoseconds == 5000 && v2NoController.periods == nil && v2NoController.throttledNanoseconds == nil)
        let v1 = try parse("nr_periods 7\nnr_throttled 2\nthrottled_time 123456\nnr_bursts 0\nburst_time 0\n", CgroupCPUStat.parseV1CPUStat)
        #expect(v1.periods == 7 && v1.throttledPeriods == 2 && v1.throttledNanoseconds == 123_456)
        #expect(try parse("196853886946\n", CgroupCPUStat.parseV1Usage) == 196_853_886_946)
        #expect(parseError("nr_periods x\n", CgroupCPUStat.parseV1CPUStat)?.input == "nr_periods x")
        #expect(parseError("user_usec 3\n", CgroupCPUStat.parseV2)?.reason == "no usage_usec")
        #expect(parseError("12 13\n", CgroupCPUStat.parseV1Usage) != nil)
    }
}
