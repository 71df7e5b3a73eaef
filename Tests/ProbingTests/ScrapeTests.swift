import Exposition
import HTTPClient
import LookoutCore
import Series
import Testing
import TestSupport

@testable import Probing

/// Scraping `metrics` endpoints through the prober: negotiation, re-exposition with the
/// `target` label, limits, rejection of the whole scrape, staleness.
@Suite struct ScrapeTests {
    static let text = """
        # HELP http_requests_total Requests handled.
        # TYPE http_requests_total counter
        http_requests_total{code="200",target="inner"} 1027
        http_requests_total{code="500"} 3
        # HELP request_seconds Latency.
        # TYPE request_seconds histogram
        request_seconds_bucket{le="0.1"} 5
        request_seconds_bucket{le="1"} 8
        request_seconds_bucket{le="+Inf"} 9
        request_seconds_sum 3.5
        request_seconds_count 9

        """

    static let openMetrics = """
        # TYPE queue_depth gauge
        # HELP queue_depth Items waiting.
        queue_depth 4
        # TYPE jobs counter
        jobs_total 10
        jobs_created 1.7e9
        # EOF

        """

    static let textType = ["Content-Type": "text/plain; version=0.0.4; charset=utf-8"]
    static let openMetricsType = ["Content-Type": "application/openmetrics-text; version=1.0.0; charset=utf-8"]

    /// A set route whose body is sent gzip-compressed (TestServer.set has no such option).
    static func setGzipped(_ server: TestServer, _ path: String, body: String, headers: [String: String]) {
        let spec: JSON = [
            "status": 200, "body": .string(body), "headers": .object(headers.map { ($0.key, .string($0.value)) }),
            "gzip": true,
        ]
        let r = TestHTTP.post(server.url("/_set?path=\(path)"), body: Array(spec.serialized().utf8))
        precondition(r.status == 200)
    }

    func run(_ targets: [TargetSettings], _ body: (Prober, ManualClock) async throws -> Void) async throws {
        let client = HTTPClient()
        defer { client.shutdown() }
        let clock = ManualClock()
        let prober = Prober(targets: targets, client: client, clock: clock)
        let task = await Probes.start(prober, clock)
        try await body(prober, clock)
        await Probes.stop(task)
    }

    /// `lookout_scrape_duration_seconds` spans the request and the parsing, like Prometheus'
    /// `scrape_duration_seconds`: at least the endpoint's delay (no upper bound asserted).
    @Test func scrapeDurationCoversTheRequest() async throws {
        let server = try TestServer()
        server.set("/metrics", body: Self.text, headers: Self.textType, delay: 0.3)
        let client = HTTPClient()
        defer { client.shutdown() }
        let prober = Prober(targets: [Probes.target("api", metrics: server.url("/metrics"))], client: client, clock: SystemClock())
        let task = Task { try await prober.run() }
        defer { task.cancel() }
        // Real time: on a machine busy with the rest of the suite the first round can take a while.
        try #require(await waitUntil(timeout: .seconds(60)) { prober.hasCompletedFirstRound })
        let seconds = try #require(Probes.value(prober.probeMetrics, "lookout_scrape_duration_seconds", ["target": "api"]))
        #expect(seconds >= 0.3)
        let status = try #require(prober.targetsStatus().first?.scrape)
        #expect(status.durationSeconds == seconds)
        #expect(status.samples == 7)
    }

    @Test func textAndOpenMetricsAreReexposedWithTheTargetLabel() async throws {
        let server = try TestServer()
        server.set("/metrics", body: Self.text, headers: Self.textType)
        Self.setGzipped(server, "/om", body: Self.openMetrics, headers: Self.openMetricsType)
        let targets = [
            Probes.target("api", metrics: server.url("/metrics")),
            Probes.target("worker", metrics: server.url("/om")),
        ]
        try await run(targets) { prober, clock in
            await Probes.tick(clock, .seconds(1))
            #expect(await waitUntil { prober.hasCompletedFirstRound })
            let scraped = Probes.scraped(prober)
            #expect(scraped.map(\.name) == ["http_requests_total", "jobs_total", "queue_depth", "request_seconds"])

            let requests = try #require(scraped.first { $0.name == "http_requests_total" })
            #expect(requests.type == .counter)
            #expect(requests.help == "Requests handled.")
            #expect(
                requests.metrics.map(\.labels) == [
                    ["code": "200", "exported_target": "inner", "target": "api"], ["code": "500", "target": "api"],
                ])
            #expect(requests.metrics.map(\.value) == [.single(1027), .single(3)])
            let histogram = try #require(scraped.first { $0.name == "request_seconds" })
            #expect(histogram.type == .histogram)
            guard case .histogram(let h) = histogram.metrics.first?.value else {
                Issue.record("not a histogram")
                return
            }
            #expect(h.buckets.map(\.cumulativeCount) == [5, 8, 9])
            #expect(h.sum == 3.5 && h.count == 9)
            #expect(histogram.metrics.first?.labels == ["target": "api"])

            let queue = try #require(scraped.first { $0.name == "queue_depth" })
            #expect(queue.help == "Items waiting.")
            #expect(queue.metrics == [Metric(labels: ["target": "worker"], 4)])

            let m = prober.probeMetrics
            #expect(Probes.value(m, "lookout_scrape_samples", ["target": "api"]) == 7)
            #expect(Probes.value(m, "lookout_scrape_body_bytes", ["target": "api"]) == Double(Self.text.utf8.count))
            #expect(Probes.value(m, "lookout_scrape_samples", ["target": "worker"]) == 2)
            // The body bytes are counted decoded (it came gzip-compressed).
            #expect(Probes.value(m, "lookout_scrape_body_bytes", ["target": "worker"]) == Double(Self.openMetrics.utf8.count))
            #expect(Probes.value(m, "lookout_probe_success", ["target": "worker", "endpoint": "metrics"]) == 1)
            #expect(prober.targetsStatus().first?.scrape == TargetStatus.ScrapeStatus(samples: 7, bodyBytes: Self.text.utf8.count))

            let request = try #require(server.received("/om").first)
            #expect(request.headers["Accept"]?.hasPrefix("application/openmetrics-text;version=1.0.0") == true)
            #expect(request.headers["Accept"]?.contains("text/plain;version=0.0.4") == true)
            #expect(request.headers["Accept-Encoding"]?.contains("gzip") == true)
        }
    }

    @Test func limitsAndSyntaxErrorsRejectTheWholeScrapeAndTheSeriesGoStale() async throws {
        let server = try TestServer()
        server.set("/metrics", body: Self.text, headers: Self.textType)
        var target = Probes.target("api", metrics: server.url("/metrics"))
        target.sampleLimit = 7
        try await run([target]) { prober, clock in
            let m = prober.probeMetrics
            let labels = ["target": "api", "endpoint": "metrics"]
            func round(_ n: Double) async -> Bool {
                await Probes.tick(clock, .seconds(10))
                return await waitUntil { Probes.value(m, "lookout_probe_latency_seconds", labels) == n }
            }
            #expect(await round(1))
            #expect(Probes.scraped(prober).count == 2)

            // One sample more than the limit: nothing of it is kept, the old series are gone.
            server.set("/metrics", body: Self.text + "extra_metric 1\n", headers: Self.textType)
            #expect(await round(2))
            #expect(Probes.scraped(prober).isEmpty)
            #expect(Probes.value(m, "lookout_probe_success", labels) == 0)
            #expect(Probes.value(m, "lookout_probe_failures_total", labels.merging(["reason": "limit"]) { $1 }) == 1)
            #expect(Probes.value(m, "lookout_scrape_samples", ["target": "api"]) == 0)
            let limitError = Probes.endpoint(prober, "api", .metrics)?.last?.error ?? ""
            #expect(limitError.contains("sample_limit"), "\(limitError)")

            server.set("/metrics", body: Self.text, headers: Self.textType)
            #expect(await round(3))
            #expect(Probes.scraped(prober).count == 2)

            #expect(Probes.value(m, "lookout_scrape_valid", ["target": "api"]) == 1)

            // A syntax error on line 4: nothing ingested, the scrape invalid with its reason
            // and line; the endpoint answered, so the probe succeeded.
            server.set(
                "/metrics", body: "# TYPE a gauge\na 1\nb 2\nc{oops 3\nd 4\n", headers: Self.textType)
            #expect(await round(4))
            #expect(Probes.scraped(prober).isEmpty)
            #expect(Probes.value(m, "lookout_probe_success", labels) == 1)
            #expect(Probes.value(m, "lookout_scrape_valid", ["target": "api"]) == 0)
            #expect(Probes.value(m, "lookout_probe_failures_total", labels.merging(["reason": "body"]) { $1 }) == nil)
            let scrapeStatus = prober.targetsStatus().first { $0.name == "api" }?.scrape
            let syntaxError = scrapeStatus?.error ?? ""
            #expect(syntaxError.contains("line 4"), "\(syntaxError)")
            #expect(syntaxError.contains("text 0.0.4"), "\(syntaxError)")
            #expect(scrapeStatus?.valid == false)

            // OpenMetrics without # EOF.
            server.set("/metrics", body: "# TYPE a gauge\na 1\n", headers: Self.openMetricsType)
            #expect(await round(5))
            let eofError = prober.targetsStatus().first { $0.name == "api" }?.scrape?.error ?? ""
            #expect(eofError.contains("missing_eof"), "\(eofError)")

            server.set("/metrics", body: Self.text, headers: Self.textType)
            #expect(await round(6))
            #expect(Probes.scraped(prober).count == 2)
            #expect(Probes.value(m, "lookout_scrape_valid", ["target": "api"]) == 1)

            // The target stops answering: its series disappear after that failed scrape.
            server.set("/metrics", status: 503, body: "unavailable")
            #expect(await round(7))
            #expect(Probes.scraped(prober).isEmpty)
            #expect(Probes.value(m, "lookout_probe_http_status_code", labels) == 503)
        }
    }

    @Test func bodySizeAndLabelLimits() async throws {
        let server = try TestServer()
        server.set("/long", body: "a{l=\"\(String(repeating: "x", count: 300))\"} 1\n", headers: Self.textType)
        var big = Probes.target("big", metrics: server.url("/big/52428800"))
        big.bodySizeLimit = 1 << 20
        var long = Probes.target("long", metrics: server.url("/long"))
        long.labelValueLengthLimit = 256
        var bomb = Probes.target("bomb", metrics: server.url("/gzipbomb/64"))
        bomb.bodySizeLimit = 4 << 20
        try await run([big, long, bomb]) { prober, clock in
            await Probes.tick(clock, .seconds(1))
            #expect(await waitUntil { prober.hasCompletedFirstRound })
            for s in prober.targetsStatus() {
                #expect(s.endpoints[0].last?.reason == .limit, "\(s.name): \(String(describing: s.endpoints[0].last?.error))")
                #expect(s.endpoints[0].last?.verdict == .critical)
            }
            #expect(Probes.endpoint(prober, "long", .metrics)?.last?.error?.contains("label_value_length") == true)
            #expect(Probes.scraped(prober).isEmpty)
        }
    }

    @Test func targetsExposingTheSameFamilyShareIt() async throws {
        let server = try TestServer()
        server.set("/a", body: "# TYPE up_total counter\nup_total 1\n", headers: Self.textType)
        server.set("/b", body: "# TYPE up_total counter\nup_total 2\n", headers: Self.textType)
        let targets = [Probes.target("a", metrics: server.url("/a")), Probes.target("b", metrics: server.url("/b"))]
        try await run(targets) { prober, clock in
            await Probes.tick(clock, .seconds(1))
            #expect(await waitUntil { prober.hasCompletedFirstRound })
            let scraped = Probes.scraped(prober)
            #expect(scraped.count == 1)
            #expect(scraped.first?.metrics == [Metric(labels: ["target": "a"], 1), Metric(labels: ["target": "b"], 2)])
            // Removing a target drops its series.
            prober.update(targets: [targets[1]])
            #expect(Probes.scraped(prober).first?.metrics == [Metric(labels: ["target": "b"], 2)])
            #expect(Probes.value(prober.probeMetrics, "lookout_scrape_samples", ["target": "a"]) == nil)
        }
    }

    @Test func decoderMapsParserErrors() {
        let limits = ScrapeLimits(sampleLimit: 1)
        let tooMany = Scraper.decode(ScrapeInput(body: Array("a 1\nb 2\n".utf8), contentType: "text/plain", target: "t", limits: limits))
        guard case .failure(let f) = tooMany else {
            Issue.record("accepted")
            return
        }
        #expect(f.reason == .limit)
        let bad = Scraper.decode(ScrapeInput(body: [0xff, 0xfe, 0x20, 0x31], contentType: nil, target: "t", limits: .none))
        guard case .failure(let g) = bad else {
            Issue.record("accepted")
            return
        }
        #expect(g.reason == .body)
        let ok = Scraper.decode(ScrapeInput(body: Array("a 1\n".utf8), contentType: nil, target: "t", limits: .none))
        #expect((try? ok.get())?.families == [MetricFamily(name: "a", help: "", type: .untyped, metrics: [Metric(labels: ["target": "t"], 1)])])
        #expect((try? ok.get())?.duplicateSamples == 0)
        let twice = Scraper.decode(ScrapeInput(body: Array("a 1\na 2\nb 1\nb 2\n".utf8), contentType: nil, target: "t", limits: .none))
        #expect((try? twice.get())?.duplicateSamples == 2)
        #expect((try? twice.get())?.families.map { $0.metrics[0].value.singleValue } == [1, 1])
    }
}
