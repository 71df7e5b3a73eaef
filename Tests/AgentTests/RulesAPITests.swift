import LookoutCore
import Rules
import Series
import TestSupport
import Testing

@testable import Agent

/// `/api/v1/rules` and `/api/v1/alerts` in Prometheus' shapes, from the rule engine's snapshots.
@Suite struct RulesAPITests {
    static let defaultRules = (try? FileIO.readText(Repo.path("alerts/lookout.rules.yml"))) ?? ""

    /// What the prober and the agent export for one target `api` whose probe took `probeSeconds`.
    static func families(probeSeconds: Double) -> [MetricFamily] {
        let endpoint = Labels(["target": "api", "endpoint": "ready"])
        return [
            .gauge(
                "lookout_probe_duration_seconds", help: "",
                [
                    (Labels(["target": "api", "endpoint": "ready", "phase": "total"]), probeSeconds),
                    (Labels(["target": "api", "endpoint": "ready", "phase": "connect"]), 0.001),
                ]),
            .gauge("lookout_probe_timed_out", help: "", [(endpoint, 0)]),
            .gauge("lookout_probe_success", help: "", [(endpoint, 1)]),
            .counter("process_cpu_seconds_total", help: "", [(Labels.empty, 1.5)]),
            .gauge("lookout_build_info", help: "", [(Labels(["version": "0.1.0"]), 1)]),
        ]
    }

    @Test func jsonInPrometheusShapes() throws {
        let clock = ManualClock(wall: WallTime(secondsSinceEpoch: 1_790_000_000))
        let engine = RuleEngine(clock: clock)
        engine.load(text: Self.defaultRules, file: "lookout.rules.yml")
        engine.ingest(Self.families(probeSeconds: 2.5), at: clock.wallNow)
        engine.evaluate(at: clock.wallNow)

        let alerts = RulesAPI.alerts(engine.alerts)
        #expect(alerts["status"] == "success")
        let list = try #require(alerts["data"]?["alerts"]?.arrayValue)
        #expect(list.count == 1)
        let a = list[0]
        #expect(a.objectValue?.map(\.0) == ["labels", "annotations", "state", "activeAt", "value"])
        #expect(a["labels"] == JSON.object([("alertname", "TargetSlow"), ("endpoint", "ready"), ("severity", "warning"), ("target", "api")]))
        #expect(a["state"] == "firing")
        #expect(a["activeAt"] == "2026-09-21T14:13:20.000Z")
        #expect(a["value"] == "2.5e+00")
        #expect(a["annotations"]?["summary"] == "api ready is slow: the last probe took 2.5s")

        let rules = RulesAPI.rules(engine.groups)
        let groups = try #require(rules["data"]?["groups"]?.arrayValue)
        #expect(groups.map { $0["name"]?.stringValue } == ["lookout-targets", "lookout-dependencies", "lookout-self"])
        #expect(groups[0]["file"] == "lookout.rules.yml")
        #expect(groups[0]["interval"] == 1)
        #expect(groups[0]["lastEvaluation"] == "2026-09-21T14:13:20.000Z")
        let slow = try #require(groups[0]["rules"]?[0])
        #expect(slow.objectValue?.map(\.0) == [
            "state", "name", "query", "duration", "keepFiringFor", "labels", "annotations", "alerts", "health", "lastError",
            "evaluationTime", "lastEvaluation", "type",
        ])
        #expect(slow["state"] == "firing")
        #expect(slow["health"] == "ok")
        #expect(slow["lastError"] == "")
        #expect(slow["type"] == "alerting")
        #expect(slow["query"] == "max without(phase) (lookout_probe_duration_seconds{phase=\"total\"}) > 2 <= 5 unless lookout_probe_timed_out == 1")
        #expect(slow["labels"] == JSON.object([("severity", "warning")]))
        #expect(slow["alerts"]?.arrayValue?.count == 1)
        let dependencyDown = try #require(groups[1]["rules"]?[0])
        #expect(dependencyDown["name"] == "DependencyDown" && dependencyDown["duration"] == 60)
        let overhead = try #require(groups[2]["rules"]?[0])
        #expect(overhead["duration"] == 300)
        #expect(overhead["state"] == "inactive")
        // Serializes as JSON text.
        #expect(alerts.serialized().hasPrefix("{\"status\":\"success\",\"data\":{\"alerts\":[{\"labels\":{\"alertname\":\"TargetSlow\""))
    }

    @Test func rulesThatNeverRanAreUnknown() throws {
        let engine = RuleEngine(clock: ManualClock())
        engine.load(text: Self.defaultRules, file: "lookout.rules.yml")
        let rule = try #require(RulesAPI.rules(engine.groups)["data"]?["groups"]?[0]?["rules"]?[0])
        #expect(rule["health"] == "unknown")
        #expect(rule["lastEvaluation"] == "0001-01-01T00:00:00Z")
        #expect(RulesAPI.alerts(engine.alerts) == JSON.object([("status", "success"), ("data", .object([("alerts", .array([]))]))]))
    }
}
