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

    /// A mounted ConfigMap: each version in a folder of its own, `..data` a symlink to the
    /// current one, the files symlinks through `..data`; an update swaps `..data` atomically.
    struct ConfigMapMount {
        let dir: TemporaryDirectory
        var version = 0

        init() { dir = TemporaryDirectory(prefix: "lookout-configmap") }

        mutating func publish(_ files: [String: String]) {
            version += 1
            let folder = "..2026_12_07_00_00_0\(version)"
            mkdir(dir.path + "/" + folder, 0o755)
            for (name, text) in files {
                dir.write(folder + "/" + name, text)
                if version == 1 { symlink("..data/" + name, dir.path + "/" + name) }
            }
            symlink(folder, dir.path + "/..data_tmp")
            rename(dir.path + "/..data_tmp", dir.path + "/..data")
        }

        var configPath: String { dir.path + "/lookout.yml" }
    }

    static func rules(_ alert: String) -> String {
        "groups:\n  - name: g\n    rules:\n      - alert: \(alert)\n        expr: up == 2\n"
    }

    func alertNames(_ agent: AgentProcess) -> [String] {
        let groups = (try? JSON(parsing: agent.get("/api/v1/rules").body))?["data"]?["groups"]?.arrayValue ?? []
        return groups.flatMap { $0["rules"]?.arrayValue ?? [] }.compactMap { $0["name"]?.stringValue }
    }

    @Test func aConfigMapUpdateIsReloadedWithoutASignal() async throws {
        let server = try TestServer()
        var mount = ConfigMapMount()
        let rulesKey = "rules:\n  files: [extra.rules.yml]\n"
        mount.publish([
            "lookout.yml": Self.config(targets: [("a", server.url("/ok"))]) + rulesKey, "extra.rules.yml": Self.rules("First"),
        ])
        let agent = try AgentProcess(config: nil, arguments: ["--config", mount.configPath])
        #expect(await waitUntil { targetNames(agent) == ["a"] && alertNames(agent) == ["First"] }, "\(agent.log)")

        // The kubelet's update: a new version folder and the ..data swap; no SIGHUP.
        mount.publish([
            "lookout.yml": Self.config(targets: [("a", server.url("/ok")), ("b", server.url("/ok"))]) + rulesKey,
            "extra.rules.yml": Self.rules("Second"),
        ])
        #expect(
            await waitUntil(timeout: .seconds(15)) { targetNames(agent) == ["a", "b"] && alertNames(agent) == ["Second"] },
            "\(agent.log)")
        #expect(agent.log.contains("a configuration file changed on disk; reloading"))

        // Only a rule file changes: reloaded too.
        mount.publish([
            "lookout.yml": Self.config(targets: [("a", server.url("/ok")), ("b", server.url("/ok"))]) + rulesKey,
            "extra.rules.yml": Self.rules("Third"),
        ])
        #expect(await waitUntil(timeout: .seconds(15)) { alertNames(agent) == ["Third"] }, "\(agent.log)")

        // A bad version is reported and the running one kept.
        mount.publish(["lookout.yml": "targets:\n  - name: c\n    helth: {}\n", "extra.rules.yml": Self.rules("Third")])
        #expect(await waitUntil(timeout: .seconds(15)) { metricValue(agent, "lookout_config_last_reload_successful") == 0 })
        #expect(targetNames(agent) == ["a", "b"])
        #expect(agent.process.isRunning)
    }

    @Test func anEditedConfigFileIsReloaded() async throws {
        let server = try TestServer()
        let agent = try AgentProcess(config: Self.config(targets: [("a", server.url("/ok"))]))
        #expect(await waitUntil { targetNames(agent) == ["a"] })
        agent.writeConfig(Self.config(targets: [("z", server.url("/ok"))]))
        #expect(await waitUntil(timeout: .seconds(15)) { targetNames(agent) == ["z"] }, "\(agent.log)")
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

    /// 100 SIGHUPs, 10 ms apart, interleaved with 100 reloads over `/-/reload` and scrapes.
    /// Signals that arrive while one is pending coalesce (as in any Unix daemon), so the
    /// number of SIGHUP reloads is at most 100; the HTTP reloads are synchronous, so exactly
    /// 100 of them run: the memory check covers at least that many reloads.
    @Test func hundredSIGHUPsWhileServing() async throws {
        let server = try TestServer()
        let agent = try AgentProcess(
            config: ReloadTests.config(targets: (0..<20).map { ("t\($0)", server.url("/ok")) }),
            arguments: ["--web.enable-lifecycle"])
        let reloads: @Sendable () -> Int = { agent.log.components("configuration reloaded") }
        // Warm up: a few rounds of reloads and scrapes before measuring memory.
        for _ in 0..<20 {
            agent.process.signal(SIGHUP)
            #expect(TestHTTP.post(agent.baseURL + "/-/reload").status == 200)
            _ = agent.get("/metrics")
        }
        #expect(await settled(reloads))
        let before = rssKiB(agent.process.pid)
        let reloadsBefore = reloads()
        var httpReloads = 0
        for i in 0..<100 {
            agent.process.signal(SIGHUP)
            if TestHTTP.post(agent.baseURL + "/-/reload").status == 200 { httpReloads += 1 }
            if i % 5 == 0 { #expect(agent.get("/metrics").status == 200) }
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(await settled(reloads), "reloads still going on: \(reloads())")
        #expect(agent.process.isRunning, "exit \(agent.process.exitStatus.map(String.init) ?? "-"): \(agent.log)")
        #expect(agent.get("/-/healthy").status == 200)
        let after = rssKiB(agent.process.pid)
        let reloaded = reloads() - reloadsBefore
        // Growth from 100+ reloads stays within allocator noise (a leak per reload would show as MBs).
        #expect(after - before < 4096, "RSS \(before) KiB → \(after) KiB after \(reloaded) reloads")
        #expect(httpReloads == 100)
        #expect(reloaded > 100 && reloaded <= 200, "\(reloaded) reloads")
        #expect(!agent.log.contains("level=error") && !agent.log.contains(" error "), "\(agent.log)")

        // After the storm, a SIGHUP still applies a changed file.
        agent.writeConfig(ReloadTests.config(targets: [("after", server.url("/ok"))]))
        agent.process.signal(SIGHUP)
        #expect(await waitUntil { ReloadTests().targetNames(agent) == ["after"] }, "\(agent.log)")
    }

    /// True once `count` has not changed for half a second (false after 20 s).
    func settled(_ count: @escaping @Sendable () -> Int) async -> Bool {
        var last = count()
        var stableSince = monotonicSeconds()
        let deadline = stableSince + 20
        while monotonicSeconds() < deadline {
            try? await Task.sleep(for: .milliseconds(100))
            let now = count()
            if now != last {
                last = now
                stableSince = monotonicSeconds()
            } else if monotonicSeconds() - stableSince >= 0.5 {
                return true
            }
        }
        return false
    }
}

extension String {
    func components(_ s: String) -> Int {
        var n = 0
        var rest = self[...]
        while let r = rest.firstRange(of: s) {
            n += 1
            rest = rest[r.upperBound...]
        }
        return n
    }
}
