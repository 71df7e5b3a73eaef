import Exposition
import LookoutCore
import Series
import TestSupport
import Testing

/// Prometheus 2.42 asks for the protobuf format when native histograms are enabled (it has no
/// `scrape_protocols` yet). Scraped that way, the agent's series must be the ones the text
/// format gives.
@Suite(.serialized) struct ProtobufScrapeTimingTests {
    @Test func prometheusPreferringProtobufGetsTheSameSeriesAsText() async throws {
        let recorder = try TestServer()
        recorder.set("/metrics", body: "probe_header_recorder 1\n", headers: ["Content-Type": "text/plain; version=0.0.4"])
        let agent = try AgentProcess(config: nil)
        let prometheus = try PrometheusServer(
            config: """
                global:
                  scrape_interval: 1s
                scrape_configs:
                  - job_name: lookout
                    static_configs:
                      - targets: ['127.0.0.1:\(agent.port)']
                  - job_name: recorder
                    static_configs:
                      - targets: ['127.0.0.1:\(recorder.port)']
                """, flags: ["--enable-feature=native-histograms"])
        #expect(await waitUntil(timeout: .seconds(20)) { (prometheus.query("up{job=\"lookout\"} == 1")?.count ?? 0) == 1 })

        // What Prometheus asked for: protobuf first (its two jobs are scraped at different offsets).
        #expect(await waitUntil(timeout: .seconds(10)) { !recorder.received("/metrics").isEmpty })
        let accept = recorder.received("/metrics").first?.headers["Accept"] ?? ""
        #expect(accept.hasPrefix("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"), "\(accept)")
        // And what the agent answers to that header.
        let pb = agent.get("/metrics", headers: ["Accept: \(accept)"])
        #expect(pb.header("Content-Type")?.hasPrefix("application/vnd.google.protobuf") == true)

        // Series names Prometheus stored from the agent, against the text exposition's.
        try await Task.sleep(for: .seconds(3))
        let text = agent.get("/metrics")
        let families = try ScrapeParser.parse(text.body, contentType: text.header("Content-Type"), limits: ScrapeLimits())
        var textNames: Set<String> = []
        for f in families {
            switch f.type {
            case .histogram: textNames.formUnion([f.name + "_bucket", f.name + "_sum", f.name + "_count"])
            case .summary: textNames.formUnion([f.name, f.name + "_sum", f.name + "_count"])
            default: textNames.insert(f.name)
            }
        }
        let stored = Set(
            (prometheus.query("group by (__name__) ({job=\"lookout\"})") ?? []).compactMap { $0["metric"]?["__name__"]?.stringValue }
        ).subtracting(["up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_samples_post_metric_relabeling", "scrape_series_added"])
        #expect(!stored.isEmpty)
        #expect(stored == textNames, "only in Prometheus: \(stored.subtracting(textNames).sorted()); only in text: \(textNames.subtracting(stored).sorted())")

        // A histogram's buckets arrive as classic buckets, with the same bounds.
        let buckets = prometheus.query("lookout_sampler_tick_duration_seconds_bucket{job=\"lookout\"}") ?? []
        let textBuckets = families.first { $0.name == "lookout_sampler_tick_duration_seconds" }.map { f -> Int in
            if case .histogram(let h) = f.metrics.first?.value { return h.buckets.count }
            return 0
        } ?? 0
        #expect(buckets.count == textBuckets && textBuckets > 1, "\(buckets.count) vs \(textBuckets)")
    }
}
