#if canImport(Glibc)
import Glibc
#endif
import Logging
import LookoutCore
import ProcFS
import TestSupport
import Testing

@testable import Sampling

/// (Heavy: a child burns a core, so these run in the serial pass.)
/// The /proc reader on the live /proc, where a process' CPU per tick comes from its CPU
/// clock and its threads' `schedstat` is read only when something needs each thread.
@Suite struct ProcessClockReaderHeavyTests {
    typealias Ticker = ProcReaderTests.Ticker
    static let period = ProcReaderTests.period

    func reader(_ pid: Int32, _ settings: SamplerSettings = SamplerSettings()) throws -> Ticker {
        Ticker(
            ProcReader(
                procfs: try ProcFS(), options: .init(settings), groups: [.init(name: "burn", selector: .pid(pid), threads: true)],
                logger: Logger(label: "test")))
    }

    /// Real time passes between the ticks, as on the sampler's thread (a sleep that does not
    /// hold one of the test runner's threads).
    func tick(_ r: inout Ticker, after step: Duration = Self.period, demand: ThreadSampleDemand? = nil) async throws -> SampleTick {
        try await Task.sleep(for: step)
        return r.read(after: step, demand: demand)
    }

    @Test func theProcessClockGivesEachTicksCPUAndTheThreadsAreReadOnceASecond() async throws {
        let burner = try ChildProcess(["/usr/bin/nice", "-n", "-20", "/bin/sh", "-c", "while :; do :; done"])
        defer { burner.kill() }
        var r = try reader(burner.pid)
        let first = r.read()
        #expect(first.isSlow && first.groups[0].processes.count == 1)
        let firstRun = first.groups[0].threadNanoseconds.reduce(0, +)

        // Ordinary ticks: the group's CPU grows (the child burns a core), the thread's share is not read.
        var groupCPU: UInt64 = 0
        var ticks = 0
        for _ in 0..<9 {
            let t = try await tick(&r)
            #expect(!t.isSlow)
            let g = t.groups[0]
            #expect(g.threadNanoseconds.allSatisfy { $0 == 0 })
            groupCPU += g.cpuNanoseconds ?? 0
            if g.cpuNanoseconds != nil { ticks += 1 }
        }
        #expect(ticks == 9 && groupCPU > 50_000_000, "\(ticks) ticks, \(groupCPU) ns")

        // The second's reads: the thread's counter catches up with what the clock counted.
        burner.signal(SIGSTOP)
        let slow = try await tick(&r, after: .seconds(1) - Self.period * 9)
        #expect(slow.isSlow)
        groupCPU += slow.groups[0].cpuNanoseconds ?? 0
        // (The thread's name may have changed from nice's to the shell's: its counter is under both.)
        let threadCPU = slow.groups[0].threadNanoseconds.reduce(0, +)
        #expect(threadCPU > 100_000_000)
        let difference = threadCPU > groupCPU ? threadCPU - groupCPU : groupCPU - threadCPU
        #expect(difference <= 10_000_000, "thread \(threadCPU) ns, group \(groupCPU) ns, first reading \(firstRun) ns")
        burner.signal(SIGCONT)

        // A profile asks for each thread's share: the thread is read every tick, and its first
        // read after a gap gives the counter its growth but no sample (it is not one tick's CPU).
        _ = try await tick(&r)
        let gap = try await tick(&r, demand: [])
        #expect(gap.samples.isEmpty && gap.groups[0].threadNanoseconds.reduce(0, +) > 0)
        var sampled = 0
        for _ in 0..<5 {
            let t = try await tick(&r, demand: [])
            #expect(t.samples.count <= 1)
            for s in t.samples {
                sampled += 1
                #expect(s.pid == burner.pid && s.nanoseconds <= 300_000_000, "one tick's CPU: \(s.nanoseconds) ns")
            }
        }
        #expect(sampled >= 2)
    }

    @Test func aProcessThatExitsLeavesTheGroupOnTheNextTick() async throws {
        let sleeper = try ChildProcess(["/bin/sleep", "60"])
        var r = try reader(sleeper.pid)
        #expect(r.read().groups[0].processes.count == 1)
        _ = try await tick(&r)
        sleeper.kill()
        let t = try await tick(&r)
        #expect(!t.isSlow && t.groups[0].processes.isEmpty)
    }

    @Test func withCPUSamplingOffTheClockIsReadOnlyOnceASecond() async throws {
        let burner = try ChildProcess(["/bin/sh", "-c", "while :; do :; done"])
        defer { burner.kill() }
        var settings = SamplerSettings()
        settings.cpu = false
        var r = try reader(burner.pid, settings)
        _ = r.read()
        let t = try await tick(&r)
        #expect(t.groups[0].cpuNanoseconds == nil && t.groups[0].threadNanoseconds.allSatisfy { $0 == 0 })
    }
}
