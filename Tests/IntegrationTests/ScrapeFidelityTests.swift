import LookoutCore
import Testing
import TestSupport

/// Text bodies as real exporters serve them, scraped by a real Prometheus and by the agent:
/// what Prometheus ingests the agent ingests, what Prometheus refuses the agent refuses
/// (with the reason and line), and neither is a reason to call the endpoint down.
@Suite struct ScrapeFidelityTests {
    struct Body {
        var name: String
        var text: String
        /// nil: Prometheus scrapes it (`up 1`). Else the line the agent reports.
        var refusedAtLine: Int?
    }

    static let bodies: [Body] = [
        Body(name: "second_help", text: "# HELP m first\n# HELP m second\n# TYPE m gauge\nm 1\n"),
        Body(name: "second_type", text: "# TYPE m counter\n# TYPE m gauge\nm 1\n"),
        Body(name: "type_after_samples", text: "late 1\n# TYPE late counter\nn 2\n"),
        Body(name: "histogram_type_late", text: "h_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\n# TYPE h histogram\nh_sum 3\nh_count 2\n"),
        Body(name: "tab_escape", text: "m{path=\"C:\\temp\"} 1\n"),
        Body(name: "help_escape", text: "# HELP m a \\t b\nm 1\n"),
        Body(name: "duplicate_series", text: "m{a=\"1\"} 1\nm{a=\"1\"} 2\nn 3\n"),
        Body(name: "duplicate_bucket", text: "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 2\n"),
        Body(name: "bad_name", text: "a 1\n1abc 2\n", refusedAtLine: 2),
        Body(name: "bad_value", text: "a 1\nb 2\nc one\n", refusedAtLine: 3),
        Body(name: "unknown_type", text: "# TYPE a speedometer\na 1\n", refusedAtLine: 1),
        Body(name: "hex_float", text: "a 0x1p-3\n", refusedAtLine: 1),
        Body(name: "unterminated_label", text: "a 1\nb{x=\"1} 2\n", refusedAtLine: 2),
        Body(name: "duplicate_label", text: "a{x=\"1\",x=\"2\"} 1\n", refusedAtLine: 1),
    ]

    @Test func prometheusAndTheAgentAgreeOnEveryBody() async throws {
        let server = try TestServer()
        for b in Self.bodies {
            server.set("/\(b.name)", body: b.text, headers: ["Content-Type": "text/plain; version=0.0.4"])
        }
        let prometheus = try PrometheusServer(
            config: "global:\n  scrape_interval: 1s\nscrape_configs:\n"
                + Self.bodies.map {
                    "  - job_name: \($0.name)\n    static_configs:\n      - targets: ['127.0.0.1:\(server.port)']\n    metrics_path: /\($0.name)\n"
                }.joined())
        let agent = try AgentProcess(
            config: "targets:\n"
                + Self.bodies.map {
                    "  - name: \($0.name)\n    metrics: \(server.url("/\($0.name)"))\n    interval: 1s\n    timeout: 900ms\n"
                }.joined())

        let scraped = await waitUntil(timeout: .seconds(30), every: .milliseconds(250)) {
            (prometheus.query("up")?.count ?? 0) == Self.bodies.count
                && agent.samples().all("lookout_scrape_valid").count == Self.bodies.count
        }
        #expect(scraped, "\(prometheus.query("up") ?? [])\n\(agent.log)")

        let up = Dictionary(
            uniqueKeysWithValues: (prometheus.query("up") ?? []).compactMap { r -> (String, String)? in
                guard let job = r["metric"]?["job"]?.stringValue, let v = r["value"]?[1]?.stringValue else { return nil }
                return (job, v)
            })
        let samples = agent.samples()
        let targets = agent.targets()
        for b in Self.bodies {
            // Prometheus: the yardstick.
            #expect(up[b.name] == (b.refusedAtLine == nil ? "1" : "0"), "Prometheus on \(b.name): up \(up[b.name] ?? "-")")
            // The agent: reachable either way; valid exactly when Prometheus ingests it.
            #expect(samples.value("lookout_probe_success", ["target": b.name, "endpoint": "metrics"]) == 1, "\(b.name)")
            let valid = samples.value("lookout_scrape_valid", ["target": b.name])
            #expect(valid == (b.refusedAtLine == nil ? 1 : 0), "\(b.name): \(targets[b.name]?["scrape"]?.serialized() ?? "-")")
            if let line = b.refusedAtLine {
                let error = targets[b.name]?["scrape"]?["error"]?.stringValue ?? ""
                #expect(error.contains("line \(line):"), "\(b.name): \(error)")
            }
        }
        // What the quirky bodies hold arrives as Prometheus stores it.
        #expect(samples.value("m", ["target": "duplicate_series", "a": "1"]) == 1)
        #expect(samples.value("n", ["target": "duplicate_series"]) == 3)
        #expect(samples.value("m", ["target": "tab_escape", "path": "C:\\temp"]) == 1)
        // (Families are named apart: one name with two types across targets is a type conflict.)
        #expect(samples.value("late", ["target": "type_after_samples"]) == 1)
        #expect(prometheus.query("m{job=\"tab_escape\", path=\"C:\\\\temp\"}")?.count == 1)
        // No warning about reachability: the refused bodies raise ScrapeInvalid only.
        let firing = await waitUntil(timeout: .seconds(10), every: .milliseconds(250)) {
            let alerts = (try? JSON(parsing: agent.get("/api/v1/alerts").body))?["data"]?["alerts"]?.arrayValue ?? []
            let invalid = Set(
                alerts.filter { $0["labels"]?["alertname"] == "ScrapeInvalid" }.compactMap { $0["labels"]?["target"]?.stringValue })
            return invalid == Set(Self.bodies.filter { $0.refusedAtLine != nil }.map(\.name))
                && !alerts.contains { $0["labels"]?["alertname"] == "TargetDown" }
        }
        #expect(firing, "\(agent.get("/api/v1/alerts").text)")
    }
}
