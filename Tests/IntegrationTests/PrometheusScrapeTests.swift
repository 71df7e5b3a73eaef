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

    @Test(arguments: [
        ("text", "text/plain"),
        ("openmetrics", "application/openmetrics-text; version=1.0.0"),
    ])
    func promtoolFindsNothingToReport(_ name: String, _ accept: String) async throws {
        let server = try TestServer()
        let agent = try AgentProcess(config: Self.agentConfig(server: server))
        #expect(await waitUntil(timeout: .seconds(10)) { agent.get("/metrics").text.contains("app_requests_total{") })
        let response = agent.get("/metrics", headers: ["Accept: \(accept)"])
        #expect(response.status == 200)
        let dir = TemporaryDirectory()
        let file = dir.write("metrics.\(name)", response.body)
        if name == "text" {
            let (status, output) = Shell.run(["sh", "-c", "promtool check metrics < \(file)"])
            #expect(status == 0, "\(output)")
            #expect(output.isEmpty, "promtool: \(output)")
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
