import LookoutCore
import MallocInterposerSwift

#if canImport(Glibc)
import Glibc
#endif

/// One benchmark: `setup` runs once and returns the operation to measure.
struct Benchmark {
    let name: String
    /// What one operation is, for the report ("tick", "10 000 series", "MB").
    let unit: String
    /// Bytes processed per operation, for a throughput column (0 = none).
    let bytesPerOperation: Int
    let setup: () throws -> () -> Void
}

struct Result {
    let name: String
    let unit: String
    let iterations: Int
    let p50: Double
    let p90: Double
    let mean: Double
    let allocationsPerOperation: Double
    let bytesAllocatedPerOperation: Double
    let megabytesPerSecond: Double?
}

enum Harness {
    /// Measures `op` for about `seconds` of wall time after a warm-up; allocations are counted
    /// over a separate pass so counting does not slow the timed one.
    static func measure(_ b: Benchmark, seconds: Double) throws -> Result {
        let op = try b.setup()
        for _ in 0..<3 { op() }  // warm caches and lazily built state
        var samples: [Double] = []
        let clock = SystemClock()
        let end = clock.now + .seconds(seconds)
        while clock.now < end || samples.count < 5 {
            let t0 = clock.now
            op()
            samples.append((clock.now - t0).seconds)
            if samples.count >= 1_000_000 { break }
        }
        samples.sort()
        let allocationRounds = max(1, min(100, samples.count))
        MallocInterposerSwift.reset()
        MallocInterposerSwift.hook()
        for _ in 0..<allocationRounds { op() }
        MallocInterposerSwift.unhook()
        let stats = MallocInterposerSwift.getStatistics()
        let mean = samples.reduce(0, +) / Double(samples.count)
        return Result(
            name: b.name, unit: b.unit, iterations: samples.count,
            p50: samples[samples.count / 2], p90: samples[samples.count * 9 / 10], mean: mean,
            allocationsPerOperation: Double(stats.mallocCount) / Double(allocationRounds),
            bytesAllocatedPerOperation: Double(stats.mallocBytesCount) / Double(allocationRounds),
            megabytesPerSecond: b.bytesPerOperation > 0 ? Double(b.bytesPerOperation) / samples[samples.count / 2] / 1e6 : nil)
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
        let header = ["benchmark", "per", "p50", "p90", "allocs/op", "KiB alloc/op", "MB/s", "iterations"]
        var rows = [header]
        for r in results {
            rows.append([
                r.name, r.unit, formatTime(r.p50), formatTime(r.p90), format2(r.allocationsPerOperation),
                format2(r.bytesAllocatedPerOperation / 1024), r.megabytesPerSecond.map(format2) ?? "", String(r.iterations),
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
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        guard n > 0 else { return }
        let exe = String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
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
