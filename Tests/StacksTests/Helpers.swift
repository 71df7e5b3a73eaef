#if canImport(Glibc)
import Glibc
#endif
import LookoutCore
import Profiles
import Stacks
import Testing
import TestSupport


/// The same with xorshift chains, for LLVM (clang, swiftc), which folds a multiply-add
/// chain several steps at a time.
let twoHotFunctionsXorshiftC = """
    #include <stdint.h>
    volatile uint64_t sink;
    #define SPIN(name, a) __attribute__((noinline, aligned(64))) void name(uint64_t n) { \\
        uint64_t x = n | 1; for (uint64_t i = 0; i < n; i++) { x ^= x << a; x ^= x >> 7; x ^= x << 17; } sink = x; }
    SPIN(hot_a, 13)
    SPIN(hot_b, 12)
    __attribute__((noinline)) void caller(void) { for (;;) { hot_a(20000000); hot_b(10000000); } }
    int main(void) { caller(); return 0; }
    """

/// A program built in a temporary directory.
struct BuiltProgram {
    let directory: TemporaryDirectory
    let path: String
}

enum Build {
    /// Compiles `source` (written as `file`) with `command` (`$SRC` and `$OUT` substituted);
    /// records the compiler's output in the failure.
    static func program(
        _ source: String, file: String, command: [String], environment: [String: String] = [:],
        sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) throws -> BuiltProgram {
        let dir = TemporaryDirectory(prefix: "lookout-stacks")
        let src = dir.write(file, source)
        let out = dir.path + "/prog"
        let args = command.map { $0.replacing("$SRC", with: src).replacing("$OUT", with: out) }
        let result = run(args, environment: environment, directory: dir.path)
        try #require(result.status == 0, "\(args.joined(separator: " ")) failed: \(result.output)", sourceLocation: sourceLocation)
        return BuiltProgram(directory: dir, path: out)
    }

    /// Runs a command to completion with extra environment, in `directory`.
    static func run(
        _ args: [String], environment: [String: String] = [:], directory: String? = nil, timeout: Duration = .seconds(300)
    ) -> (status: Int32, output: String) {
        let dir = TemporaryDirectory(prefix: "lookout-run")
        let out = dir.path + "/out"
        guard let p = try? ChildProcess(args, stdout: out, stderr: out, environment: environment, workingDirectory: directory)
        else { return (-1, "cannot start \(args[0])") }
        let status = p.wait(timeout: timeout) ?? { p.kill(); return -9 }()
        return (status, (try? FileIO.readText(out)) ?? "")
    }
}

/// Records a stack profile of `pids` until `minSamples` samples are in (or `timeout`),
/// draining every 20 ms like a fast sampler tick.
func recordStacks(
    _ pids: [Int32: String], settings: StackSamplingSettings, minSamples: Int64 = 400, timeout: Duration = .seconds(40),
    sourceLocation: Testing.SourceLocation = #_sourceLocation
) async throws -> (profile: StackProfile, counters: StackSamplingCounters) {
    let sampler = try StackSampler.start(settings).get()
    let errors = sampler.setTargets(pids)
    try #require(errors.isEmpty, "\(errors)", sourceLocation: sourceLocation)
    var aggregate = StackAggregate(periodNanoseconds: settings.periodNanoseconds)
    let clock = SystemClock()
    let start = clock.now
    let wallStart = clock.wallNow
    while aggregate.samples < minSamples, clock.now - start < timeout {
        try await Task.sleep(for: .milliseconds(20))
        aggregate.add(sampler.drain())
    }
    sampler.stop()
    return (StackProfile(aggregate: aggregate, startTime: wallStart, duration: clock.now - start), sampler.counters)
}

/// Settings for tests: a higher frequency to have enough samples in a few seconds, and big
/// rings (the `cpus` scope samples every task of a busy machine).
func testSettings(
    dwarf: DwarfUnwinding = .auto, scope: StackSamplingScope = .cpus, frequency: Int = 499
) -> StackSamplingSettings {
    StackSamplingSettings(frequency: frequency, dwarfUnwinding: dwarf, scope: scope, ringPages: scope == .cpus ? 1024 : 256)
}

/// One row of `go tool pprof -top`.
struct TopRow {
    var flat: Double
    var flatPercent: Double
    var cumulative: Double
    var cumulativePercent: Double
    var name: String
}

/// `go tool pprof -top` of a profile, parsed; the raw output for failure messages.
func pprofTop(_ profile: StackProfile, extra: [String] = []) throws -> (rows: [TopRow], output: String) {
    let dir = TemporaryDirectory(prefix: "lookout-pprof")
    let file = dir.write("cpu.pb.gz", try profile.pprofGzip())
    let result = goTool(["pprof", "-top"] + extra + [file])
    try #require(result.status == 0, "go tool pprof failed: \(result.output)")
    var rows: [TopRow] = []
    for line in result.output.split(separator: "\n") {
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count >= 6, fields[1].hasSuffix("%"), fields[4].hasSuffix("%") else { continue }
        guard let fp = Double(fields[1].dropLast()), let cp = Double(fields[4].dropLast()) else { continue }
        rows.append(
            TopRow(
                flat: pprofValue(fields[0]), flatPercent: fp, cumulative: pprofValue(fields[3]), cumulativePercent: cp,
                name: fields[5...].joined(separator: " ")))
    }
    return (rows, result.output)
}

/// `go tool ARGS` with a writable cache.
func goTool(_ args: [String]) -> (status: Int32, output: String) {
    Build.run(["go", "tool"] + args, environment: ["GOCACHE": "/tmp/lookout-gocache", "HOME": "/tmp"])
}

/// `1.60s`, `250ms`, `0` -> seconds (only relative values matter here).
private func pprofValue(_ s: Substring) -> Double {
    var digits = s
    var scale = 1.0
    for (suffix, factor) in [("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9), ("s", 1.0), ("min", 60.0), ("hrs", 3600.0)] where s.hasSuffix(suffix) {
        digits = s.dropLast(suffix.count)
        scale = factor
        break
    }
    return (Double(digits) ?? 0) * scale
}

/// The acceptance check of a two-hot-function profile through `go tool pprof -top`:
/// ≥ 90 % of samples in the two hot functions, in a 2:1 ratio ± 15 %, and ≥ 85 %
/// cumulative to the caller and to main. Returns the figures for the report.
@discardableResult
func expectTwoHotFunctions(
    _ profile: StackProfile, hotA: String, hotB: String, caller: String, main: String,
    sourceLocation: Testing.SourceLocation = #_sourceLocation
) throws -> String {
    let (rows, output) = try pprofTop(profile)
    func row(_ name: String) -> TopRow? {
        rows.first { $0.name == name } ?? rows.first { $0.name.contains(name) }
    }
    let a = try #require(row(hotA), "\(hotA) not in:\n\(output)", sourceLocation: sourceLocation)
    let b = try #require(row(hotB), "\(hotB) not in:\n\(output)", sourceLocation: sourceLocation)
    let c = try #require(row(caller), "\(caller) not in:\n\(output)", sourceLocation: sourceLocation)
    let m = try #require(row(main), "\(main) not in:\n\(output)", sourceLocation: sourceLocation)
    let ratio = a.flat / max(b.flat, 1e-9)
    let summary =
        "\(profile.aggregate.samples) samples: \(hotA) \(a.flatPercent)%, \(hotB) \(b.flatPercent)% (ratio \(fixed(ratio, 2))), "
        + "cum \(caller) \(c.cumulativePercent)%, \(main) \(m.cumulativePercent)%"
    #expect(a.flatPercent + b.flatPercent >= 90, "\(summary)\n\(output)", sourceLocation: sourceLocation)
    #expect(ratio >= 2 * 0.85 && ratio <= 2 * 1.15, "\(summary)\n\(output)", sourceLocation: sourceLocation)
    #expect(c.cumulativePercent >= 85, "\(summary)\n\(output)", sourceLocation: sourceLocation)
    #expect(m.cumulativePercent >= 85, "\(summary)\n\(output)", sourceLocation: sourceLocation)
    print("pprof -top: \(summary)")
    return summary
}

/// Starts `path` with arguments; killed (by PID) when the value goes.
func startProgram(_ args: [String], environment: [String: String] = [:], directory: String? = nil) throws -> ChildProcess {
    let p = try ChildProcess(args, environment: environment, workingDirectory: directory)
    // Let it get going (exec, dynamic linking, a JIT's first compilation).
    usleep(200_000)
    return p
}
