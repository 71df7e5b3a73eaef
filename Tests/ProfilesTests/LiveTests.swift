#if canImport(Glibc)
import Glibc
#endif
import LookoutCore
import ProcFS
import Sampling
import TestSupport
import Testing

@testable import Profiles

/// Profiles of real processes from the real /proc, read back by `go tool pprof`.
/// Serialized: the busy threads of one test would starve the others' samplers.
@Suite(.serialized) struct LiveProfileTimingTests {
    /// A test program: `busy burn PREFIX N` starts N threads that spin; `busy nap PREFIX N`
    /// starts N threads that run 200 µs and sleep 5 ms. Threads are named PREFIX-a, PREFIX-b...
    /// The main thread waits in pause() and never runs again.
    static let source = """
        #define _GNU_SOURCE
        #include <pthread.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <time.h>
        #include <unistd.h>

        static volatile unsigned long sink;

        static void *burn(void *arg) {
            (void)arg;
            for (;;) sink++;
            return NULL;
        }

        static void *nap(void *arg) {
            (void)arg;
            for (;;) {
                struct timespec a, b;
                clock_gettime(CLOCK_MONOTONIC, &a);
                do {
                    sink++;
                    clock_gettime(CLOCK_MONOTONIC, &b);
                } while ((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec) < 200000);
                usleep(5000);
            }
            return NULL;
        }

        int main(int argc, char **argv) {
            if (argc != 4) return 2;
            int n = atoi(argv[3]);
            for (int i = 0; i < n; i++) {
                pthread_t t;
                if (pthread_create(&t, NULL, strcmp(argv[1], "burn") == 0 ? burn : nap, NULL) != 0) return 1;
                char name[16];
                snprintf(name, sizeof name, "%s-%c", argv[2], 'a' + i);
                if (pthread_setname_np(t, name) != 0) return 1;
            }
            printf("ready\\n");
            fflush(stdout);
            for (;;) pause();
        }
        """

    /// The compiled program and a running instance of it.
    final class Busy {
        let dir = TemporaryDirectory(prefix: "lookout-profile-live")
        let process: ChildProcess
        var pid: Int32 { process.pid }

        init(_ mode: String, _ prefix: String, threads: Int) async throws {
            dir.write("busy.c", LiveProfileTimingTests.source)
            let cc = Shell.run(["gcc", "-O1", "-pthread", "-o", dir.path + "/busy", dir.path + "/busy.c"])
            try #require(cc.status == 0, "gcc failed: \(cc.output)")
            process = try ChildProcess([dir.path + "/busy", mode, prefix, String(threads)], stdout: dir.path + "/out")
            let ready = await waitUntil { ((try? FileIO.readText(self.dir.path + "/out")) ?? "").contains("ready") }
            try #require(ready, "the test program did not start")
        }

        deinit { process.kill() }
    }

    /// A real sampler at 19 Hz watching one process, running until `stop()`.
    final class LiveSampler {
        let recorder = ProfileRecorder(clock: SystemClock())
        let sampler: Sampler
        let service: ProfileService
        let task: Task<Void, any Error>

        init(pid: Int32, group: String) async throws {
            sampler = Sampler(
                groups: [ProcessGroupSettings(name: group, selector: .pid(pid), threads: true)], procfs: try ProcFS(),
                reporters: [recorder])
            service = ProfileService(recorder: recorder, sampler: sampler)
            let s = sampler
            task = Task { try await s.run() }
            let ready = await waitUntil { s.isReady }
            try #require(ready, "the sampler did not tick")
        }

        func stop() async {
            task.cancel()
            _ = try? await task.value
        }
    }

    /// `go tool pprof -top -sample_index=samples FILE`: (total, [function: cum]).
    static func pprofTop(_ path: String) throws -> (total: Int64, cum: [String: Int64], output: String) {
        let home = TemporaryDirectory(prefix: "lookout-gohome")
        let out = home.path + "/top.txt"
        let go = try ChildProcess(
            ["go", "tool", "pprof", "-top", "-sample_index=samples", path], stdout: out, stderr: home.path + "/err.txt",
            environment: ["HOME": home.path, "GOCACHE": home.path + "/cache", "GOPATH": home.path + "/go"])
        let status = go.wait(timeout: .seconds(120))
        let text = (try? FileIO.readText(out)) ?? ""
        let err = (try? FileIO.readText(home.path + "/err.txt")) ?? ""
        try #require(status == 0, "go tool pprof failed (\(String(describing: status))): \(err)\(text)")
        // "Showing nodes accounting for 114, 100% of 114 total"
        var total: Int64 = 0
        var cum: [String: Int64] = [:]
        var inTable = false
        for line in text.split(separator: "\n") {
            if line.hasPrefix("Showing nodes accounting for"), let of = line.firstRange(of: " of ") {
                total = Int64(line[of.upperBound...].split(separator: " ").first ?? "") ?? 0
            }
            if line.contains("flat%") && line.contains("cum%") {
                inTable = true
                continue
            }
            guard inTable else { continue }
            // flat flat% sum% cum cum% name; the name may hold spaces ("pid 42").
            var rest = line[...]
            var numbers: [Substring] = []
            while numbers.count < 5 {
                rest = rest.drop { $0 == " " }
                guard let end = rest.firstIndex(of: " ") else { break }
                numbers.append(rest[..<end])
                rest = rest[end...]
            }
            guard numbers.count == 5, let c = Int64(numbers[3]) else { continue }
            cum[String(rest.drop { $0 == " " }), default: 0] += c
        }
        return (total, cum, text)
    }

    /// Folded lines as (thread frame, count); the thread is the third frame.
    static func foldedByThread(_ text: String) -> [String: Int64] {
        var out: [String: Int64] = [:]
        for line in text.split(separator: "\n") {
            guard let space = line.lastIndex(of: " "), let n = Int64(line[line.index(after: space)...]) else { continue }
            let frames = line[..<space].split(separator: ";")
            out[frames.count > 2 ? String(frames[2]) : "", default: 0] += n
        }
        return out
    }

    @Test func goToolPprofAttributesTheSamplesToTheTwoBusyThreads() async throws {
        let busy = try await Busy("burn", "burner", threads: 2)
        let live = try await LiveSampler(pid: busy.pid, group: "burners")
        // Two clients at once: the pprof and the folded form of the same window.
        let service = live.service
        async let pprof = service.handle(query: [("seconds", "3")])
        async let folded = service.handle(query: [("seconds", "3"), ("format", "folded")])
        let (p, f) = await (pprof, folded)
        await live.stop()

        #expect(p.status == 200)
        #expect(p.contentType == "application/octet-stream")
        let file = busy.dir.write("profile.pb.gz", p.body)
        let top = try Self.pprofTop(file)
        let burners = (top.cum["burner-a"] ?? 0) + (top.cum["burner-b"] ?? 0)
        #expect(top.total > 0)
        #expect(Double(burners) >= 0.9 * Double(top.total), "\(top.output)")
        // Both threads ran all along: neither is a rounding error.
        #expect(Double(top.cum["burner-a"] ?? 0) >= 0.3 * Double(top.total), "\(top.output)")
        #expect(Double(top.cum["burner-b"] ?? 0) >= 0.3 * Double(top.total), "\(top.output)")
        // The process and its group are the root frames of every sample.
        #expect(top.cum["burners"] == top.total, "\(top.output)")
        #expect(top.cum["pid \(busy.pid)"] == top.total, "\(top.output)")

        #expect(f.status == 200)
        let lines = Self.foldedByThread(String(decoding: f.body, as: UTF8.self))
        let total = lines.values.reduce(0, +)
        let foldedBurners = (lines["burner-a"] ?? 0) + (lines["burner-b"] ?? 0)
        #expect(total > 0)
        #expect(Double(foldedBurners) >= 0.9 * Double(total), "\(String(decoding: f.body, as: UTF8.self))")
        #expect(String(decoding: f.body, as: UTF8.self).split(separator: "\n").allSatisfy { $0.hasPrefix("burners;pid \(busy.pid);") })
    }

    @Test func kernelStacksLeadAndRecordingCostsTheSamplerNoTicks() async throws {
        let busy = try await Busy("nap", "napper", threads: 8)
        let live = try await LiveSampler(pid: busy.pid, group: "nappers")
        // Let the sampler settle, then compare its missed ticks across a recording.
        try await Task.sleep(for: .milliseconds(300))
        let missedBefore = live.sampler.metrics.missedTicks
        let ticksBefore = live.sampler.metrics.ticks
        let r = await live.service.handle(query: [("seconds", "4")])
        let missedAfter = live.sampler.metrics.missedTicks
        let ticksAfter = live.sampler.metrics.ticks
        await live.stop()

        #expect(r.status == 200)
        #expect(ticksAfter - ticksBefore >= 4 * 19 - 2)
        #expect(missedAfter == missedBefore, "ticks missed while recording: \(missedAfter - missedBefore)")
        let d = try #require(decodeGzipped(r.body))
        let nappers = d.samples.filter { $0.frames.contains { $0.hasPrefix("napper-") } }
        #expect(!nappers.isEmpty)
        // The main thread waits in pause() and never ran: no samples.
        #expect(!d.samples.contains { $0.numLabels["tid"] == Int64(busy.pid) })
        // A napping thread is asleep when the tick looks at it: its kernel stack (or wait
        // channel) comes first, then the thread, the process and the group.
        let withKernel = nappers.filter { $0.frames.count > 3 }
        let withKernelCount = withKernel.map { $0.values[0] }.reduce(0, +)
        let allCount = nappers.map { $0.values[0] }.reduce(0, +)
        #expect(Double(withKernelCount) >= 0.5 * Double(allCount), "\(nappers.map(\.frames))")
        for s in withKernel.prefix(20) {
            #expect(s.frames.suffix(2) == ["pid \(busy.pid)", "nappers"])
            #expect(s.frames[s.frames.count - 3].hasPrefix("napper-"))
        }
        #expect(
            withKernel.contains { $0.frames.contains { ["hrtimer_nanosleep", "do_nanosleep", "clock_nanosleep"].contains($0) } },
            "\(withKernel.map(\.frames))")
        #expect(d.samples.allSatisfy { $0.values[1] > 0 }, "on-CPU nanoseconds for every sample")
    }

    @Test func theProfileCommandRecordsOneProcess() async throws {
        let busy = try await Busy("burn", "cmd", threads: 2)
        let gz = busy.dir.path + "/cmd.pb.gz"
        // Thread-level with stack sampling off.
        var threadLevel = SamplerSettings()
        threadLevel.stacks = false
        let summary = try await ProfileCommand.run(pid: busy.pid, seconds: 2, output: gz, sampling: threadLevel)
        #expect(summary.format == .pprof)
        #expect(summary.group == "busy")
        #expect(summary.samples > 0)
        #expect(!summary.realStacks)
        let top = try Self.pprofTop(gz)
        #expect(Double((top.cum["cmd-a"] ?? 0) + (top.cum["cmd-b"] ?? 0)) >= 0.9 * Double(top.total), "\(top.output)")

        // Function stacks by default (perf events are allowed as root): the threads' function.
        let stacksGz = busy.dir.path + "/stacks.pb.gz"
        let withStacks = try await ProfileCommand.run(pid: busy.pid, seconds: 5, output: stacksGz)
        #expect(withStacks.realStacks, "\(withStacks.description)")
        #expect(withStacks.description.contains("(function stacks)"))
        let stackTop = try Self.pprofTop(stacksGz)
        #expect(stackTop.total >= 10, "\(stackTop.output)")
        #expect(Double(stackTop.cum["burn"] ?? 0) >= 0.9 * Double(stackTop.total), "\(stackTop.output)")
        #expect(Double(stackTop.cum["start_thread"] ?? 0) >= 0.9 * Double(stackTop.total), "\(stackTop.output)")

        // By group from the config, folded by the file name.
        let folded = busy.dir.path + "/cmd.folded"
        let groups = [ProcessGroupSettings(name: "other", selector: .pid(1)), ProcessGroupSettings(name: "svc", selector: .pid(busy.pid))]
        let s2 = try await ProfileCommand.run(group: "svc", seconds: 1, output: folded, groups: groups, sampling: threadLevel)
        #expect(s2.format == .folded)
        let lines = Self.foldedByThread(try FileIO.readText(folded))
        #expect((lines["cmd-a"] ?? 0) + (lines["cmd-b"] ?? 0) > 0)
        #expect(try FileIO.readText(folded).split(separator: "\n").allSatisfy { $0.hasPrefix("svc;pid \(busy.pid);") })
    }

    @Test func theProfileCommandsErrorsAndExitCodes() async throws {
        let dir = TemporaryDirectory(prefix: "lookout-profile-cmd")
        let out = dir.path + "/p.pb.gz"
        func failure(
            pid: Int32? = nil, group: String? = nil, seconds: Int? = 1, output: String?, format: String? = nil, type: String? = nil,
            groups: [ProcessGroupSettings] = []
        ) async -> ProfileCommand.Failure? {
            do {
                _ = try await ProfileCommand.run(
                    pid: pid, group: group, seconds: seconds, output: output, format: format, type: type, groups: groups)
                return nil
            } catch {
                return error
            }
        }
        let usage: [(ProfileCommand.Failure?, String)] = [
            (await failure(output: out), "give the process to profile: --pid PID or --group NAME"),
            (await failure(pid: 1, group: "x", output: out), "--pid and --group exclude each other"),
            (await failure(pid: 0, output: out), "--pid must be a positive process ID, got 0"),
            (await failure(pid: 1, seconds: 0, output: out), "--seconds must be from 1 to 300, got 0"),
            (await failure(pid: 1, seconds: 301, output: out), "--seconds must be from 1 to 300, got 301"),
            (await failure(pid: 1, output: nil), "give the output file: -o FILE (or -o - for standard output)"),
            (await failure(pid: 1, output: out, format: "svg"), "--format must be pprof or folded, got \"svg\""),
            (await failure(pid: 1, output: out, type: "heap"), "--type must be cpu, block or mutex, got \"heap\""),
            (await failure(group: "api", output: out), "no process group named \"api\" in the config (it has no processes)"),
            (
                await failure(group: "api", output: out, groups: [.init(name: "web", selector: .pid(1))]),
                "no process group named \"api\" in the config (groups: web)"
            ),
        ]
        for (f, message) in usage {
            #expect(f?.exitCode == 2, "\(message)")
            #expect(f?.message == message)
        }
        // Runtime failures: a PID nobody has, a group that matches nothing, an unwritable file.
        let gone = await failure(pid: Int32.max - 1, output: out)
        #expect(gone?.exitCode == 1)
        #expect(gone?.message == "no process with PID \(Int32.max - 1) (/proc/\(Int32.max - 1)/comm is missing)")
        let nothing = await failure(group: "ghost", output: out, groups: [.init(name: "ghost", selector: .pidfile(dir.path + "/none.pid"))])
        #expect(nothing?.exitCode == 1)
        #expect(nothing?.message == "group \"ghost\" matched no process")
        let unwritable = await failure(pid: getpid(), output: dir.path + "/no/such/dir/p.pb.gz")
        #expect(unwritable?.exitCode == 1)
        #expect(unwritable?.message.hasPrefix("cannot write the profile: ") == true)
        #expect(!FileIO.exists(out))
    }
}
