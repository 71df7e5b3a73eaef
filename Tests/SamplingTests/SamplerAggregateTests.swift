import Series
import LookoutCore
import ProcFS
import Testing

@testable import Sampling

/// The aggregation on hand-made tick values: no /proc, no clock, no sampler.
@Suite struct SamplerAggregateTests {
    static let period = Duration.nanoseconds(1_000_000_000 / 19)

    func aggregate(_ settings: SamplerSettings = SamplerSettings(), groups: [ProcessGroupSettings] = []) -> SamplerAggregate {
        SamplerAggregate(settings: settings, groups: groups, userHZ: 100, historyCapacity: 10)
    }

    /// A tick at `seconds` after the monotonic epoch, one period after the previous one.
    func tick(at seconds: Double, interval: Duration = period, _ fill: (inout SampleTick) -> Void = { _ in }) -> SampleTick {
        var t = SampleTick(
            wallTime: WallTime(secondsSinceEpoch: 1_790_000_000), monotonicTime: MonotonicInstant(nanoseconds: Int64(seconds * 1e9)),
            interval: interval, frequency: 19)
        fill(&t)
        return t
    }

    func cpu(_ n: Int, user: UInt64, idle: UInt64 = 1000, iowait: UInt64 = 0) -> CPUTimes {
        var c = CPUTimes(cpu: n)
        c.user = user
        c.idle = idle
        c.iowait = iowait
        return c
    }

    func group(_ name: String, _ fill: (inout GroupTick) -> Void = { _ in }) -> GroupTick {
        var g = GroupTick(name: name)
        fill(&g)
        return g
    }

    func families(_ a: SamplerAggregate, at seconds: Double = 100) -> [MetricFamily] {
        SamplerMetrics.families(a, at: MonotonicInstant(nanoseconds: Int64(seconds * 1e9)))
    }

    @Test func hostCountersOnlyMoveForwardAndCPUsThatGoAreKept() {
        var a = aggregate()
        a.add(tick(at: 1) { $0.host = HostCPUTick(cpus: [cpu(0, user: 100, iowait: 50), cpu(1, user: 10)]) })
        // iowait went back on cpu0: the counter holds; user moved on.
        a.add(tick(at: 1.05) { $0.host = HostCPUTick(cpus: [cpu(0, user: 120, iowait: 40), cpu(1, user: 12)]) })
        var m = families(a)
        #expect(m.value(N.hostCPUSeconds, ["cpu": "0", "mode": "iowait"]) == 0.5)
        #expect(m.value(N.hostCPUSeconds, ["cpu": "0", "mode": "user"]) == 1.2)
        #expect(m.family(N.hostCPUSeconds)?.metrics.count == 16)
        // cpu1 goes offline, cpu2 comes: cpu1's series stay with their last values.
        a.add(tick(at: 1.1) { $0.host = HostCPUTick(cpus: [cpu(0, user: 130), cpu(2, user: 7)]) })
        m = families(a)
        #expect(m.value(N.hostCPUSeconds, ["cpu": "1", "mode": "user"]) == 0.12)
        #expect(m.value(N.hostCPUSeconds, ["cpu": "2", "mode": "user"]) == 0.07)
        #expect(m.value(N.hostCPUSeconds, ["cpu": "0", "mode": "iowait"]) == 0.5)
        #expect(m.family(N.hostCPUSeconds)?.metrics.count == 24)
        // A tick that did not read /proc/stat leaves them alone.
        a.add(tick(at: 1.15))
        #expect(families(a).value(N.hostCPUSeconds, ["cpu": "0", "mode": "user"]) == 1.3)
        #expect(a.ticks == 4)
    }

    @Test func utilizationGoesToTheHistogramThePeakWindowAndTheHistory() {
        var settings = SamplerSettings()
        settings.peakWindow = .seconds(15)
        var a = aggregate(settings)
        for (i, u) in [0.3, 0.9, 0.1].enumerated() {
            a.add(tick(at: 20 + Double(i) * 0.05) { $0.host = HostCPUTick(utilization: u) })
        }
        // The next second: one tick at 0.5.
        a.add(tick(at: 21.5) { $0.host = HostCPUTick(utilization: 0.5) })
        var m = families(a, at: 22)
        let h = try! #require(m.histogram(N.hostUtilization))
        #expect(h.count == 4 && abs(h.sum - 1.8) < 1e-12)
        #expect(h.buckets.first { $0.upperBound == 0.1 }?.cumulativeCount == 1)
        #expect(h.buckets.first { $0.upperBound == 0.5 }?.cumulativeCount == 3)
        #expect(h.buckets.first { $0.upperBound == 0.9 }?.cumulativeCount == 4)
        #expect(m.value(N.hostUtilizationPeak) == 0.9)
        // 15 s on, the 0.9 has left the window, the 0.5 not yet.
        m = families(a, at: 36)
        #expect(m.value(N.hostUtilizationPeak) == 0.5)
        #expect(families(a, at: 60).value(N.hostUtilizationPeak) == 0)
        // One point per second: the mean and the highest tick.
        let (mean, peak) = a.hostHistory.series(endingAt: 21)
        #expect(mean.suffix(2).map { $0.map { ($0 * 1e9).rounded() / 1e9 } } == [0.433333333, 0.5])
        #expect(peak.suffix(2) == [0.9, 0.5])
        #expect(mean.dropLast(2).allSatisfy { $0 == nil })
    }

    @Test func groupCountersAddWhatTheTicksSayTheyGrewBy() {
        var a = aggregate(groups: [.init(name: "api", selector: .pid(1))])
        let api: Labels = ["group": "api"]
        // Before the first once-a-second read nothing is known: no counter, no gauge.
        a.add(tick(at: 1) { $0.groups = [group("api") { $0.cpuNanoseconds = 26_315_789 }] })
        var m = families(a)
        #expect(m.value(N.processes, api) == nil && m.value(N.processCPUSeconds, api.setting("mode", "user")) == nil)
        #expect(abs((m.histogram(N.processUtilization, api)?.sum ?? 0) - 0.5) < 1e-6)

        a.add(tick(at: 2) {
            $0.groups = [
                group("api") {
                    var s = GroupSlowFigures()
                    s.processes = 2
                    s.threads = 9
                    s.residentBytes = 1 << 20
                    s.openFDs = 12
                    s.userTicks = 150
                    s.systemTicks = 20
                    s.voluntarySwitches = 70
                    s.nonvoluntarySwitches = 4
                    $0.slow = s
                }
            ]
        })
        a.add(tick(at: 3) {
            $0.groups = [
                group("api") {
                    var s = GroupSlowFigures()
                    s.processes = 1
                    s.threads = 4
                    s.userTicks = 30
                    s.voluntarySwitches = 5
                    $0.slow = s
                }
            ]
        })
        m = families(a)
        #expect(m.value(N.processCPUSeconds, api.setting("mode", "user")) == 1.8)
        #expect(m.value(N.processCPUSeconds, api.setting("mode", "system")) == 0.2)
        #expect(m.value(N.processContextSwitches, api.setting("type", "voluntary")) == 75)
        #expect(m.value(N.processContextSwitches, api.setting("type", "nonvoluntary")) == 4)
        // Gauges are the last read's.
        #expect(m.value(N.processes, api) == 1 && m.value(N.processThreads, api) == 4)
        #expect(m.value(N.processResidentMemory, api) == 0 && m.value(N.processOpenFDs, api) == 0)
        // Only ticks with a CPU figure and an interval are observed.
        #expect(m.histogram(N.processUtilization, api)?.count == 1)
        a.add(tick(at: 4, interval: .zero) { $0.groups = [group("api") { $0.cpuNanoseconds = 1 }] })
        #expect(families(a).histogram(N.processUtilization, api)?.count == 1)
    }

    @Test func aGroupWithAnUnreadableFDListHasNoOpenFDsGaugeUntilItCanBeCountedAgain() {
        var a = aggregate(groups: [.init(name: "api", selector: .pid(1)), .init(name: "db", selector: .pid(2))])
        let (api, db): (Labels, Labels) = (["group": "api"], ["group": "db"])
        func second(_ at: Double, apiUnknown: Bool) -> SampleTick {
            tick(at: at) {
                $0.groups = [
                    group("api") {
                        var s = GroupSlowFigures()
                        s.processes = 2
                        s.openFDs = 5
                        s.openFDsUnknown = apiUnknown
                        $0.slow = s
                    },
                    group("db") {
                        var s = GroupSlowFigures()
                        s.processes = 1
                        s.openFDs = 9
                        $0.slow = s
                    },
                ]
            }
        }
        a.add(second(1, apiUnknown: true))
        var m = families(a)
        // Another user's process among api's: its count would be too low, so there is none.
        #expect(m.value(N.processOpenFDs, api) == nil && m.value(N.processes, api) == 2)
        #expect(m.value(N.processOpenFDs, db) == 9)
        a.add(second(2, apiUnknown: false))
        m = families(a)
        #expect(m.value(N.processOpenFDs, api) == 5 && m.value(N.processOpenFDs, db) == 9)
    }

    @Test func threadCountersBySlotOnlyWhereEnabled() {
        var a = aggregate(groups: [.init(name: "srv", selector: .pid(1), threads: true), .init(name: "quiet", selector: .pid(2))])
        a.add(tick(at: 1) {
            $0.groups = [
                group("srv") {
                    $0.threadNames = ["srv"]
                    $0.threadNanoseconds = [2_000_000_000]
                },
                group("quiet"),
            ]
        })
        a.add(tick(at: 1.05) {
            $0.groups = [
                group("srv") {
                    $0.threadNames = ["srv", "worker"]
                    $0.threadNanoseconds = [1_000_000, 750_000_000]
                },
                group("quiet"),
            ]
        })
        let m = families(a)
        #expect(m.value(N.threadCPUSeconds, ["group": "srv", "thread": "srv"]) == 2.001)
        #expect(m.value(N.threadCPUSeconds, ["group": "srv", "thread": "worker"]) == 0.75)
        #expect(m.family(N.threadCPUSeconds)?.metrics.count == 2)
        // Turned off by a reload: the series go, the counters stay for when it comes back.
        a.configure(settings: SamplerSettings(), groups: [.init(name: "srv", selector: .pid(1))])
        #expect(families(a).family(N.threadCPUSeconds) == nil)
        a.configure(settings: SamplerSettings(), groups: [.init(name: "srv", selector: .pid(1), threads: true)])
        #expect(families(a).value(N.threadCPUSeconds, ["group": "srv", "thread": "worker"]) == 0.75)
    }

    @Test func blockAndMutexSamplesAccumulateAndShowOnlyWhileOn() {
        var settings = SamplerSettings()
        settings.block = true
        settings.mutex = true
        var a = aggregate(settings, groups: [.init(name: "db", selector: .pid(1))])
        for _ in 0..<3 {
            a.add(tick(at: 1) {
                $0.groups = [
                    group("db") {
                        $0.blocked = [.init(waitChannel: "io_schedule", count: 2), .init(waitChannel: "jbd2_journal", count: 1)]
                        $0.mutexWaits = 1
                    }
                ]
            })
        }
        var m = families(a)
        #expect(m.value(N.processBlockedSamples, ["group": "db", "wchan": "io_schedule"]) == 6)
        #expect(m.value(N.processBlockedSamples, ["group": "db", "wchan": "jbd2_journal"]) == 3)
        #expect(m.family(N.processBlockedSamples)?.metrics.map { $0.labels["wchan"] } == ["io_schedule", "jbd2_journal"])
        #expect(m.value(N.processMutexWaitSamples, ["group": "db"]) == 3)
        a.configure(settings: SamplerSettings(), groups: [.init(name: "db", selector: .pid(1))])
        m = families(a)
        #expect(m.family(N.processBlockedSamples) == nil && m.family(N.processMutexWaitSamples) == nil)
        #expect(m.value(N.samplerEnabled, ["profile": "block"]) == 0)
    }

    @Test func reconfiguringKeepsGroupsByNameAndStartsPeaksAfreshOnANewWindow() {
        var a = aggregate(groups: [.init(name: "one", selector: .pid(1)), .init(name: "two", selector: .pid(2))])
        a.add(tick(at: 10) {
            $0.groups = [group("one") { $0.cpuNanoseconds = 26_315_789 }, group("two") { $0.cpuNanoseconds = 52_631_578 }]
        })
        // Same window: "two" keeps its histogram and peak at its new position; "three" starts empty.
        a.configure(
            settings: SamplerSettings(), groups: [.init(name: "three", selector: .pid(3)), .init(name: "two", selector: .pid(2))])
        var m = families(a, at: 11)
        #expect(m.histogram(N.processUtilization, ["group": "two"])?.count == 1)
        #expect(abs((m.value(N.processUtilizationPeak, ["group": "two"]) ?? 0) - 1) < 1e-6)
        #expect(m.histogram(N.processUtilization, ["group": "three"])?.count == 0)
        #expect(m.histogram(N.processUtilization, ["group": "one"]) == nil)
        // The ticks' groups are in the new order.
        a.add(tick(at: 10.05) { $0.groups = [group("three") { $0.cpuNanoseconds = 5_263_157 }, group("two")] })
        m = families(a, at: 11)
        #expect(m.histogram(N.processUtilization, ["group": "three"])?.count == 1)
        #expect(m.histogram(N.processUtilization, ["group": "two"])?.count == 1)
        // A new window: the peaks start afresh, the histograms stay.
        var settings = SamplerSettings()
        settings.peakWindow = .seconds(30)
        settings.frequency = 97
        a.configure(settings: settings, groups: [.init(name: "two", selector: .pid(2))])
        m = families(a, at: 11)
        #expect(m.value(N.processUtilizationPeak, ["group": "two"]) == 0)
        #expect(m.histogram(N.processUtilization, ["group": "two"])?.count == 1)
        #expect(m.value(N.samplerFrequency) == 97)
    }

    @Test func pressureAndCgroupCountersNeverGoBack() {
        var a = aggregate()
        a.add(tick(at: 1) {
            $0.pressureWaitingMicroseconds = 2_000_000
            $0.cgroup = CgroupCPUStat(usageNanoseconds: 3_000_000_000, periods: 10)
        })
        a.add(tick(at: 2) {
            $0.pressureWaitingMicroseconds = 1_000_000
            $0.cgroup = CgroupCPUStat(usageNanoseconds: 2_000_000_000, periods: 12, throttledPeriods: 1)
        })
        let m = families(a)
        #expect(m.value(N.hostPressureWaiting) == 2)
        #expect(m.value(N.cgroupUsage) == 3 && m.value(N.cgroupPeriods) == 12 && m.value(N.cgroupThrottledPeriods) == 1)
        // Not reported by the layout: no series.
        #expect(m.family(N.cgroupThrottledSeconds) == nil)
    }

    @Test func tickEndsCountDurationsAndMissedTicks() {
        var a = aggregate()
        a.recordTickEnd(duration: .microseconds(40), missed: 0)
        a.recordTickEnd(duration: .milliseconds(3), missed: 2)
        let m = families(a)
        let d = try! #require(m.histogram(N.samplerTickDuration))
        #expect(d.count == 2 && d.buckets.first { $0.upperBound == 0.00005 }?.cumulativeCount == 1)
        #expect(m.value(N.samplerMissedTicks) == 2)
        #expect(m.value(N.samplerTicks) == 0)
    }
}
