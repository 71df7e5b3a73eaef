import LookoutCore
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Misbehaving targets against the real binary: each gets its own verdict and reason, and
/// none of them delays the healthy target, the sampler or the agent's own endpoints.
/// Wall-clock bounds: runs in the serialized pass.
@Suite(.serialized) struct FaultTimingTests {
    @Test func misbehavingTargetsGetTheirVerdictAndDelayNothingElse() async throws {
        let server = try TestServer()
        // The bomb is built on first request; build it now so the agent's first probe sees it whole.
        _ = TestHTTP.get(server.url("/gzipbomb/64"), timeout: 30)
        let config = """
            sampling:
              frequency: 19
            targets:
              - name: hang
                health:
                  live: \(server.url("/hang"))
                interval: 1s
                timeout: 1s
              - name: reset
                health:
                  live: \(server.url("/reset"))
                interval: 1s
                timeout: 1s
              - name: trickle
                health:
                  live: \(server.url("/trickle/30"))
                interval: 2s
                timeout: 1500ms
              - name: big
                metrics: \(server.url("/big/52428800"))
                interval: 3s
                timeout: 3s
                body_size_limit: 10MiB
              - name: bomb
                metrics: \(server.url("/gzipbomb/64"))
                interval: 3s
                timeout: 3s
                body_size_limit: 10MiB
              - name: nodns
                health:
                  live: http://lookout-test.invalid/
                interval: 1s
                timeout: 1s
              - name: fast
                health:
                  live: \(server.url("/ok"))
                interval: 1s
                timeout: 1s
            """
        let agent = try AgentProcess(config: config)
        let names = ["hang", "reset", "trickle", "big", "bomb", "nodns", "fast"]
        let everyTargetHasAResult = await waitUntil(timeout: .seconds(20), every: .milliseconds(200)) {
            let t = agent.targets()
            return names.allSatisfy { name in
                t[name]?["endpoints"]?.arrayValue?.allSatisfy { $0["last_result"] != nil && $0["last_result"] != .null } == true
            }
        }
        #expect(everyTargetHasAResult, "\(agent.get("/api/v1/targets").text)\n\(agent.log)")

        // A measured window: the healthy target's probes, the sampler's ticks and /-/healthy.
        let before = agent.samples()
        let fastProbesBefore = agent.targets()["fast"]?["endpoints"]?[0]?["probes"]?.doubleValue ?? 0
        let windowStart = monotonicSeconds()
        var healthy: [Double] = []
        var healthyFailures: [String] = []
        while monotonicSeconds() - windowStart < 8 {
            let r = agent.get("/-/healthy")
            if r.status == 200 { healthy.append(r.seconds) } else { healthyFailures.append("\(r.status) \(r.error ?? "")") }
            try await Task.sleep(for: .milliseconds(100))
        }
        let window = monotonicSeconds() - windowStart
        let after = agent.samples()
        let fastProbesAfter = agent.targets()["fast"]?["endpoints"]?[0]?["probes"]?.doubleValue ?? 0

        // The healthy target is probed every interval while the others hang, trickle and overflow.
        let fastProbes = fastProbesAfter - fastProbesBefore
        #expect(fastProbes >= (window - 2).rounded(.down), "fast target probed \(fastProbes) times in \(window) s")
        let fast = try #require(agent.lastResult("fast", "live"))
        #expect(fast["verdict"] == "ok")
        #expect(fast["success"] == true)
        #expect(after.value("lookout_probe_success", ["target": "fast", "endpoint": "live"]) == 1)
        #expect(after.all("lookout_probe_failures_total", ["target": "fast"]).isEmpty)
        let fastTotal = after.value("lookout_probe_duration_seconds", ["target": "fast", "endpoint": "live", "phase": "total"])
        #expect(fastTotal.map { $0 < 0.5 } == true, "fast target's last probe took \(fastTotal ?? -1) s")

        // The sampler keeps its 19 Hz.
        let ticks = (after.value("lookout_sampler_ticks_total") ?? 0) - (before.value("lookout_sampler_ticks_total") ?? 0)
        let missed =
            (after.value("lookout_sampler_missed_ticks_total") ?? 0) - (before.value("lookout_sampler_missed_ticks_total") ?? 0)
        #expect(ticks >= 19 * (window - 1), "\(ticks) ticks in \(window) s")
        #expect(missed <= max(2, ticks / 100), "\(missed) of \(ticks) ticks missed")

        print(
            "faults: fast target probed \(Int(fastProbes)) times in \(fixed(window, 1)) s; sampler \(Int(ticks)) ticks, \(Int(missed)) missed; /-/healthy p50 \(fixed(percentile(healthy, 50) * 1000, 1)) ms, max \(fixed(percentile(healthy, 100) * 1000, 1)) ms; RSS \(agent.residentKiB) KiB"
        )
        // /-/healthy answered every time, and quickly.
        #expect(healthyFailures.isEmpty, "\(healthyFailures)")
        #expect(healthy.count >= 40)
        #expect(percentile(healthy, 100) < 1.0, "slowest /-/healthy: \(percentile(healthy, 100)) s")
        #expect(percentile(healthy, 50) < 0.1, "median /-/healthy: \(percentile(healthy, 50)) s")

        // Each failure with its own reason, in the API and in the metrics.
        let expected: [(target: String, endpoint: String, reason: String, timedOut: Bool)] = [
            ("hang", "live", "timeout", true),
            ("trickle", "live", "timeout", true),
            ("reset", "live", "other", false),
            ("big", "metrics", "limit", false),
            ("bomb", "metrics", "limit", false),
            ("nodns", "live", "dns", false),
        ]
        for e in expected {
            let last = agent.lastResult(e.target, e.endpoint)
            #expect(last?["success"] == false, "\(e.target): \(last?.serialized() ?? "-")")
            #expect(last?["verdict"] == "critical", "\(e.target): \(last?.serialized() ?? "-")")
            #expect(last?["reason"]?.stringValue == e.reason, "\(e.target): \(last?.serialized() ?? "-")")
            #expect(last?["timed_out"] == .bool(e.timedOut), "\(e.target): \(last?.serialized() ?? "-")")
            let labels = ["target": e.target, "endpoint": e.endpoint]
            #expect(after.value("lookout_probe_success", labels) == 0, "\(e.target)")
            #expect(after.value("lookout_probe_timed_out", labels) == (e.timedOut ? 1 : 0), "\(e.target)")
            #expect(
                after.value("lookout_probe_failures_total", labels.merging(["reason": e.reason]) { $1 }) ?? 0 >= 1,
                "\(e.target): \(after.all("lookout_probe_failures_total", labels).map(\.series))")
            // One reason per target: no failure was counted under another.
            let reasons = Set(after.all("lookout_probe_failures_total", labels).map { $0.labels["reason"] ?? "" })
            #expect(reasons == [e.reason], "\(e.target): \(reasons)")
        }
        #expect(after.value("lookout_probe_timeouts_total", ["target": "hang", "endpoint": "live"]) ?? 0 >= 1)
        // A timed-out probe counts its whole timeout, not more.
        let hangTotal = after.value("lookout_probe_duration_seconds", ["target": "hang", "endpoint": "live", "phase": "total"])
        #expect(hangTotal.map { $0 >= 0.9 && $0 < 1.5 } == true, "hang total \(hangTotal ?? -1)")
        // Oversized bodies were cut at the limit: nothing of them is re-exposed, and the agent
        // did not keep 50 MB (or the bomb's 64 MiB) around.
        #expect(after.all("big_series_total").isEmpty)
        #expect(agent.residentKiB < 150 << 10, "RSS \(agent.residentKiB) KiB")
        #expect(agent.process.isRunning)
    }
}

/// Processes of a watched group start and exit all the time (some exit while their files
/// are being read): the agent keeps running and every counter it exports only goes up.
/// Loads the CPU with short-lived busy processes for ~8 s: runs in the serialized pass.
@Suite(.serialized) struct ProcessChurnHeavyTests {
    @Test func countersNeverGoBackwardsWhileProcessesComeAndGo() async throws {
        let dir = TemporaryDirectory(prefix: "lookout-churn")
        // The group selects by comm: a link named lkchurn to the shell gives each child that comm.
        dir.symlink("lkchurn", to: "/bin/sh")
        let churner = dir.write(
            "churn.sh",
            """
            # Batches of five, each busy for up to a few hundred milliseconds, one with a
            # child of its own; a steady member keeps the group from being empty.
            "$1/lkchurn" -c 'while :; do sleep 0.3; done' &
            n=0
            while :; do
              n=$((n + 1))
              pids=""
              for k in 1 2 3 4; do
                "$1/lkchurn" -c "i=0; while [ \\$i -lt $(( (n * k * 7919) % 600000 )) ]; do i=\\$((i + 1)); done" &
                pids="$pids $!"
              done
              "$1/lkchurn" -c 'sleep 0.05 & i=0; while [ $i -lt 3000 ]; do i=$((i + 1)); done; wait' &
              pids="$pids $!"
              wait $pids
            done
            """)
        let config = """
            processes:
              - name: churn
                comm: "^lkchurn$"
                threads: true
            """
        let agent = try AgentProcess(config: config)
        let driver = try ChildProcess(["/bin/bash", churner, dir.path])
        defer { driver.kill() }

        let series = [
            "lookout_process_cpu_seconds_total", "lookout_thread_cpu_seconds_total",
            "lookout_process_context_switches_total", "lookout_host_cpu_seconds_total",
            "lookout_sampler_ticks_total",
        ]
        var last: [String: Double] = [:]
        var wentBack: [String] = []
        var scrapes = 0
        var maxCount = 0.0
        var firstCPU: Double?
        var lastCPU = 0.0
        let start = monotonicSeconds()
        while monotonicSeconds() - start < 8 {
            let samples = agent.samples()
            guard !samples.isEmpty else {
                Issue.record("no exposition: \(agent.log)")
                break
            }
            scrapes += 1
            for s in samples where series.contains(s.name) {
                if let previous = last[s.series], s.value < previous {
                    wentBack.append("\(s.series): \(previous) → \(s.value)")
                }
                last[s.series] = s.value
            }
            maxCount = max(maxCount, samples.value("lookout_processes", ["group": "churn"]) ?? 0)
            let cpu = samples.all("lookout_process_cpu_seconds_total", ["group": "churn"]).map(\.value).reduce(0, +)
            if firstCPU == nil { firstCPU = cpu }
            lastCPU = cpu
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(wentBack.isEmpty, "\(wentBack.prefix(20))")
        #expect(scrapes >= 40)
        // Not vacuous: the group had several members at once and its CPU time grew.
        #expect(maxCount >= 2, "largest lookout_processes{group=\"churn\"}: \(maxCount)")
        #expect(lastCPU - (firstCPU ?? 0) >= 0.5, "churn group CPU \(firstCPU ?? -1) → \(lastCPU)")
        #expect(last.keys.contains { $0.hasPrefix("lookout_thread_cpu_seconds_total{group=\"churn\"") })
        #expect(agent.process.isRunning)
        #expect(agent.get("/-/healthy").status == 200)
        #expect(agent.get("/-/ready").status == 200)
        // Processes vanishing under the reader are expected, not errors.
        let errors = agent.log.split(separator: "\n").filter { $0.contains("level=error") }
        #expect(errors.isEmpty, "\(errors.prefix(10))")
    }

    /// A watched process exits and a new one gets its PID at once (the kernel's next PID is
    /// set through /proc/sys/kernel/ns_last_pid, as checkpoint/restore tools do): the agent
    /// tells them apart, so the newcomer's CPU time is counted from zero and the group's
    /// counter neither goes back nor swallows the newcomer's first second.
    @Test func aReusedPIDIsANewProcess() async throws {
        let lastPID = "/proc/sys/kernel/ns_last_pid"
        try #require(access(lastPID, W_OK) == 0, "\(lastPID) is not writable here")
        let dir = TemporaryDirectory(prefix: "lookout-reuse")
        // Python under the name lkreuse (its comm): it can stop after an exact amount of CPU time.
        dir.symlink("lkreuse", to: "/usr/bin/python3")
        let agent = try AgentProcess(config: "processes:\n  - name: reuse\n    comm: \"^lkreuse$\"\n")
        // 2.5 s of CPU time each, however fast the machine: the last second before a process
        // exits is not read (it is gone by then), the rest is.
        let busy = [dir.path + "/lkreuse", "-c", "import time\nwhile time.process_time() < 2.5: pass"]

        var series: [Double] = []
        func cpu() -> Double? {
            let s = agent.samples()
            guard !s.isEmpty else { return nil }
            let v = s.all("lookout_process_cpu_seconds_total", ["group": "reuse"]).map(\.value).reduce(0, +)
            series.append(v)
            return v
        }
        let first = try ChildProcess(busy)
        let pid = first.pid
        #expect(await waitUntil(timeout: .seconds(10)) { agent.samples().value("lookout_processes", ["group": "reuse"]) == 1 })
        while first.isRunning { _ = cpu(); try await Task.sleep(for: .milliseconds(50)) }
        // The first process' whole CPU time, once the agent has read its last second.
        try await Task.sleep(for: .milliseconds(1500))
        let afterFirst = try #require(cpu())
        #expect(afterFirst >= 1.2 && afterFirst <= 2.7, "first process: \(afterFirst) s")

        // The same PID for the second process (another process may take it first: retry).
        var second: ChildProcess?
        for _ in 0..<200 {
            let fd = open(lastPID, O_WRONLY)
            _ = Array(String(pid - 1).utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            close(fd)
            let p = try ChildProcess(busy)
            if p.pid == pid {
                second = p
                break
            }
            p.kill()
        }
        let reused = try #require(second, "could not get PID \(pid) again")
        while reused.isRunning { _ = cpu(); try await Task.sleep(for: .milliseconds(50)) }
        try await Task.sleep(for: .milliseconds(1500))
        let afterSecond = try #require(cpu())

        print("pid reuse: PID \(pid) reused; group CPU \(afterFirst) s after the first process, \(afterSecond) s after the second")
        #expect(zip(series, series.dropFirst()).allSatisfy { $0 <= $1 }, "\(series)")
        // Both processes used 2.5 s: the second's CPU time is counted too. (Taken for the first
        // one, it would count only what the second used beyond the first's total: about nothing.)
        #expect(afterSecond - afterFirst >= 1.2 && afterSecond - afterFirst <= 2.7, "first \(afterFirst) s, then \(afterSecond) s")
        #expect(agent.process.isRunning)
    }
}
