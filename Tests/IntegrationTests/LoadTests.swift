import LookoutCore
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// /metrics hammered by 64 connections for 60 s (wrk), the agent stack-sampling its own
/// threads (symbol tables of its own binary loaded meanwhile): the sampler keeps its 19 Hz (fewer
/// than 1% of ticks missed) and /-/healthy, asked 20 times a second by a separate client,
/// answers within 50 ms at p99. About 70 s; wall-clock bounds: runs in the serialized pass.
@Suite(.serialized) struct LoadTimingTests {
    static let seconds = 60

    @Test func samplerAndHealthyKeepUpWhileMetricsIsHammered() async throws {
        let wrk = try #require(Shell.which("wrk"), "wrk is not installed (Debian package wrk)")
        let server = try TestServer()
        // A realistic exposition: 20 probed targets, 5 of them scraped for 100 series each,
        // the agent's own process and threads.
        var body = "# TYPE app_requests_total counter\n"
        for i in 0..<100 { body += "app_requests_total{code=\"\(200 + i % 5)\",handler=\"/h\(i)\"} \(i * 17)\n" }
        server.set("/metrics", body: body, headers: ["Content-Type": "text/plain; version=0.0.4"])
        let port = Net.freePort()
        var config = """
            processes:
              - name: lookout
                cmdline: ".*lookout run --listen 127.0.0.1:\(port) .*"
                threads: true
            targets:

            """
        for i in 0..<20 {
            config += "  - name: t\(i)\n    health:\n      live: \(server.url("/ok"))\n"
            if i < 5 { config += "    metrics: \(server.url("/metrics"))\n" }
            config += "    interval: 1s\n    timeout: 900ms\n"
        }
        let agent = try AgentProcess(config: config, port: port)
        let ready = await waitUntil(timeout: .seconds(15), every: .milliseconds(200)) {
            let s = agent.samples()
            return s.value("lookout_processes", ["group": "lookout"]) == 1
                && s.all("app_requests_total").count == 500
        }
        #expect(ready, "\(agent.log)")
        // The first stack samples load the symbol tables of the agent's own binary and
        // libraries (on the stack worker's thread); the window starts once that is done.
        var cache = -1.0
        let warm = await waitUntil(timeout: .seconds(30), every: .seconds(2)) {
            let s = agent.samples()
            let bytes = s.value("lookout_profiler_symbol_cache_bytes") ?? 0
            defer { cache = bytes }
            return (s.value("lookout_profiler_samples_total", ["group": "lookout"]) ?? 0) > 0 && bytes > 0 && bytes == cache
        }
        #expect(warm, "symbol cache \(cache) bytes")
        let metricsBytes = agent.get("/metrics").body.count

        let before = agent.samples()
        let outDirectory = TemporaryDirectory(prefix: "lookout-wrk")
        let outPath = outDirectory.write("wrk.out", "")
        let load = try ChildProcess(
            [wrk, "-t2", "-c64", "-d\(Self.seconds)s", "--latency", agent.baseURL + "/metrics"], stdout: outPath,
            stderr: outPath)
        defer { load.kill() }
        // The separate client: one /-/healthy every 50 ms, each on a new connection.
        var latencies: [Double] = []
        var failures: [String] = []
        let start = monotonicSeconds()
        while load.isRunning && monotonicSeconds() - start < Double(Self.seconds + 30) {
            let t0 = monotonicSeconds()
            let r = agent.get("/-/healthy")
            if r.status == 200 { latencies.append(r.seconds) } else { failures.append("\(r.status) \(r.error ?? "")") }
            let pause = 0.05 - (monotonicSeconds() - t0)
            if pause > 0 { usleep(UInt32(pause * 1e6)) }
        }
        let status = load.wait(timeout: .seconds(10))
        let after = agent.samples()
        let report = (try? FileIO.readText(outPath)) ?? ""

        #expect(status == 0, "wrk: \(report)")
        #expect(agent.process.isRunning)
        let ticks = (after.value("lookout_sampler_ticks_total") ?? 0) - (before.value("lookout_sampler_ticks_total") ?? 0)
        let missed =
            (after.value("lookout_sampler_missed_ticks_total") ?? 0) - (before.value("lookout_sampler_missed_ticks_total") ?? 0)
        let missedRatio = missed / max(1, ticks + missed)
        // The agent stack-samples its own threads meanwhile, symbol tables of its own binary included.
        let stackSamples =
            (after.value("lookout_profiler_samples_total", ["group": "lookout"]) ?? 0)
            - (before.value("lookout_profiler_samples_total", ["group": "lookout"]) ?? 0)
        let symbolCache = after.value("lookout_profiler_symbol_cache_bytes") ?? 0
        func threadCPU(_ thread: String) -> Double {
            let name = "lookout_thread_cpu_seconds_total"
            return (after.value(name, ["group": "lookout", "thread": thread]) ?? 0)
                - (before.value(name, ["group": "lookout", "thread": thread]) ?? 0)
        }
        let p50 = percentile(latencies, 50), p99 = percentile(latencies, 99), worst = percentile(latencies, 100)
        let requests = Self.field(report, "Requests/sec:")
        print(
            """
            load: /metrics (\(metricsBytes) bytes) under wrk -t2 -c64 -d\(Self.seconds)s: \(requests ?? "?") requests/s
            load: sampler ticks \(Int(ticks)), missed \(Int(missed)) (\(fixed(missedRatio * 100, 3))%), while stack-sampling itself: \(Int(stackSamples)) samples, symbol cache \(fixed(symbolCache / 1_048_576, 1)) MiB; CPU s of the sampler thread \(fixed(threadCPU("lookout-sampler"), 2)), of the stack worker \(fixed(threadCPU("lookout-stacks"), 2))
            load: /-/healthy \(latencies.count) answers, \(failures.count) failures, p50 \(fixed(p50 * 1000, 1)) ms, p99 \(fixed(p99 * 1000, 1)) ms, max \(fixed(worst * 1000, 1)) ms
            \(report)
            """)
        // The load was real: wrk got answers, many of them.
        #expect(Double(requests ?? "0") ?? 0 > 100, "\(report)")
        #expect(!report.contains("Non-2xx"), "\(report)")
        #expect(ticks >= Double(19 * (Self.seconds - 5)), "\(ticks) ticks")
        #expect(missedRatio < 0.01, "\(missed) of \(ticks + missed) ticks missed")
        #expect(after.value("lookout_profiler_stack_sampling", ["status": "active"]) == 1)
        #expect(stackSamples > 0 && symbolCache > 0, "\(stackSamples) stack samples, symbol cache \(symbolCache) bytes")
        #expect(failures.isEmpty, "\(failures.prefix(10))")
        #expect(latencies.count >= 10 * Self.seconds, "\(latencies.count) /-/healthy answers")
        #expect(p99 < 0.050, "p99 of /-/healthy \(p99 * 1000) ms")
    }

    /// The value after `label` in wrk's report.
    static func field(_ report: String, _ label: String) -> String? {
        for line in report.split(separator: "\n") where line.droppingLeadingSpaces().hasPrefix(label) {
            return line.split(separator: " ", omittingEmptySubsequences: true).last.map(String.init)
        }
        return nil
    }
}

extension Substring {
    fileprivate func droppingLeadingSpaces() -> Substring {
        var s = self
        while s.first == " " { s.removeFirst() }
        return s
    }
}
