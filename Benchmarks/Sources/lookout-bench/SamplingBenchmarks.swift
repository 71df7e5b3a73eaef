import LookoutCore
import ProcFS
import Sampling

/// One sampler tick on the real /proc, as the agent runs it at 19 Hz: the clock advances
/// 1/19 s per tick, so every 19th tick also does the once-a-second reads (selection,
/// stat, statm, fds, each thread's status, PSI, the cgroup). `p50` is an ordinary tick,
/// `mean` the average over the 19 Hz mix. In a hot loop the caches stay warm; at a real
/// 19 Hz each tick wakes up cold and costs more (Benchmarks/compare measures that).
enum SamplingBenchmarks {
    static let period = Duration.nanoseconds(1_000_000_000 / 19)

    static var all: [Benchmark] {
        [
            Benchmark(name: "sampler.tick.default", unit: "tick: host + itself + cgroup", bytesPerOperation: 0) {
                // The embedded default config: the host and the agent's own process, with threads.
                try tick(groups: [ProcessGroupSettings(name: "lookout", selector: .current, threads: true)])
            },
            Benchmark(name: "sampler.tick.10procs", unit: "tick: host + 10 processes (100 threads)", bytesPerOperation: 0) {
                try tenProcesses(threads: false)
            },
            Benchmark(name: "sampler.tick.10procs.threads", unit: "tick: same, per-thread series", bytesPerOperation: 0) {
                try tenProcesses(threads: true)
            },
        ]
    }

    /// Ten idle processes of ten threads each, selected by comm as a config would.
    static func tenProcesses(threads: Bool) throws -> Operation {
        _ = try Native.idleProcesses(count: 10, threads: 10)
        return try tick(groups: [ProcessGroupSettings(name: "idle", selector: .comm(try AnchoredRegex("lkb-idle")), threads: threads)])
    }

    static func tick(groups: [ProcessGroupSettings]) throws -> Operation {
        let clock = ManualClock()
        let sampler = Sampler(groups: groups, procfs: try ProcFS(), clock: clock)
        return .async {
            clock.advance(by: period)
            await sampler.tick()
        }
    }
}
