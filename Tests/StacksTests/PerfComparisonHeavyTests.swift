#if canImport(Glibc)
import Glibc
#endif
import LookoutCore
import Profiles
import Stacks
import Testing
import TestSupport

/// lookout's profile against `perf record -g` + `perf report` on the same workload at the
/// same time: the top 5 functions' shares within 5 percentage points, with at least 2,000
/// samples each (at 997 Hz, to fit in a test; 19 Hz needs minutes for as many). Both sample
/// until the workload has had the CPU time for well over 2,000 samples and lookout holds
/// 2,000, however loaded the machine (at least 30 s, at most 240 s).
@Suite(.serialized) struct PerfComparisonHeavyTests {
    static let workload = """
        #include <pthread.h>
        #include <stdint.h>
        volatile uint64_t sink;
        #define SPIN(name) __attribute__((noinline)) void name(uint64_t n) { for (uint64_t i = 0; i < n; i++) sink += i * i; }
        SPIN(parse_request) SPIN(compute_hash) SPIN(encode_json) SPIN(compress) SPIN(write_log)
        __attribute__((noinline)) void handle(void) {
            parse_request(400000); compute_hash(250000); encode_json(150000); compress(120000); write_log(80000);
        }
        void *worker(void *arg) { (void)arg; for (;;) handle(); return 0; }
        int main(void) { pthread_t t; pthread_create(&t, 0, worker, 0); worker(0); }
        """

    @Test func topFiveMatchPerfReport() async throws {
        guard Shell.which("perf") != nil else {
            Issue.record("perf (linux-perf) is not installed")
            return
        }
        let prog = try Build.program(
            Self.workload, file: "work.c", command: ["gcc", "-O2", "-fno-omit-frame-pointer", "-g", "-pthread", "-o", "$OUT", "$SRC"])
        let p = try startProgram([prog.path])
        let dir = TemporaryDirectory(prefix: "lookout-perf")
        let data = dir.path + "/perf.data"
        let frequency = 997
        // perf until interrupted, with 4 MiB of ring buffer per CPU (it loses samples too
        // when it is not scheduled in time).
        let perf = try ChildProcess(
            ["perf", "record", "-F", String(frequency), "-g", "-m", "1024", "-p", String(p.pid), "-o", data],
            stdout: dir.path + "/record.log", stderr: dir.path + "/record.log")
        // lookout samples the same seconds, drained every 10 ms, with 1 KiB stack copies (the
        // workload has frame pointers): its 1 MiB rings per CPU hold most of a second.
        // (Larger rings would count in this process's pinned memory, and the denied tests'
        // unprivileged mappings must keep that within RLIMIT_MEMLOCK.)
        var settings = testSettings(scope: .tasks, frequency: frequency)
        settings.stackCopyBytes = 1024
        let sampler = try StackSampler.start(settings).get()
        sampler.setTargets([p.pid: "work"])
        var aggregate = StackAggregate(periodNanoseconds: 1_000_000_000 / Int64(frequency))
        let clock = SystemClock()
        let start = clock.now
        let wallStart = clock.wallNow
        let cpuStart = try processCPUSeconds(p.pid)
        // perf's samples are the workload's CPU time times the frequency, less what it loses:
        // wait for 3 s of CPU time (~3,000 samples).
        while clock.now - start < .seconds(240) {
            try await Task.sleep(for: .milliseconds(10))
            aggregate.add(sampler.drain())
            if clock.now - start >= .seconds(30), aggregate.samples >= 2000,
                try processCPUSeconds(p.pid) - cpuStart >= 3.0
            {
                break
            }
        }
        sampler.stop()
        perf.signal(SIGINT)
        let status = perf.wait(timeout: Duration.seconds(60))
        // perf writes its data and ends with the signal it was interrupted by.
        try #require(status == 0 || status == -SIGINT, "perf record: \((try? FileIO.readText(dir.path + "/record.log")) ?? "")")
        let lookout = StackProfile(aggregate: aggregate, startTime: wallStart, duration: clock.now - start)

        let report = Build.run(
            ["perf", "report", "-i", data, "--stdio", "--no-children", "--sort", "symbol", "-F", "overhead,sample,sym"])
        try #require(report.status == 0, "\(report.output)")
        var perfShares: [String: Double] = [:]
        var perfSamples = 0
        // `  41.91%   1234  [.] parse_request  -  -` (the last two: IPC columns perf adds).
        for line in report.output.split(separator: "\n") {
            var f = line.split(separator: " ", omittingEmptySubsequences: true)
            guard f.count >= 4, f[0].hasSuffix("%"), let share = Double(f[0].dropLast()), let n = Int(f[1]), f[2].hasPrefix("[")
            else { continue }
            while f.last == "-" { f.removeLast() }
            perfShares[f[3...].joined(separator: " "), default: 0] += share
            perfSamples += n
        }
        let lookoutTop = lookout.topFunctions(10)
        let total = Double(lookout.aggregate.samples)
        let perfTop = perfShares.sorted { $0.value > $1.value }.prefix(5)
        var rows: [String] = []
        for (name, share) in perfTop {
            let ours = Double(lookoutTop.first { $0.name == name }?.flat ?? 0) / total * 100
            rows.append("\(name): perf \(fixed(share, 1))%, lookout \(fixed(ours, 1))%")
            #expect(abs(ours - share) <= 5, "\(name): perf \(share)%, lookout \(ours)%")
        }
        print(
            "\(fixed((clock.now - start).seconds, 1)) s, load \(loadAverage()): "
                + "perf \(perfSamples) samples, lookout \(lookout.aggregate.samples) samples (\(sampler.counters.lostSamples) lost); "
                + rows.joined(separator: "; "))
        #expect(lookout.aggregate.samples >= 2000, "lookout: \(lookout.aggregate.samples) samples")
        #expect(perfSamples >= 2000, "perf: \(perfSamples) samples\n\(report.output.prefix(2000))")
        #expect(Set(perfTop.map(\.key)) == Set(lookoutTop.prefix(5).map(\.name)), "\(rows)")
    }
}

/// User and system CPU seconds of a process (from /proc/PID/stat).
func processCPUSeconds(_ pid: Int32) throws -> Double {
    let stat = try FileIO.readText("/proc/\(pid)/stat")
    // The fields after the command's closing parenthesis: state is field 3, utime 14, stime 15.
    guard let close = stat.lastIndex(of: ")") else { return 0 }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

/// The 1-minute load average, for messages.
func loadAverage() -> String {
    ((try? FileIO.readText("/proc/loadavg")) ?? "").split(separator: " ").first.map(String.init) ?? "?"
}
