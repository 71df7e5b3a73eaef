import LookoutCore
import Sampling
import Testing
import TestSupport

@testable import Profiles

@Suite struct PprofEncodingTests {
    let t0 = MonotonicInstant(nanoseconds: 5_000_000_000)
    let start = WallTime(nanosecondsSinceEpoch: 1_790_000_000_123_456_789)

    func recorded(_ type: ProfileType = .cpu, maxStacks: Int = 10_000, ticks: [[ThreadSample]], frequency: Int = 19) -> RecordedProfile {
        var a = ProfileAggregate(type: type, maxStacks: maxStacks)
        for (i, s) in ticks.enumerated() { a.add(tick(at: t0 + .milliseconds(52 * Int64(i)), s, frequency: frequency)) }
        return RecordedProfile(aggregate: a, startTime: start, duration: .milliseconds(2_500))
    }

    @Test func cpuProfileHasTheContractedHeaderStringTableAndIDs() throws {
        let p = recorded(ticks: Array(repeating: [sample(tid: 101, thread: "worker", ns: 30_000_000)], count: 3))
        let d = try #require(DecodedProfile.decode(p.pprofBytes()))
        #expect(d.strings.first == "")
        #expect(Set(d.strings).count == d.strings.count, "each string once")
        #expect(d.sampleTypes == [["samples", "count"], ["cpu", "nanoseconds"]])
        #expect(d.periodType == ["cpu", "nanoseconds"])
        #expect(d.period == 1_000_000_000 / 19)
        #expect(d.timeNanos == 1_790_000_000_123_456_789)
        #expect(d.durationNanos == 2_500_000_000)
        #expect(d.functions.allSatisfy { $0.id != 0 })
        #expect(d.locations.allSatisfy { $0.id != 0 && $0.functionIDs.count == 1 && $0.functionIDs[0] != 0 })
        #expect(Set(d.functions.map(\.id)).count == d.functions.count)
        #expect(Set(d.locations.map(\.id)).count == d.locations.count)
        #expect(d.comments.contains { $0.contains("3 samples in 3 ticks at 19 Hz") })
        #expect(d.samples.count == 1)
        let s = d.samples[0]
        #expect(s.values == [3, 90_000_000], "the exact schedstat nanoseconds, not count x period")
        #expect(s.numLabels == ["pid": 100, "tid": 101])
        #expect(s.stringLabels == ["group": "api"])
        #expect(s.malformedLabels.isEmpty)
        // Leaf first: thread, then the process, then the group at the root.
        #expect(s.frames == ["worker", "pid 100", "api"])
    }

    @Test func kernelFramesAreTheLeafEnd() throws {
        let p = recorded(ticks: [
            [
                sample(tid: 1, thread: "a", stack: ["futex_wait_queue", "futex_wait", "do_futex"]),
                sample(tid: 2, thread: "b", wchan: "do_nanosleep"),
                sample(pid: 300, tid: 301, group: "db", thread: "c"),
            ]
        ])
        let d = try #require(DecodedProfile.decode(p.pprofBytes()))
        let byThread = Dictionary(uniqueKeysWithValues: d.samples.map { ($0.numLabels["tid"]!, $0) })
        #expect(byThread[1]?.frames == ["futex_wait_queue", "futex_wait", "do_futex", "a", "pid 100", "api"])
        #expect(byThread[2]?.frames == ["do_nanosleep", "b", "pid 100", "api"])
        #expect(byThread[301]?.frames == ["c", "pid 300", "db"])
        #expect(byThread[301]?.stringLabels["group"] == "db")
        #expect(byThread[301]?.numLabels["pid"] == 300)
        // Shared frames share one location.
        #expect(byThread[1]!.locationIDs.suffix(2) == byThread[2]!.locationIDs.suffix(2))
        // Every location a sample names exists.
        let known = Set(d.locations.map(\.id))
        #expect(d.samples.allSatisfy { $0.locationIDs.allSatisfy(known.contains) })
    }

    @Test func blockAndMutexProfilesCountWaitingTime() throws {
        let interval: UInt64 = 52_631_578
        let ticks = Array(
            repeating: [
                sample(.blocked, tid: 5, thread: "flusher", ns: interval, wchan: "io_schedule"),
                sample(.mutexWait, tid: 6, thread: "waiter", ns: interval),
            ], count: 4)
        let block = try #require(DecodedProfile.decode(recorded(.block, ticks: ticks).pprofBytes()))
        #expect(block.sampleTypes == [["samples", "count"], ["delay", "nanoseconds"]])
        #expect(block.periodType == ["delay", "nanoseconds"])
        #expect(block.samples.count == 1)
        #expect(block.samples[0].frames == ["io_schedule", "flusher", "pid 100", "api"])
        #expect(block.samples[0].values == [4, 4 * Int64(interval)])
        let mutex = try #require(DecodedProfile.decode(recorded(.mutex, ticks: ticks).pprofBytes()))
        #expect(mutex.samples.map(\.frames) == [["waiter", "pid 100", "api"]])
        #expect(mutex.comments.first?.hasPrefix("lookout mutex profile") == true)
    }

    @Test func anEmptyProfileIsStillValid() throws {
        let p = recorded(ticks: [[], []])
        let d = try #require(DecodedProfile.decode(p.pprofBytes()))
        #expect(d.samples.isEmpty)
        #expect(d.functions.isEmpty && d.locations.isEmpty)
        #expect(d.strings.first == "")
        #expect(d.sampleTypes.count == 2)
    }

    @Test func thePeriodFollowsTheSamplersFrequency() throws {
        let p = recorded(ticks: [[sample(tid: 1, thread: "a")]], frequency: 97)
        #expect(try #require(DecodedProfile.decode(p.pprofBytes())).period == 1_000_000_000 / 97)
        // Without a tick, the configured frequency stands in.
        let none = recorded(ticks: [])
        #expect(try #require(DecodedProfile.decode(none.pprofBytes(defaultFrequency: 7))).period == 1_000_000_000 / 7)
    }

    @Test func droppedSamplesAreNamedInAComment() throws {
        let p = recorded(maxStacks: 1, ticks: [[sample(tid: 1, thread: "a"), sample(tid: 2, thread: "b"), sample(tid: 3, thread: "c")]])
        let d = try #require(DecodedProfile.decode(p.pprofBytes()))
        #expect(d.samples.count == 1)
        #expect(d.comments.contains("2 samples dropped: more than 1 distinct stacks"))
    }

    @Test func theGzippedProfileDecompressesToThePackedOne() throws {
        let p = recorded(ticks: Array(repeating: [sample(tid: 1, thread: "a"), sample(tid: 2, thread: "b", wchan: "ep_poll")], count: 50))
        let gz = try p.pprofGzip()
        #expect(gz.prefix(2) == [0x1f, 0x8b])
        let packed = try #require(gunzip(gz))
        #expect(packed == p.pprofBytes())
        #expect(try #require(DecodedProfile.decode(packed)).samples.map { $0.values[0] }.reduce(0, +) == 100)
    }

    @Test func aProfileWithManyStacksEncodesAllOfThem() throws {
        var ticks: [[ThreadSample]] = []
        for i in 0..<50 {
            ticks.append((Int32(1)...40).map { sample(tid: $0, thread: "t\($0)", ns: UInt64(i + 1), stack: ["k\($0 % 7)", "entry"]) })
        }
        let p = recorded(ticks: ticks)
        let d = try #require(DecodedProfile.decode(p.pprofBytes()))
        #expect(d.samples.count == 40)
        #expect(d.samples.allSatisfy { $0.values[0] == 50 && $0.values[1] == 50 * 51 / 2 })
        // 40 threads + 7 kernel leaves + entry + pid + group.
        #expect(d.functions.count == 40 + 7 + 1 + 1 + 1)
    }
}

@Suite struct FoldedTests {
    let t0 = MonotonicInstant(nanoseconds: 5_000_000_000)

    @Test func linesAreRootFirstWithSampleCounts() {
        var a = ProfileAggregate(type: .cpu)
        for i in 0..<3 {
            a.add(
                tick(
                    at: t0 + .milliseconds(52 * Int64(i)),
                    [
                        sample(tid: 1, thread: "worker", ns: 50_000_000),
                        sample(tid: 2, thread: "io", stack: ["ep_poll", "do_epoll_wait"]),
                        sample(pid: 7, tid: 7, group: "db", thread: "postgres", wchan: "do_select"),
                    ]))
        }
        let text = FoldedEncoder.encode(a)
        #expect(
            text == """
                api;pid 100;io;do_epoll_wait;ep_poll 3
                api;pid 100;worker 3
                db;pid 7;postgres;do_select 3

                """)
    }

    @Test func threadsOfOneNameInOneProcessShareALine() {
        var a = ProfileAggregate(type: .cpu)
        a.add(tick(at: t0, [sample(tid: 1, thread: "w"), sample(tid: 2, thread: "w"), sample(tid: 3, thread: "w")]))
        #expect(FoldedEncoder.encode(a) == "api;pid 100;w 3\n")
    }

    @Test func separatorsAndLineBreaksInNamesAreReplaced() {
        var a = ProfileAggregate(type: .cpu)
        a.add(tick(at: t0, [sample(tid: 1, group: "a;b", thread: "x\ny;z")]))
        #expect(FoldedEncoder.encode(a) == "a:b;pid 100;x y:z 1\n")
    }

    @Test func anEmptyProfileHasNoLines() {
        #expect(FoldedEncoder.encode(ProfileAggregate(type: .cpu)) == "")
    }
}
