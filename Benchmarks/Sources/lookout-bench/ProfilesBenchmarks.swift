#if canImport(Glibc)
import Glibc
#endif
import LookoutCore
import ProcFS
import Profiles
import Sampling

/// The profile recorder's share of a sampler tick, and a whole tick with and without a
/// recording running.
enum ProfilesBenchmarks {
    static var all: [Benchmark] {
        [
            Benchmark(name: "profiles.report.40threads", unit: "tick of 40 samples, known stacks", bytesPerOperation: 0, sync: {
                let clock = SystemClock()
                let recorder = ProfileRecorder(clock: clock)
                _ = try recorder.start(.cpu)
                let samples = (Int32(1)...40).map { tid in
                    ThreadSample(
                        kind: .cpu, pid: 100, tid: tid, group: "api", thread: "worker-\(tid % 8)", nanoseconds: 1_000_000,
                        waitChannel: tid % 3 == 0 ? "futex_wait_queue" : nil,
                        kernelStack: tid % 3 == 1 ? ["ep_poll", "do_epoll_wait", "__x64_sys_epoll_wait", "do_syscall_64"] : nil)
                }
                var t = clock.now
                return {
                    t = t + .milliseconds(52)
                    recorder.report(
                        SampleTick(wallTime: clock.wallNow, monotonicTime: t, interval: .milliseconds(52), frequency: 19, samples: samples))
                }
            }),
            Benchmark(name: "profiles.encode.1000stacks", unit: "pprof encode + gzip of 1000 stacks", bytesPerOperation: 0, sync: {
                var a = ProfileAggregate(type: .cpu)
                let samples = (Int32(1)...1000).map { tid in
                    ThreadSample(
                        kind: .cpu, pid: 100 + tid % 10, tid: tid, group: "api", thread: "worker-\(tid % 50)", nanoseconds: 1_000_000,
                        kernelStack: ["f\(tid % 20)", "do_syscall_64"])
                }
                for i in 0..<100 {
                    a.add(
                        SampleTick(
                            wallTime: WallTime(nanosecondsSinceEpoch: 0), monotonicTime: MonotonicInstant(nanoseconds: Int64(i)),
                            interval: .milliseconds(52), frequency: 19, samples: samples))
                }
                let p = RecordedProfile(aggregate: a, startTime: WallTime(nanosecondsSinceEpoch: 0), duration: .seconds(5))
                return { _ = try? p.pprofGzip() }
            }),
            tick(recording: false),
            tick(recording: true),
        ]
    }

    /// One sampler tick over this process (the benchmark's own threads) on the real /proc.
    static func tick(recording: Bool) -> Benchmark {
        Benchmark(name: "profiles.sampler.tick.self.\(recording ? "recording" : "idle")", unit: "tick", bytesPerOperation: 0) {
            let recorder = ProfileRecorder(clock: SystemClock())
            let sampler = Sampler(
                groups: [ProcessGroupSettings(name: "self", selector: .current, threads: true)], procfs: try ProcFS(),
                reporters: [recorder])
            if recording { _ = try recorder.start(.cpu) }
            return .async { await sampler.tick() }
        }
    }
}
