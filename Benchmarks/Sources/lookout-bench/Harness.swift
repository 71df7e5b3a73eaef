import LookoutCore
import MallocInterposerSwift

#if canImport(Glibc)
import Glibc
#endif

/// The operation a benchmark measures: plain code, or code that awaits (a sampler tick,
/// an HTTP request). Async operations run on the measuring task itself, so no task is
/// created per operation (which would add its allocations to the count).
enum Operation {
    case sync(() -> Void)
    case async(() async -> Void)

    @inline(__always)
    func run() async {
        switch self {
        case .sync(let f): f()
        case .async(let f): await f()
        }
    }
}

/// One benchmark: `setup` runs once and returns the operation to measure. What setup starts
/// (processes, servers, an agent) it registers with `Cleanup`, which stops it after the run.
struct Benchmark {
    let name: String
    /// What one operation is, for the report ("tick", "10 000 series", "MB").
    let unit: String
    /// Bytes processed per operation, for a throughput column (0 = none).
    let bytesPerOperation: Int
    let setup: () async throws -> Operation

    init(name: String, unit: String, bytesPerOperation: Int, setup: @escaping () async throws -> Operation) {
        self.name = name
        self.unit = unit
        self.bytesPerOperation = bytesPerOperation
        self.setup = setup
    }

    /// A synchronous operation.
    init(name: String, unit: String, bytesPerOperation: Int, sync setup: @escaping () throws -> () -> Void) {
        self.init(name: name, unit: unit, bytesPerOperation: bytesPerOperation) { .sync(try setup()) }
    }
}

/// Setup that has something to stop (a child process, a running agent) registers it here;
/// the harness runs and clears the actions after each benchmark, and at exit.
enum Cleanup {
    private static var actions: [() -> Void] = []
    private static var installed = false

    static func add(_ action: @escaping () -> Void) {
        if !installed {
            installed = true
            atexit { Cleanup.run() }
        }
        actions.append(action)
    }

    static func run() {
        let pending = actions
        actions = []
        for a in pending.reversed() { a() }
    }
}

/// Bytes a setup produced, for a throughput column when the size is known only after setup.
enum MeasuredBytes {
    static var perOperation: Int?
}

struct Result {
    let name: String
    let unit: String
    let iterations: Int
    let p50: Double
    let p90: Double
    let mean: Double
    /// CPU time of the whole process per operation (all threads: the curl thread, the
    /// async workers), against wall time in `p50`.
    let cpuPerOperation: Double
    let allocationsPerOperation: Double
    let bytesAllocatedPerOperation: Double
    let megabytesPerSecond: Double?
}

enum Harness {
    /// Measures the operation for about `seconds` of wall time after a warm-up; allocations
    /// are counted over a separate pass so counting does not slow the timed one.
    /// On the main thread: the C programs setup starts exit with the thread that started
    /// them (PR_SET_PDEATHSIG), and the main thread lives as long as the process.
    @MainActor
    static func measure(_ b: Benchmark, seconds: Double) async throws -> Result {
        MeasuredBytes.perOperation = nil
        let op = try await b.setup()
        defer { Cleanup.run() }
        for _ in 0..<3 { await op.run() }  // warm caches and lazily built state
        var samples: [Double] = []
        samples.reserveCapacity(1 << 16)
        let clock = SystemClock()
        let end = clock.now + .seconds(seconds)
        let cpu0 = processCPUSeconds()
        while clock.now < end || samples.count < 5 {
            let t0 = clock.now
            await op.run()
            samples.append((clock.now - t0).seconds)
            if samples.count >= 1_000_000 { break }
        }
        let cpu = processCPUSeconds() - cpu0
        samples.sort()
        let allocationRounds = max(1, min(100, samples.count))
        MallocInterposerSwift.reset()
        MallocInterposerSwift.hook()
        for _ in 0..<allocationRounds { await op.run() }
        MallocInterposerSwift.unhook()
        let stats = MallocInterposerSwift.getStatistics()
        let mean = samples.reduce(0, +) / Double(samples.count)
        let bytes = MeasuredBytes.perOperation ?? b.bytesPerOperation
        return Result(
            name: b.name, unit: b.unit, iterations: samples.count,
            p50: samples[samples.count / 2], p90: samples[samples.count * 9 / 10], mean: mean,
            cpuPerOperation: cpu / Double(samples.count),
            allocationsPerOperation: Double(stats.mallocCount) / Double(allocationRounds),
            bytesAllocatedPerOperation: Double(stats.mallocBytesCount) / Double(allocationRounds),
            megabytesPerSecond: bytes > 0 ? Double(bytes) / samples[samples.count / 2] / 1e6 : nil)
    }

    static func processCPUSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    static func formatTime(_ s: Double) -> String {
        if s >= 1 { return String(format2(s)) + " s" }
        if s >= 1e-3 { return format2(s * 1e3) + " ms" }
        if s >= 1e-6 { return format2(s * 1e6) + " µs" }
        return format2(s * 1e9) + " ns"
    }

    static func format2(_ v: Double) -> String {
        let r = (v * 100).rounded() / 100
        var s = String(r)
        if s.hasSuffix(".0") { s.removeLast(2) }
        return s
    }

    static func printTable(_ results: [Result]) {
        let header = ["benchmark", "per", "p50", "p90", "mean", "CPU/op", "allocs/op", "KiB alloc/op", "MB/s", "iterations"]
        var rows = [header]
        for r in results {
            rows.append([
                r.name, r.unit, formatTime(r.p50), formatTime(r.p90), formatTime(r.mean), formatTime(r.cpuPerOperation),
                format2(r.allocationsPerOperation), format2(r.bytesAllocatedPerOperation / 1024),
                r.megabytesPerSecond.map(format2) ?? "", String(r.iterations),
            ])
        }
        let widths = header.indices.map { i in rows.map { $0[i].count }.max()! }
        for (n, row) in rows.enumerated() {
            print(row.enumerated().map { i, cell in cell.padding(toLength: widths[i], withPad: " ", startingAt: 0) }.joined(separator: "  "))
            if n == 0 { print(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")) }
        }
    }

    /// The allocation counter works only when its library is preloaded: re-exec once with LD_PRELOAD.
    static func ensurePreloaded() {
        if getenv("LOOKOUT_BENCH_PRELOADED") != nil { return }
        let exe = Native.executablePath()
        let dir = exe[..<exe.lastIndex(of: "/")!]
        let lib = "\(dir)/libMallocInterposerSwift.so"
        guard access(lib, R_OK) == 0 else {
            fputs("warning: \(lib) not found; allocation counts will read 0\n", stderr)
            return
        }
        setenv("LD_PRELOAD", lib, 1)
        setenv("LOOKOUT_BENCH_PRELOADED", "1", 1)
        let args = CommandLine.arguments.map { strdup($0) } + [nil]
        execv(exe, args)
    }
}

extension String {
    fileprivate func padding(toLength n: Int, withPad pad: String, startingAt: Int) -> String {
        count >= n ? self : self + String(repeating: pad, count: n - count)
    }
}
