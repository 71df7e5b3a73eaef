import Logging
import LookoutCore
import ProcFS
import TestSupport
import Testing

@testable import Sampling

/// Where a tick's host busy fraction comes from: the root cgroup's CPU accounting once it
/// has agreed with /proc/stat over a check window, /proc/stat again when it stops agreeing.
@Suite struct HostCPUSourceTests {
    static let period = Duration.nanoseconds(1_000_000_000 / 19)

    /// Two CPUs; /proc/stat in USER_HZ (100) ticks, the root cgroup in nanoseconds. Each
    /// `advance` moves the clock by `step` and grows both by `busy` (a fraction of all CPUs)
    /// as the kernel would, the cgroup by `rootBusy` of it where given.
    final class Machine {
        let fake = FakeProc()
        let reader: HostCPUReader
        let log = ReadErrorLog(logger: Logger(label: "test"))
        let buffer = ReadBuffer()
        var now = MonotonicInstant(nanoseconds: 1_000_000_000)
        var nextSlow = MonotonicInstant(nanoseconds: 1_000_000_000)
        var busyTicks: [UInt64] = [1000, 1000]
        var idleTicks: [UInt64] = [50_000, 50_000]
        var rootNanoseconds: UInt64 = 20_000_000_000
        /// Fractions of a USER_HZ tick not yet in /proc/stat (it counts whole ticks).
        var busyCarry = 0.0, idleCarry = 0.0

        init(rootFile: Bool = true, layout: CgroupCPUFiles.Layout = .v1) throws {
            if rootFile {
                fake.write(
                    "self/mountinfo",
                    layout == .v1
                        ? "30 23 0:26 / /sys/fs/cgroup/cpuacct rw - cgroup cgroup rw,cpuacct\n"
                        : "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n")
            } else {
                fake.write("self/mountinfo", "22 1 0:21 / /proc rw - proc proc rw\n")
            }
            reader = HostCPUReader(procfs: try fakeProcFS(fake), logger: Logger(label: "test"))
            self.layout = layout
            publish()
        }
        var layout: CgroupCPUFiles.Layout

        func publish() {
            fake.setStat((0..<2).map { [busyTicks[$0], 0, 0, idleTicks[$0], 0, 0, 0, 0, 0, 0] })
            if layout == .v1 {
                fake.writeSys("fs/cgroup/cpuacct/cpuacct.usage", "\(rootNanoseconds)\n")
            } else {
                fake.writeSys("fs/cgroup/cpu.stat", "usage_usec \(rootNanoseconds / 1000)\nuser_usec 1\nsystem_usec 1\n")
            }
        }

        /// Ticks of a quarter second for `seconds`: the check windows pass without 19 reads a second.
        func run(seconds: Int, busy: Double, rootBusy: Double? = nil, _ each: (HostCPUTick) -> Void = { _ in }) {
            for _ in 0..<seconds * 4 { each(tick(busy: busy, rootBusy: rootBusy, step: .milliseconds(250))) }
        }

        /// One tick: returns what the reader said.
        func tick(busy: Double, rootBusy: Double? = nil, step: Duration = period) -> HostCPUTick {
            let ns = Double(step.nanoseconds) * 2
            rootNanoseconds += UInt64(ns * (rootBusy ?? busy))
            busyCarry += ns * busy / 10_000_000
            idleCarry += ns * (1 - busy) / 10_000_000
            let b = UInt64(busyCarry), i = UInt64(idleCarry)
            busyCarry -= Double(b)
            idleCarry -= Double(i)
            busyTicks[0] += b / 2
            busyTicks[1] += b - b / 2
            idleTicks[0] += i / 2
            idleTicks[1] += i - i / 2
            publish()
            now = now + step
            let slow = now >= nextSlow
            if slow { nextSlow = nextSlow + .seconds(1) }
            var out = HostCPUTick()
            log.now = now
            reader.read(buffer, slow: slow, utilization: true, at: now, interval: step, into: &out, log: log)
            return out
        }
    }

    @Test(arguments: [CgroupCPUFiles.Layout.v1, .v2])
    func theRootCgroupGivesTheTicksOnceItAgreedWithProcStatForAWindow(layout: CgroupCPUFiles.Layout) throws {
        let m = try Machine(layout: layout)
        // Until a whole window agreed: /proc/stat every tick (its counters come with each).
        m.run(seconds: 5, busy: 0.5) { #expect($0.cpus?.count == 2) }
        #expect(!m.reader.usesRootCgroup)
        m.run(seconds: 8, busy: 0.5)
        #expect(m.reader.usesRootCgroup)
        // Now a tick's fraction is the cgroup's growth over the tick on both CPUs, exact
        // where /proc/stat counts whole 10 ms ticks; the counters come once a second.
        var withCounters = 0
        for _ in 0..<19 * 4 {
            let t = m.tick(busy: 0.25)
            let u = try #require(t.utilization)
            // v2 counts microseconds.
            #expect(abs(u - 0.25) < 1e-4)
            if t.cpus != nil { withCounters += 1 }
        }
        #expect(withCounters >= 3 && withCounters <= 4, "\(withCounters) of 76 ticks")
    }

    @Test func aRootCgroupThatLeavesTimeOutIsDroppedAfterOneWindowAndTakenBackWhenItAgrees() throws {
        let m = try Machine()
        m.run(seconds: 13, busy: 0.5)
        #expect(m.reader.usesRootCgroup)
        // Steal or irq time the cgroup does not see: 5 points apart.
        m.run(seconds: 11, busy: 0.6, rootBusy: 0.55)
        #expect(!m.reader.usesRootCgroup)
        // Back on /proc/stat: every tick reads it, and its fraction is /proc/stat's.
        var fractions: [Double] = []
        for _ in 0..<19 {
            let t = m.tick(busy: 0.6, rootBusy: 0.55)
            #expect(t.cpus != nil)
            fractions.append(try #require(t.utilization))
        }
        let mean = fractions.reduce(0, +) / Double(fractions.count)
        #expect(abs(mean - 0.6) < 0.02, "\(mean)")
        m.run(seconds: 22, busy: 0.3)
        #expect(m.reader.usesRootCgroup)
    }

    @Test func aCgroupNamespaceRootThatSeesOnlyItsOwnTasksIsNeverUsed() throws {
        let m = try Machine()
        // The namespace's tasks use 10% of the machine; the machine is 70% busy.
        m.run(seconds: 60, busy: 0.7, rootBusy: 0.1) { #expect($0.cpus != nil) }
        #expect(!m.reader.usesRootCgroup)
    }

    @Test func withoutARootCgroupProcStatIsReadEveryTick() throws {
        let m = try Machine(rootFile: false)
        m.run(seconds: 15, busy: 0.5) { #expect($0.cpus?.count == 2) }
        #expect(!m.reader.usesRootCgroup)
    }

    @Test func aRootCgroupFileThatCannotBeReadLeavesProcStatForGood() throws {
        let m = try Machine()
        m.run(seconds: 13, busy: 0.5)
        #expect(m.reader.usesRootCgroup)
        m.layout = .v2  // the next ticks write cpu.stat; cpuacct.usage now holds something else
        m.fake.writeSys("fs/cgroup/cpuacct/cpuacct.usage", "gone\n")
        let t = m.tick(busy: 0.5)
        #expect(!m.reader.usesRootCgroup && t.cpus != nil)
        m.run(seconds: 20, busy: 0.5) { #expect($0.cpus != nil && $0.utilization != nil) }
        #expect(!m.reader.usesRootCgroup)
    }
}
