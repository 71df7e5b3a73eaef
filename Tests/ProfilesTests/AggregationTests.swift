import LookoutCore
import Sampling
import Testing

@testable import Profiles

@Suite struct AggregationTests {
    let t0 = MonotonicInstant(nanoseconds: 5_000_000_000)

    @Test func samplesOfOneStackAggregateIntoOneEntry() {
        var a = ProfileAggregate(type: .cpu)
        for i in 0..<100 {
            a.add(
                tick(
                    at: t0 + .milliseconds(52 * Int64(i)),
                    [
                        sample(tid: 101, thread: "worker", ns: 40_000_000),
                        sample(tid: 102, thread: "io", ns: 1_000_000, stack: ["do_epoll_wait", "__x64_sys_epoll_wait"]),
                    ]))
        }
        #expect(a.ticks == 100)
        #expect(a.frequency == 19)
        #expect(a.stackCount == 2)
        #expect(a.samples == 200)
        #expect(a.nanoseconds == 100 * 41_000_000)
        let worker = a.stacks.first { a.strings[$0.key.thread] == "worker" }!
        #expect(worker.value.count == 100)
        #expect(worker.value.nanoseconds == 100 * 40_000_000)
        #expect(worker.key.kernelStack == 0 && worker.key.waitChannel == 0)
        let io = a.stacks.first { a.strings[$0.key.thread] == "io" }!
        #expect(a.leafFrames(io.key).map { a.strings[$0] } == ["do_epoll_wait", "__x64_sys_epoll_wait"])
        // Interned once each: "", the two threads, the group, the two kernel functions.
        #expect(a.strings.strings == ["", "worker", "api", "do_epoll_wait", "__x64_sys_epoll_wait", "io"])
        #expect(a.kernelStacks.count == 1)
    }

    @Test func stringTableStartsWithTheEmptyStringAndInternsOnce() {
        var t = StringTable()
        #expect(t.strings == [""])
        #expect(t.index(of: "") == 0)
        let a = t.intern("a")
        let b = t.intern("b")
        #expect(t.intern("a") == a)
        #expect(a == 1 && b == 2)
        #expect(t.index(of: "c") == nil)
        #expect(t.count == 3)
    }

    @Test func theKernelStackWinsOverTheWaitChannelWhichWinsOverNothing() {
        var a = ProfileAggregate(type: .cpu)
        a.add(
            tick(
                at: t0,
                [
                    sample(tid: 1, thread: "t", wchan: "futex_wait_queue", stack: ["futex_wait_queue", "futex_wait"]),
                    sample(tid: 2, thread: "t", wchan: "do_nanosleep", stack: nil),
                    // Readable but empty (a running thread): the sampler then reads no wait channel.
                    sample(tid: 3, thread: "t", wchan: nil, stack: []),
                    // wchan "0" reaches the profile as nil: nothing useful, no frame.
                    sample(tid: 4, thread: "t", wchan: nil, stack: nil),
                    sample(tid: 5, thread: "t", wchan: "", stack: nil),
                    // Preempted in user space: only the way back to it, which says nothing.
                    sample(tid: 6, thread: "t", stack: ["irqentry_exit_to_user_mode", "asm_sysvec_apic_timer_interrupt"]),
                    sample(tid: 7, thread: "t", stack: ["irqentry_exit_to_user_mode", "asm_sysvec_reschedule_ipi"]),
                ]))
        func leaf(_ tid: Int32) -> [String] {
            let key = a.stacks.keys.first { $0.tid == tid }!
            return a.leafFrames(key).map { a.strings[$0] }
        }
        #expect(leaf(1) == ["futex_wait_queue", "futex_wait"])
        #expect(leaf(2) == ["do_nanosleep"])
        #expect(leaf(3) == [])
        #expect(leaf(4) == [])
        #expect(leaf(5) == [])
        #expect(leaf(6) == [])
        #expect(leaf(7) == [])
        #expect(a.strings.index(of: "irqentry_exit_to_user_mode") == nil)
    }

    @Test func eachProfileCountsOnlyItsKindOfSample() {
        let samples = [
            sample(.cpu, tid: 1, thread: "run"),
            sample(.blocked, tid: 2, thread: "disk", ns: 52_631_578, wchan: "io_schedule"),
            sample(.mutexWait, tid: 3, thread: "lock", ns: 52_631_578),
        ]
        for (type, thread) in [(ProfileType.cpu, "run"), (.block, "disk"), (.mutex, "lock")] {
            var a = ProfileAggregate(type: type)
            a.add(tick(at: t0, samples))
            #expect(a.samples == 1, "\(type)")
            #expect(a.stacks.keys.map { a.strings[$0.thread] } == [thread], "\(type)")
        }
    }

    @Test func threadsOfTheSameNameStaySeparateByTID() {
        var a = ProfileAggregate(type: .cpu)
        a.add(tick(at: t0, [sample(tid: 7, thread: "w"), sample(tid: 8, thread: "w"), sample(pid: 200, tid: 200, thread: "w")]))
        #expect(a.stackCount == 3)
        #expect(Set(a.stacks.keys.map(\.tid)) == [7, 8, 200])
    }

    @Test func anUnnamedThreadIsNamedByItsTID() {
        var a = ProfileAggregate(type: .cpu)
        a.add(tick(at: t0, [sample(tid: 9, thread: "")]))
        a.add(tick(at: t0 + .milliseconds(52), [sample(tid: 9, thread: "")]))
        #expect(a.stackCount == 1)
        #expect(a.strings[a.stacks.keys.first!.thread] == "[tid 9]")
        #expect(a.stacks.values.first!.count == 2)
    }

    @Test func newStacksPastTheCapAreDroppedAndCountedKnownOnesStillCount() {
        var a = ProfileAggregate(type: .cpu, maxStacks: 3)
        for round in 0..<5 {
            var samples: [ThreadSample] = []
            for tid in Int32(1)...10 {
                samples.append(sample(tid: tid, thread: "t\(tid)", ns: 1_000, stack: ["f\(tid)", "g\(round % 2)"]))
            }
            a.add(tick(at: t0 + .milliseconds(52 * Int64(round)), samples))
        }
        #expect(a.stackCount == 3)
        // Round 0 admits t1..t3 with g0; g1 stacks are new every other round and dropped.
        #expect(a.samples == 9)
        #expect(a.droppedSamples == 50 - 9)
        #expect(a.droppedNanoseconds == Int64(50 - 9) * 1_000)
        // Nothing of a dropped stack was kept: strings and kernel stacks are those of the three admitted ones.
        #expect(a.kernelStacks.count == 3)
        #expect(a.strings.count == 1 + 3 * 2 + 1 + 1)  // "", f1...f3 + t1...t3, g0, api
    }

    @Test func memoryStaysBoundedOverALongRecording() {
        // 60 s at 19 Hz of 40 threads: 45,600 samples, 40 stacks.
        var a = ProfileAggregate(type: .cpu)
        let samples = (Int32(1)...40).map { sample(tid: $0, thread: "w\($0 % 4)", wchan: $0 % 2 == 0 ? "futex_wait_queue" : nil) }
        for i in 0..<(60 * 19) { a.add(tick(at: t0 + .milliseconds(52 * Int64(i)), samples)) }
        #expect(a.samples == 45_600)
        #expect(a.stackCount == 40)
        #expect(a.strings.count == 7)
    }
}
