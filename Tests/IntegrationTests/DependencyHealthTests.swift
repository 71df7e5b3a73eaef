import LookoutCore
import Testing
import TestSupport

/// Detailed health bodies read per component by the agent binary, against services that
/// call their dependencies for real.
@Suite struct DependencyHealthTests {
    @Test func sequentialChecksAreShownAndParallelOnesAreNot() async throws {
        let server = try TestServer()
        // One service whose detailed check calls auth (1 s), channel (2 s) and giveaway (3 s)
        // one after another, one that calls them at once, and one with a body that is not JSON.
        let deps = "auth=1&channel=2&giveaway=3"
        server.set("/broken", status: 200, body: "{\"status\":\"UP\",", headers: ["Content-Type": "application/json"])
        server.set(
            "/down", status: 503,
            body: #"{"status":"DOWN","checks":[{"name":"kafka","status":"DOWN"},{"name":"db","status":"UP"}]}"#,
            headers: ["Content-Type": "application/json"])
        let config = """
            targets:
              - name: sequential
                health:
                  detailed: \(server.url("/dependencies/sequential?\(deps)"))
                interval: 12s
                timeout: 10s
              - name: parallel
                health:
                  detailed: \(server.url("/dependencies/parallel?\(deps)"))
                interval: 12s
                timeout: 10s
              - name: broken
                health:
                  detailed: \(server.url("/broken"))
                interval: 1s
                timeout: 1s
              - name: down
                health:
                  detailed: \(server.url("/down"))
                interval: 1s
                timeout: 1s
            """
        let agent = try AgentProcess(config: config)
        let answered = await waitUntil(timeout: .seconds(30), every: .milliseconds(200)) {
            let t = agent.targets()
            return ["sequential", "parallel", "broken", "down"].allSatisfy {
                t[$0]?["endpoints"]?[0]?["last_result"].map { $0 != .null } == true
            }
        }
        #expect(answered, "\(agent.get("/api/v1/targets").text)\n\(agent.log)")

        let samples = agent.samples()
        let seq = ["target": "sequential", "endpoint": "detailed"]
        let par = ["target": "parallel", "endpoint": "detailed"]
        #expect(samples.value("lookout_health_checks_sequential", seq) == 1)
        #expect(samples.value("lookout_health_checks_sequential", par) == 0)
        for (name, seconds) in [("auth", 1.0), ("channel", 2.0), ("giveaway", 3.0)] {
            #expect(samples.value("lookout_health_component_up", seq.merging(["component": name]) { $1 }) == 1)
            let measured = try #require(
                samples.value("lookout_health_component_duration_seconds", par.merging(["component": name]) { $1 }))
            #expect(measured >= seconds && measured < seconds + 2, "\(name): \(measured)")
        }

        // A body that is not valid JSON does not fail the probe; the reason is in the API.
        #expect(samples.value("lookout_probe_success", ["target": "broken", "endpoint": "detailed"]) == 1)
        let broken = agent.targets()["broken"]?["endpoints"]?[0]?["components"]?["error"]?.stringValue ?? ""
        #expect(broken.hasPrefix("malformed JSON"), "\(broken)")
        #expect(samples.all("lookout_health_component_up", ["target": "broken"]).isEmpty)

        // A 503 with a MicroProfile report: the probe fails, and the report says which dependency.
        #expect(samples.value("lookout_probe_success", ["target": "down", "endpoint": "detailed"]) == 0)
        #expect(samples.value("lookout_health_component_up", ["target": "down", "component": "kafka"]) == 0)
        #expect(samples.value("lookout_health_component_up", ["target": "down", "component": "db"]) == 1)
        let down = agent.targets()["down"]?["endpoints"]?[0]?["components"]
        #expect(down?["format"] == "microprofile")
        #expect(down?["components"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["kafka", "db"])

        // The status page explains the sequential check with its numbers.
        let page = agent.get("/").text
        let row = page.split(separator: "<tr class=\"components\"").first { $0.hasPrefix(" data-target=\"sequential\"") }
        let sequentialRow = String(row ?? "")
        #expect(sequentialRow.contains("Checks ran one after another: auth 1."), "\(sequentialRow)")
        #expect(sequentialRow.contains("+ channel 2.") && sequentialRow.contains("+ giveaway 3."))
        #expect(sequentialRow.contains("run them in parallel"))
        let parallelRow = String(
            page.split(separator: "<tr class=\"components\"").first { $0.hasPrefix(" data-target=\"parallel\"") } ?? "")
        #expect(parallelRow.contains("data-component=\"giveaway\"") && !parallelRow.contains("one after another"))
    }
}
