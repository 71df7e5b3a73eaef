import LookoutCore
import TestSupport
import Testing

/// The default rules in the running agent: a 3 s endpoint raises TargetSlow, a 6 s one
/// TargetVerySlow, one that never answers (5 s timeout) TargetTimeout, each within one rule
/// interval (1 s) of the probe that showed it; back to 50 ms, every alert resolves.
@Suite(.serialized) struct AlertLatencyTimingTests {
    struct Fired {
        var activeAt: WallTime
        var labels: [String: String]
    }

    static func alerts(_ agent: AgentProcess) -> [String: Fired] {
        guard let doc = try? JSON(parsing: agent.get("/api/v1/alerts").body) else { return [:] }
        var out: [String: Fired] = [:]
        for a in doc["data"]?["alerts"]?.arrayValue ?? [] where a["state"]?.stringValue == "firing" {
            var labels: [String: String] = [:]
            for (k, v) in a["labels"]?.objectValue ?? [] { labels[k] = v.stringValue ?? "" }
            let at = a["activeAt"]?.stringValue.flatMap(WallTime.init(rfc3339:)) ?? WallTime(nanosecondsSinceEpoch: 0)
            out[(labels["alertname"] ?? "") + "/" + (labels["target"] ?? "")] = Fired(activeAt: at, labels: labels)
        }
        return out
    }

    /// When the last probe of `target` ended (its start plus its total time); nil before the first.
    static func lastProbeEnd(_ agent: AgentProcess, _ target: String) -> WallTime? {
        guard let doc = try? JSON(parsing: agent.get("/api/v1/targets").body) else { return nil }
        for t in doc["data"]?["targets"]?.arrayValue ?? [] where t["name"]?.stringValue == target {
            guard let last = t["endpoints"]?[0]?["last_result"], let start = last["time"]?.stringValue.flatMap(WallTime.init(rfc3339:))
            else { return nil }
            guard let total = last["phases"]?["total"]?.doubleValue else { return nil }
            return start + .seconds(total)
        }
        return nil
    }

    @Test func slowVerySlowAndHangingEndpointsAlertAndResolve() async throws {
        let server = try TestServer()
        server.set("/a", body: "ok", delay: 3)
        server.set("/b", body: "ok", delay: 6)
        server.set("/c", hang: true)
        let agent = try AgentProcess(
            config: """
                targets:
                  - name: slow
                    health: { live: \(server.url("/a")) }
                    interval: 6s
                    timeout: 5s
                  - name: veryslow
                    health: { live: \(server.url("/b")) }
                    interval: 9s
                    timeout: 8s
                  - name: hanging
                    health: { live: \(server.url("/c")) }
                    interval: 6s
                    timeout: 5s
                rules:
                  interval: 1s
                """)
        let expected = ["TargetSlow/slow", "TargetVerySlow/veryslow", "TargetTimeout/hanging"]
        var fired: [String: Fired] = [:]
        // The end of each target's first probe (the next one comes an interval later, so a
        // poll every 200 ms sees it): every probe of these endpoints shows the problem.
        var firstProbeEnd: [String: WallTime] = [:]
        let all = await waitUntil(timeout: .seconds(30), every: .milliseconds(200)) {
            for target in ["slow", "veryslow", "hanging"] where firstProbeEnd[target] == nil {
                firstProbeEnd[target] = Self.lastProbeEnd(agent, target)
            }
            fired.merge(Self.alerts(agent)) { a, _ in a }
            return expected.allSatisfy { fired[$0] != nil }
        }
        #expect(all, "fired: \(fired.keys.sorted())\n\(agent.log)")
        for key in expected {
            guard let f = fired[key] else { continue }  // already reported above
            guard let end = firstProbeEnd[f.labels["target"] ?? ""] else {
                Issue.record("\(key): no probe result in /api/v1/targets")
                continue
            }
            // The first probe that showed the problem raised the alert at the next evaluation.
            let delay = (f.activeAt - end).seconds
            #expect(delay >= 0 && delay <= 1.5, "\(key): fired \(delay) s after the probe ended")
            #expect(f.labels["endpoint"] == "live")
            #expect(f.labels["severity"] == (key.hasPrefix("TargetSlow") ? "warning" : "critical"))
        }
        #expect(fired["TargetSlow/veryslow"] == nil && fired["TargetSlow/hanging"] == nil && fired["TargetVerySlow/hanging"] == nil)

        // Back to 50 ms: every alert resolves after the next probes.
        for path in ["/a", "/b", "/c"] { server.set(path, body: "ok", delay: 0.05) }
        let resolved = await waitUntil(timeout: .seconds(25), every: .milliseconds(250)) { Self.alerts(agent).isEmpty }
        #expect(resolved, "still firing: \(Self.alerts(agent).keys.sorted())")
    }
}
