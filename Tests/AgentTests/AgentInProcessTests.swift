import HTTPClient
import LookoutCore
import Series
import TestSupport
import Testing

@testable import Agent

/// The whole agent built and run in this process: ready after its first tick, its
/// services wired (a reload reaches the prober), a bad reload kept out, and a clean stop
/// that also stops the HTTP client's thread.
@Suite struct AgentInProcessTests {
    func reloadSuccessful(_ agent: Agent) -> Double? {
        agent.metricsRegistry.gather().first { $0.name == "lookout_config_last_reload_successful" }?
            .metrics.first?.value.singleValue
    }

    /// GETs `path` until `accept` takes the answer, for at most `seconds`.
    func poll(_ url: String, seconds: Double = 10, _ accept: (TestHTTP.Response) -> Bool) async throws -> Bool {
        let deadline = SystemClock().now + .seconds(seconds)
        while SystemClock().now < deadline {
            if accept(TestHTTP.get(url, timeout: 2)) { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    @Test func readyReloadAndStop() async throws {
        let dir = TemporaryDirectory()
        let path = dir.write("lookout.yml", "listen: 127.0.0.1:0\n")
        var options = AgentOptions()
        options.configPath = path
        let agent = try Agent(options: options, config: try AgentConfig.load(path: path))
        let port = try await agent.bind()
        let base = "http://127.0.0.1:\(port)"
        let running = Task { try await agent.run() }

        #expect(try await poll(base + "/-/ready") { $0.status == 200 })
        #expect(TestHTTP.get(base + "/metrics").text.contains("lookout_build_info{"))

        // A reload reaches the prober: the new target is probed and listed.
        _ = dir.write(
            "lookout.yml", "listen: 127.0.0.1:0\ntargets:\n  - name: itself\n    health:\n      live: \(base)/-/healthy\n")
        guard case .success = await agent.reload() else {
            Issue.record("a valid config must reload")
            return
        }
        #expect(agent.currentConfig.targets.map(\.name) == ["itself"])
        #expect(try await poll(base + "/api/v1/targets") { $0.text.contains("\"itself\"") && $0.text.contains("\"up\"") })
        #expect(reloadSuccessful(agent) == 1)

        // A bad file is reported and the running config kept.
        _ = dir.write("lookout.yml", "listen: [\n")
        guard case .failure = await agent.reload() else {
            Issue.record("a broken config must not reload")
            return
        }
        #expect(agent.currentConfig.targets.map(\.name) == ["itself"])
        #expect(reloadSuccessful(agent) == 0)

        running.cancel()
        _ = await running.result
        let after = await agent.httpClient.execute(HTTPClientRequest(url: base + "/-/healthy"))
        #expect(after.error?.kind == .cancelled)
    }
}
