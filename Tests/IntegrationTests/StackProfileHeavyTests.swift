#if canImport(Glibc)
import Glibc
#endif
import LookoutCore
import TestSupport
import Testing

/// The agent binary's stack profiles of a real busy program: `go tool pprof` names its hot
/// functions from `/debug/pprof/profile`; refused perf events leave thread-level profiles.
@Suite(.serialized) struct StackProfileHeavyTests {
    final class Busy {
        let dir = TemporaryDirectory(prefix: "lookout-stack-agent")
        let process: ChildProcess
        var pid: Int32 { process.pid }

        init() throws {
            dir.write("busy.c", twoHotFunctionsC)
            let cc = Shell.run(["cc", "-O2", "-g", "-fno-omit-frame-pointer", "-o", dir.path + "/busy", dir.path + "/busy.c"])
            try #require(cc.status == 0, "cc failed: \(cc.output)")
            process = try ChildProcess([dir.path + "/busy"])
        }

        deinit { process.kill() }
    }

    static func config(pid: Int32) -> String {
        """
        processes:
          - name: busy
            pid: \(pid)
            threads: true
        """
    }

    /// `go tool pprof` on a profile the agent served: its raw header and its -top table.
    static func pprof(_ body: [UInt8], _ args: [String]) throws -> String {
        let dir = TemporaryDirectory(prefix: "lookout-gopprof")
        let file = dir.write("profile.pb.gz", body)
        let go = try ChildProcess(
            ["go", "tool", "pprof"] + args + [file], stdout: dir.path + "/out", stderr: dir.path + "/err",
            environment: ["HOME": dir.path, "GOCACHE": dir.path + "/cache", "GOPATH": dir.path + "/go"])
        let status = go.wait(timeout: .seconds(120))
        let out = (try? FileIO.readText(dir.path + "/out")) ?? ""
        try #require(status == 0, "go tool pprof failed: \((try? FileIO.readText(dir.path + "/err")) ?? "")")
        return out
    }

    /// -top rows: flat and cum samples by name; and the total.
    static func top(_ text: String) -> (total: Double, flat: [String: Double], cum: [String: Double]) {
        var total = 0.0
        var flat: [String: Double] = [:]
        var cum: [String: Double] = [:]
        var inTable = false
        for line in text.split(separator: "\n") {
            if line.hasPrefix("Showing nodes accounting for"), let of = line.firstRange(of: " of ") {
                total = Double(line[of.upperBound...].split(separator: " ").first ?? "") ?? 0
            }
            if line.contains("flat%") {
                inTable = true
                continue
            }
            guard inTable else { continue }
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            guard f.count >= 6, let fl = Double(f[0]), let c = Double(f[3]) else { continue }
            let name = f[5...].joined(separator: " ")
            flat[name] = fl
            cum[name] = c
        }
        return (total, flat, cum)
    }

    static func metric(_ agent: AgentProcess, _ series: String) -> Double? {
        let text = String(decoding: agent.get("/metrics").body, as: UTF8.self)
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.split(separator: " ")[1])
        }
        return nil
    }

    @Test func theAgentsProfileNamesTheHotFunctions() async throws {
        let busy = try Busy()
        let agent = try AgentProcess(config: Self.config(pid: busy.pid))
        let active = await waitUntil(timeout: .seconds(10), every: .milliseconds(200)) {
            Self.metric(agent, "lookout_profiler_stack_sampling{status=\"active\"}") == 1
        }
        #expect(active, "\(agent.log)")
        // The first drains load the symbol tables (the kernel's, the program's): samples flow after.
        let flowing = await waitUntil(timeout: .seconds(60), every: .milliseconds(200)) {
            (Self.metric(agent, "lookout_profiler_samples_total{group=\"busy\"}") ?? 0) > 0
        }
        #expect(flowing, "\(agent.log)")

        let response = TestHTTP.get(agent.baseURL + "/debug/pprof/profile?seconds=10", timeout: 60)
        try #require(response.status == 200, "\(String(decoding: response.body, as: UTF8.self))")
        // Go's CPU profile shape: what Grafana Alloy's pyroscope.scrape reads as process_cpu.
        let raw = try Self.pprof(response.body, ["-raw"])
        #expect(raw.contains("PeriodType: cpu nanoseconds"), "\(raw.prefix(400))")
        #expect(raw.contains("samples/count cpu/nanoseconds"), "\(raw.prefix(400))")
        let t = Self.top(try Self.pprof(response.body, ["-top", "-sample_index=samples"]))
        let double = t.flat["hot_a"] ?? 0
        let single = t.flat["hot_b"] ?? 0
        print("agent profile: \(Int(t.total)) samples, hot_a \(Int(double)), hot_b \(Int(single)), cum caller \(Int(t.cum["caller"] ?? 0)), main \(Int(t.cum["main"] ?? 0))")
        #expect(t.total >= 10, "\(t)")
        #expect(double + single >= 0.9 * t.total, "\(t)")
        // The ratio within ±15% over thousands of samples is the engine's test (StacksTests); a
        // few dozen samples of a loaded machine only tell which function does more.
        #expect(double > single, "ratio \(double / max(single, 1))")
        #expect((t.cum["caller"] ?? 0) >= 0.85 * t.total, "\(t)")
        #expect((t.cum["main"] ?? 0) >= 0.85 * t.total, "\(t)")

        // Folded: group, process and thread as root frames.
        let folded = String(decoding: TestHTTP.get(agent.baseURL + "/debug/pprof/profile?seconds=5&format=folded", timeout: 30).body, as: UTF8.self)
        let lines = folded.split(separator: "\n")
        #expect(!lines.isEmpty)
        #expect(lines.allSatisfy { $0.hasPrefix("busy;pid \(busy.pid);busy;") }, "\(lines.prefix(5))")
        #expect(lines.contains { $0.contains(";main;caller;hot_a ") || $0.contains(";main;caller;hot_b ") }, "\(lines.prefix(5))")

        // The flame graph, and the status page's link to it.
        let svg = TestHTTP.get(agent.baseURL + "/debug/pprof/flamegraph?seconds=5&group=busy", timeout: 30)
        #expect(svg.status == 200)
        #expect(svg.headers.contains { $0.0.lowercased() == "content-type" && $0.1 == "image/svg+xml" })
        let svgText = String(decoding: svg.body, as: UTF8.self)
        #expect(svgText.hasPrefix("<?xml") || svgText.hasPrefix("<svg"))
        #expect(svgText.contains("hot_a"))
        let page = String(decoding: agent.get("/").body, as: UTF8.self)
        #expect(page.contains("/debug/pprof/flamegraph?seconds=10&amp;group=busy"))
        #expect(page.contains("stack sampling active"))

        #expect((Self.metric(agent, "lookout_profiler_samples_total{group=\"busy\"}") ?? 0) > 0)
        #expect(Self.metric(agent, "lookout_profiler_lost_samples_total") != nil)
        #expect(Self.metric(agent, "lookout_profiler_unwind_failures_total{reason=\"truncated\"}") != nil)
        #expect((Self.metric(agent, "lookout_profiler_symbol_cache_bytes") ?? 0) > 0)
    }

    /// The agent as `nobody` without capabilities, against a root process: perf events are
    /// refused; one log line says how to allow them; profiles are thread-level.
    @Test func refusedStackSamplingLeavesThreadLevelProfiles() async throws {
        let busy = try Busy()
        let dir = TemporaryDirectory(prefix: "lookout-denied")
        chmod(dir.path, 0o755)
        let agent = try AgentProcess(
            config: Self.config(pid: busy.pid), workingDirectory: dir,
            launcher: ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all"])
        let denied = await waitUntil(timeout: .seconds(10), every: .milliseconds(200)) {
            Self.metric(agent, "lookout_profiler_stack_sampling{status=\"denied\"}") == 1
        }
        #expect(denied, "\(agent.log)")
        let response = TestHTTP.get(agent.baseURL + "/debug/pprof/profile?seconds=3", timeout: 30)
        try #require(response.status == 200, "\(String(decoding: response.body, as: UTF8.self))")
        let t = Self.top(try Self.pprof(response.body, ["-top", "-sample_index=samples"]))
        // Thread-level: group, process and thread are the frames.
        #expect((t.cum["busy"] ?? 0) >= 0.9 * t.total && t.total > 0, "\(t)")
        #expect(t.flat["hot_a"] == nil)
        #expect(Self.metric(agent, "lookout_profiler_stack_sampling{status=\"active\"}") == 0)
        let refusals = agent.log.split(separator: "\n").filter { $0.contains("stack sampling denied") }
        #expect(refusals.count == 1, "\(agent.log)")
        for hint in ["CAP_PERFMON", "securityContext", "kernel.perf_event_paranoid"] {
            #expect(refusals.first?.contains(hint) == true, "\(hint) missing: \(refusals)")
        }
        print(refusals.first ?? "")
    }
}
