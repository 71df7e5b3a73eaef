import LookoutCore
import TestSupport
import Testing

@Suite(.serialized) struct PrometheusScrapeTests {
    /// A target whose /metrics the agent scrapes, so the exposition also holds re-exposed series.
    static func agentConfig(server: TestServer) -> String {
        server.set(
            "/metrics", body: "# HELP app_requests_total Requests.\n# TYPE app_requests_total counter\napp_requests_total{code=\"200\"} 7\n",
            headers: ["Content-Type": "text/plain; version=0.0.4"])
        return """
            targets:
              - name: app
                metrics: \(server.url("/metrics"))
                health:
                  live: \(server.url("/ok"))
                interval: 1s
                timeout: 900ms
            """
    }

    @Test func aRealPrometheusScrapesTheAgent() async throws {
        let server = try TestServer()
        let agent = try AgentProcess(config: Self.agentConfig(server: server))
        let prometheus = try PrometheusServer(
            config: """
                global:
                  scrape_interval: 1s
                scrape_configs:
                  - job_name: lookout
                    static_configs:
                      - targets: ['127.0.0.1:\(agent.port)']
                """)
        let up = await waitUntil(timeout: .seconds(30)) {
            prometheus.query("up{job=\"lookout\"} == 1")?.count == 1
                && prometheus.query("lookout_probe_success{target=\"app\",endpoint=\"live\"} == 1")?.count == 1
        }
        #expect(up, "Prometheus: \(prometheus.api("/api/v1/targets")?.serialized() ?? "-")\nagent: \(agent.log)")
        #expect(prometheus.query("app_requests_total{target=\"app\",code=\"200\"}")?.count == 1)
        #expect(prometheus.query("lookout_build_info")?.count == 1)
    }

    /// Every feature on: process groups with per-thread series (one of them blocked in
    /// uninterruptible sleep), block and mutex sampling, a target with every endpoint (a
    /// detailed health body with components, a /metrics body with a family the target left
    /// without HELP) and a webhook receiver.
    static func everyFeatureConfig(server: TestServer, blockedPID: Int32) -> String {
        server.set(
            "/metrics",
            body: "# HELP app_requests_total Requests.\n# TYPE app_requests_total counter\napp_requests_total{code=\"200\"} 7\napp_queue_depth 3\n",
            headers: ["Content-Type": "text/plain; version=0.0.4"])
        server.set(
            "/health/detailed",
            body: #"{"status":"UP","components":{"db":{"status":"UP","details":{"durationMs":4}},"cache":{"status":"UP","details":{"durationMs":2}}}}"#,
            headers: ["Content-Type": "application/json"])
        server.set("/hook", status: 200, body: "ok")
        return """
            sampling:
              block: true
              mutex: true
            processes:
              - name: blocked
                pid: \(blockedPID)
                threads: true
              - name: init
                pid: 1
                threads: true
            targets:
              - name: app
                metrics: \(server.url("/metrics"))
                health:
                  live: \(server.url("/ok"))
                  ready: \(server.url("/ok"))
                  health: \(server.url("/status/500"))
                  detailed: \(server.url("/health/detailed"))
                interval: 1s
                timeout: 900ms
            notify:
              webhooks:
                - url: \(server.url("/hook"))
                  group_wait: 0s
            """
    }

    @Test(arguments: [
        ("text", "text/plain"),
        ("openmetrics", "application/openmetrics-text; version=1.0.0"),
    ])
    func promtoolFindsNothingToReport(_ name: String, _ accept: String) async throws {
        let server = try TestServer()
        let blocked = try await UninterruptibleSleeper()
        defer { _ = blocked.stop() }
        let agent = try AgentProcess(config: Self.everyFeatureConfig(server: server, blockedPID: blocked.pid))
        // Each feature has put its families out.
        let families = [
            "app_requests_total{", "lookout_processes{group=\"blocked\"}", "lookout_thread_cpu_seconds_total{",
            "lookout_process_blocked_samples_total{", "lookout_process_mutex_wait_samples_total{", "lookout_health_component_up{",
            "lookout_probe_failures_total{", "lookout_notifications_total{receiver=",
            "lookout_alerts{",
        ]
        let ready = await waitUntil(timeout: .seconds(30)) {
            let text = agent.get("/metrics").text
            return families.allSatisfy { text.contains($0) }
        }
        #expect(ready, "missing: \(families.filter { !agent.get("/metrics").text.contains($0) })\n\(agent.log)")
        let response = agent.get("/metrics", headers: ["Accept: \(accept)"])
        #expect(response.status == 200)
        let dir = TemporaryDirectory()
        let file = dir.write("metrics.\(name)", response.body)
        if name == "text" {
            let (_, output) = Shell.run(["sh", "-c", "promtool check metrics < \(file)"])
            // A family a target exposes without HELP is the target's to fix; lookout's own families are clean.
            let complaints = output.split(separator: "\n").filter { !$0.hasPrefix("app_") }
            #expect(complaints.isEmpty, "promtool: \(output)")
            #expect(output.contains("app_queue_depth"), "promtool saw the target's family without HELP: \(output)")
        } else {
            // promtool reads only the text format; OpenMetrics is checked by its reference parser
            // (Debian's python3-prometheus-client), which rejects anything the spec does not allow.
            #expect(response.header("Content-Type") == "application/openmetrics-text; version=1.0.0; charset=utf-8")
            #expect(response.text.hasSuffix("# EOF\n"))
            let script = """
                import sys
                from prometheus_client.openmetrics.parser import text_string_to_metric_families
                families = list(text_string_to_metric_families(open(sys.argv[1]).read()))
                names = {f.name for f in families}
                assert "app_requests" in names and "lookout_build_info" in names, names
                print(len(families))
                """
            let (status, output) = Shell.run(["/usr/bin/python3", "-c", script, file])
            #expect(status == 0, "OpenMetrics parser: \(output)")
        }
    }

    @Test func gzipWhenAsked() throws {
        let agent = try AgentProcess(config: nil)
        let r = agent.get("/metrics", headers: ["Accept-Encoding: gzip"])
        #expect(r.status == 200)
        #expect(r.header("Content-Encoding") == "gzip")
        #expect(r.body.starts(with: [0x1f, 0x8b]))
    }
}
