import Logging
import LookoutCore
import ProcFS
import TestSupport
import Testing

@testable import Sampling

/// The /proc reader alone on fixture trees: what one tick value says, tick by tick.
@Suite struct ProcReaderTests {
    static let idle: [UInt64] = [1000, 0, 500, 100_000, 10, 0, 5, 0, 0, 0]
    static let period = Duration.nanoseconds(1_000_000_000 / 19)

    /// Reads ticks the way the tick loop does: one storage, refilled.
    struct Ticker {
        let reader: ProcReader
        var tick = SampleTick(wallTime: WallTime(secondsSinceEpoch: 0), monotonicTime: MonotonicInstant(nanoseconds: 0), interval: .zero, frequency: 19)
        var now = MonotonicInstant(nanoseconds: 1_000_000_000)
        var last: MonotonicInstant?

        init(_ reader: ProcReader) { self.reader = reader }

        mutating func read(after step: Duration = .zero, demand: ThreadSampleDemand? = nil) -> SampleTick {
            now = now + step
            tick.begin(
                monotonicTime: now, wallTime: WallTime(secondsSinceEpoch: 0), interval: last.map { now - $0 } ?? .zero, frequency: 19,
                demand: demand)
            reader.read(&tick)
            last = now
            return tick
        }
    }

    func reader(_ fake: FakeProc, _ settings: SamplerSettings = SamplerSettings(), groups: [ProcessGroupSettings]) throws -> Ticker {
        Ticker(ProcReader(procfs: try fakeProcFS(fake), options: .init(settings), groups: groups, logger: Logger(label: "test")))
    }

    @Test func countersAreReportedAsWhatTheyGrewByNotAsTotals() throws {
        let fake = FakeProc()
        fake.setStat([Self.idle])
        var p = FakeProc.Process(pid: 40, comm: "svc")
        p.utime = 300
        p.stime = 40
        p.threads = [
            .init(tid: 40, comm: "svc", runNanoseconds: 3_000_000_000, voluntarySwitches: 9),
            .init(tid: 41, comm: "io", runNanoseconds: 1_000_000_000, nonvoluntarySwitches: 2),
        ]
        fake.addProcess(p)
        var r = try reader(fake, groups: [.init(name: "svc", selector: .pid(40), threads: true)])

        // First tick: the once-a-second reads; a thread's first reading is no tick delta,
        // but its whole counter goes to its name; the process' whole CPU time is growth.
        var t = r.read()
        #expect(t.isSlow && t.groups.count == 1)
        var g = t.groups[0]
        #expect(g.name == "svc" && g.cpuNanoseconds == nil)
        #expect(g.threadNames == ["svc", "io"] && g.threadNanoseconds == [3_000_000_000, 1_000_000_000])
        #expect(g.slow?.userTicks == 300 && g.slow?.systemTicks == 40)
        #expect(g.slow?.voluntarySwitches == 9 && g.slow?.nonvoluntarySwitches == 2)
        #expect(g.slow?.processes == 1 && g.slow?.threads == 2 && g.slow?.openFDs == 3 && g.slow?.residentBytes == 409_600)
        #expect(g.processes == [SelectedProcess(pid: 40, startTime: 1000)])
        #expect(t.host.cpus?.count == 1 && t.host.utilization == nil)

        // A tick later: schedstat deltas; the slow figures are not read.
        fake.setRun(40, tid: 40, 3_020_000_000)
        fake.setRun(40, tid: 41, 1_005_000_000)
        var cpu = Self.idle
        cpu[0] += 1
        cpu[3] += 4
        fake.setStat([cpu])
        t = r.read(after: Self.period)
        g = t.groups[0]
        #expect(!t.isSlow && g.slow == nil)
        #expect(g.cpuNanoseconds == 25_000_000 && g.threadNanoseconds == [20_000_000, 5_000_000])
        #expect(t.host.utilization == 0.2)

        // A schedstat that went back (it does not, but a reader must not report a negative
        // growth) adds nothing; the next second's read reports only the growth since.
        fake.setRun(40, tid: 40, 3_000_000_000)
        var later = p
        later.utime = 310
        later.threads[0].voluntarySwitches = 12
        fake.addProcess(later)
        t = r.read(after: .seconds(1))
        g = t.groups[0]
        #expect(t.isSlow)
        #expect(g.threadNanoseconds[0] == 0)
        #expect(g.slow?.userTicks == 10 && g.slow?.systemTicks == 0 && g.slow?.voluntarySwitches == 3)
    }

    @Test func aReusedPIDIsANewProcessAndTheSelectionGenerationSaysSo() throws {
        let fake = FakeProc()
        fake.setStat([Self.idle])
        var a = FakeProc.Process(pid: 50, comm: "job")
        a.utime = 500
        fake.addProcess(a)
        var r = try reader(fake, groups: [.init(name: "jobs", selector: .comm(try AnchoredRegex("job")))])
        var t = r.read()
        let first = t.selectionGeneration
        #expect(t.groups[0].processes == [SelectedProcess(pid: 50, startTime: 1000)])
        #expect(t.groups[0].slow?.userTicks == 500)
        // Ticks and seconds without a change keep the generation.
        t = r.read(after: Self.period)
        #expect(t.selectionGeneration == first)
        t = r.read(after: .seconds(1))
        #expect(t.selectionGeneration == first && t.groups[0].slow?.userTicks == 0)

        // The job exits; another takes its PID. Its CPU time is all new; nothing is taken away.
        fake.removeProcess(50)
        var b = FakeProc.Process(pid: 50, comm: "job")
        b.startTime = 7000
        b.utime = 20
        fake.addProcess(b)
        t = r.read(after: .seconds(1))
        #expect(t.groups[0].processes == [SelectedProcess(pid: 50, startTime: 7000)])
        #expect(t.groups[0].slow?.userTicks == 20 && t.groups[0].slow?.processes == 1)
        #expect(t.selectionGeneration != first)
    }

    @Test func aProcessThatExitsBetweenSecondsLeavesAtOnce() throws {
        let fake = FakeProc()
        fake.setStat([Self.idle])
        fake.addProcess(FakeProc.Process(pid: 60, comm: "short"))
        var r = try reader(fake, groups: [.init(name: "g", selector: .pid(60))])
        var t = r.read()
        let generation = t.selectionGeneration
        #expect(t.groups[0].processes.count == 1)
        fake.removeProcess(60)
        t = r.read(after: Self.period)
        #expect(t.groups[0].processes.isEmpty && t.selectionGeneration != generation)
        #expect(t.groups[0].cpuNanoseconds == nil)
    }

    @Test func withCPUOffOnlyTheOnceASecondTicksReadCPU() throws {
        let fake = FakeProc()
        fake.setStat([Self.idle])
        var p = FakeProc.Process(pid: 70, comm: "c")
        p.threads = [.init(tid: 70, comm: "c", runNanoseconds: 100)]
        fake.addProcess(p)
        var settings = SamplerSettings()
        settings.cpu = false
        var r = try reader(fake, settings, groups: [.init(name: "c", selector: .pid(70), threads: true)])
        var t = r.read()
        #expect(t.host.cpus != nil && t.host.utilization == nil)
        fake.setRun(70, tid: 70, 200)
        t = r.read(after: Self.period)
        #expect(t.host.cpus == nil && t.groups[0].threadNanoseconds == [0])
        t = r.read(after: .seconds(1))
        // The counters moved; no per-tick figure is made.
        #expect(t.host.cpus != nil && t.host.utilization == nil)
        #expect(t.groups[0].threadNanoseconds == [100] && t.groups[0].cpuNanoseconds == nil)
    }

    @Test func reconfiguringKeepsAGroupsProcessesAndLaysTheTickOutAgain() throws {
        let fake = FakeProc()
        fake.setStat([Self.idle])
        var p = FakeProc.Process(pid: 80, comm: "k")
        p.utime = 30
        fake.addProcess(p)
        fake.addProcess(FakeProc.Process(pid: 81, comm: "n"))
        var r = try reader(fake, groups: [.init(name: "keep", selector: .pid(80))])
        _ = r.read()
        r.reader.configure(
            options: .init(SamplerSettings()),
            groups: [.init(name: "new", selector: .pid(81)), .init(name: "keep", selector: .pid(80))])
        // The reload reads at once (even between seconds); "keep" reports only growth.
        let t = r.read(after: Self.period)
        #expect(t.isSlow && t.groups.map(\.name) == ["new", "keep"])
        #expect(t.groups[1].slow?.userTicks == 0 && t.groups[1].processes.map(\.pid) == [80])
        #expect(t.groups[0].processes.map(\.pid) == [81])
    }

    @Test func blockedAndMutexWaitsAreCountedPerTickAndSampledOnDemand() throws {
        let fake = FakeProc()
        fake.setStat([Self.idle])
        var p = FakeProc.Process(pid: 90, comm: "db")
        p.threads = [
            .init(tid: 90, comm: "db", state: "D", wchan: "io_schedule"),
            .init(tid: 91, comm: "flush", state: "D", wchan: "io_schedule"),
            .init(tid: 92, comm: "j", state: "D", wchan: "jbd2_journal_commit_transaction"),
            .init(tid: 93, comm: "lock", state: "S", syscall: futexWaitSyscall),
        ]
        fake.addProcess(p)
        var settings = SamplerSettings()
        settings.block = true
        settings.mutex = true
        var r = try reader(fake, settings, groups: [.init(name: "db", selector: .pid(90))])
        var t = r.read()
        #expect(t.groups[0].blocked == [
            WaitChannelCount(waitChannel: "io_schedule", count: 2), WaitChannelCount(waitChannel: "jbd2_journal_commit_transaction", count: 1),
        ])
        #expect(t.groups[0].mutexWaits == 1 && t.samples.isEmpty)
        // Each tick says what it saw, not a running total; samples only on demand.
        t = r.read(after: Self.period, demand: [])
        #expect(t.groups[0].blocked.map(\.count) == [2, 1] && t.groups[0].mutexWaits == 1)
        #expect(t.samples.filter { $0.kind == .blocked }.count == 3 && t.samples.filter { $0.kind == .mutexWait }.map(\.tid) == [93])
        #expect(t.samples.allSatisfy { $0.nanoseconds == UInt64(Self.period.nanoseconds) && $0.group == "db" })
    }
}
