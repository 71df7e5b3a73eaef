import Config
import HTTPClient
import LookoutCore
import Probing
import TestSupport
import Testing

@testable import Agent

/// `/api/v1/targets` from the prober's status: results, without secrets.
@Suite struct TargetsAPITests {
    func target(_ name: String, _ health: [EndpointKind: String]) -> TargetSettings {
        var t = TargetSettings(name: name)
        for (k, url) in health { t.health[k] = EndpointSettings(url: url) }
        t.interval = .seconds(10)
        t.http.timeout = .seconds(2)
        return t
    }

    @Test func targetsJSONShowsResultsWithoutSecrets() async throws {
        let server = try TestServer()
        server.set("/detailed", body: #"{"status":"UP","db":{"status":"UP","latency_ms":3}}"#, headers: ["Content-Type": "application/json"])
        server.set("/detailed-text", body: "db ok, cache ok")
        let client = HTTPClient()
        defer { client.shutdown() }
        let clock = ManualClock()
        var t = target(
            "api",
            [.detailed: "http://user:pw@127.0.0.1:\(server.port)/detailed", .live: server.url("/status/503")])
        t.http.auth = .bearer(Secret("tok-123"))
        t.http.headers = [HTTPHeader("X-Tenant", "blue")]
        let u = target("text", [.detailed: server.url("/detailed-text")])
        let prober = Prober(targets: [t, u], client: client, clock: clock)
        let task = Task { try await prober.run() }
        await clock.waitForSleepers(1)
        clock.advance(by: .seconds(1))
        await clock.waitForSleepers(1)
        #expect(await waitUntil { prober.hasCompletedFirstRound })

        let seen = try #require(server.received("/detailed").first)
        #expect(seen.headers["Authorization"] == "Bearer tok-123")
        #expect(seen.headers["X-Tenant"] == "blue")

        let json = TargetsAPI.json(prober.targetsStatus())
        let text = json.serialized()
        #expect(!text.contains("tok-123"))
        #expect(!text.contains("user:pw"))
        #expect(json["status"] == "success")
        let targets = try #require(json["data"]?["targets"]?.arrayValue)
        #expect(targets.count == 2)
        let api = targets[0]
        #expect(api["name"] == "api")
        #expect(api["health"] == "down")
        #expect(api["interval"] == "10s")
        let endpoints = try #require(api["endpoints"]?.arrayValue)
        #expect(endpoints.map { $0["endpoint"] } == ["live", "detailed"])
        let live = endpoints[0]
        #expect(live["health"] == "down")
        #expect(live["circuit"] == "closed")
        #expect(live["last_result"]?["status"] == 503)
        #expect(live["last_result"]?["verdict"] == "critical")
        #expect(live["last_result"]?["reason"] == "status")
        #expect(live["last_result"]?["timed_out"] == false)
        #expect(live["last_result"]?["error"] == "status 503, expected 2xx")
        #expect(live["last_result"]?["time"]?.stringValue == clock.wallNow.rfc3339 || live["last_result"]?["time"]?.stringValue != nil)
        let phases = try #require(live["last_result"]?["phases"]?.objectValue)
        #expect(phases.map(\.0) == ["resolve", "connect", "tls", "processing", "transfer", "total"])
        let detailed = endpoints[1]
        #expect(detailed["url"] == .string("http://127.0.0.1:\(server.port)/detailed"))
        #expect(detailed["health"] == "up")
        #expect(detailed["detailed"] == ["status": "UP", "db": ["status": "UP", "latency_ms": 3]])
        #expect(live["detailed"] == nil)
        #expect(targets[1]["endpoints"]?[0]?["detailed"] == "db ok, cache ok")
        #expect(targets[1]["health"] == "up")
        task.cancel()
        _ = await task.result
    }
}
