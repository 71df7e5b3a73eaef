import LookoutCore
import TestSupport
import Testing

/// The real servers the integration tests rely on start, answer and stop.
@Suite struct RealServerTests {
    @Test func prometheusStartsAndAnswersQueries() throws {
        let prometheus = try PrometheusServer(config: "global:\n  scrape_interval: 1s\nscrape_configs: []\n")
        let result = try #require(prometheus.query("vector(42)"))
        #expect(result.count == 1)
        #expect(result[0]["value"]?[1]?.stringValue == "42")
        #expect(prometheus.queryError("sum(") != nil)
    }

    @Test func alertmanagerStarts() throws {
        let am = try AlertmanagerServer(config: "route:\n  receiver: none\nreceivers:\n  - name: none\n")
        // It answers its API with the configuration it was given, and holds no alerts yet.
        let status = TestHTTP.get(am.baseURL + "/api/v2/status")
        #expect(status.status == 200)
        let original = try JSON(parsing: status.body)["config"]?["original"]?.stringValue ?? ""
        #expect(original.contains("receiver: none"), "\(original)")
        let alerts = TestHTTP.get(am.baseURL + "/api/v2/alerts")
        #expect(alerts.status == 200 && alerts.text.filter { !$0.isWhitespace } == "[]", "\(alerts.text)")
    }

    @Test func nodeExporterServesCPU() throws {
        let ne = try NodeExporter()
        #expect(TestHTTP.get(ne.metricsURL).text.contains("node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"}"))
    }
}
