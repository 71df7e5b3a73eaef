import LookoutCore
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct ReloadTests {
    static func config(targets: [(String, String)]) -> String {
        var s = "targets:\n"
        for (name, url) in targets {
            s += "  - name: \(name)\n    health:\n      live: \(url)\n    interval: 1s\n    timeout: 500ms\n"
        }
        return s
    }

    func targetNames(_ agent: AgentProcess) -> [String] {
        guard let json = try? JSON(parsing: agent.get("/api/v1/targets").body),
            let targets = json["data"]?["targets"]?.arrayValue
        else { return [] }
        return targets.compactMap { $0["name"]?.stringValue ?? $0["target"]?.stringValue }.sorted()
    }

    func metricValue(_ agent: AgentProcess, _ series: String) -> Double? {
        for line in agent.get("/metrics").text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.split(separator: " ")[1])
        }
        return nil
    }

    @Test func sighupAppliesAGoodConfigAndKeepsTheRunningOneOnABadConfig() async throws {
        let server = try TestServer()
        let agent = try AgentProcess(config: Self.config(targets: [("a", server.url("/ok"))]))
        #expect(await waitUntil { targetNames(agent) == ["a"] })

        agent.writeConfig(Self.config(targets: [("a", server.url("/ok")), ("b", server.url("/ok"))]))
        agent.process.signal(SIGHUP)
        #expect(await waitUntil { targetNames(agent) == ["a", "b"] }, "\(agent.log)")
        #expect(metricValue(agent, "lookout_config_last_reload_successful") == 1)

        agent.writeConfig("targets:\n  - name: c\n    helth: {}\n")
        agent.process.signal(SIGHUP)
        #expect(await waitUntil { metricValue(agent, "lookout_config_last_reload_successful") == 0 })
        let targets = agent.get("/api/v1/targets")
        #expect(targetNames(agent) == ["a", "b"], "HTTP \(targets.status) \(targets.error ?? "") \(targets.text.prefix(500))\n\(agent.log)")
        #expect(agent.log.contains("reload failed, keeping the running config"))
        #expect(agent.log.contains("lookout.yml:3:5: unknown key"))
        #expect(agent.process.isRunning)
    }

    @Test func reloadEndpointExistsOnlyWithLifecycleEnabled() async throws {
        let server = try TestServer()
        let without = try AgentProcess(config: Self.config(targets: [("a", server.url("/ok"))]))
        #expect(TestHTTP.post(without.baseURL + "/-/reload").status == 404)

        let with = try AgentProcess(config: Self.config(targets: [("a", server.url("/ok"))]), arguments: ["--web.enable-lifecycle"])
        with.writeConfig(Self.config(targets: [("z", server.url("/ok"))]))
        let r = TestHTTP.post(with.baseURL + "/-/reload")
        #expect(r.status == 200, "\(r.text)")
        #expect(targetNames(with) == ["z"])
        with.writeConfig("sampling:\n  frequency: -1\n")
        let bad = TestHTTP.post(with.baseURL + "/-/reload")
        #expect(bad.status == 500)
        #expect(bad.text.contains("lookout.yml:2:14: sampling.frequency must be between 1 and 1000"))
        #expect(targetNames(with) == ["z"])
    }
}

/// A storm of reloads while serving: no crash, no leak.
@Suite struct ReloadStormTimingTests {
    func rssKiB(_ pid: pid_t) -> Int {
        let status = (try? FileIO.readText("/proc/\(pid)/status")) ?? ""
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? 0
        }
        return 0
    }

    @Test func hundredSIGHUPsWhileServing() async throws {
        let server = try TestServer()
        let agent = try AgentProcess(
            config: ReloadTests.config(targets: (0..<20).map { ("t\($0)", server.url("/ok")) }))
        // Warm up: a few rounds of reloads and scrapes before measuring memory.
        for _ in 0..<20 {
            agent.process.signal(SIGHUP)
            _ = agent.get("/metrics")
        }
        try await Task.sleep(for: .milliseconds(500))
        let before = rssKiB(agent.process.pid)
        for i in 0..<100 {
            agent.process.signal(SIGHUP)
            if i % 5 == 0 { #expect(agent.get("/metrics").status == 200) }
            try await Task.sleep(for: .milliseconds(10))
        }
        try await Task.sleep(for: .milliseconds(500))
        #expect(agent.process.isRunning, "exit \(agent.process.exitStatus.map(String.init) ?? "-"): \(agent.log)")
        #expect(agent.get("/-/healthy").status == 200)
        let after = rssKiB(agent.process.pid)
        // Growth from 100 reloads stays within allocator noise (a leak per reload would show as MBs).
        #expect(after - before < 4096, "RSS \(before) KiB → \(after) KiB")
        #expect(agent.log.components("configuration reloaded") >= 100)
    }
}

extension String {
    func components(_ s: String) -> Int {
        var n = 0
        var rest = self[...]
        while let r = rest.range(of: s) {
            n += 1
            rest = rest[r.upperBound...]
        }
        return n
    }
}
