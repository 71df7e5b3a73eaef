import Agent
import Exposition
import LookoutCore
import Probing

#if canImport(Glibc)
import Glibc
import Series
#endif

/// Encoding 10 000 series in each format, parsing a 20 MB exposition, and the whole
/// `/metrics` answer of a running agent.
enum ExpositionBenchmarks {
    static var all: [Benchmark] {
        [
            Benchmark(name: "registry.merge.10k", unit: "gather of 10 000 series", bytesPerOperation: 0, sync: {
                let families = SyntheticSeries.families(series: 10_000)
                let registry = Registry([SnapshotBox(families)])
                return { _ = registry.gather() }
            }),
            encode("exposition.text.10k", .text, SyntheticSeries.families(series: 10_000)),
            encode("exposition.openmetrics.10k", .openMetrics, SyntheticSeries.families(series: 10_000)),
            encode("exposition.protobuf.10k", .protobuf, SyntheticSeries.families(series: 10_000)),
            encode("exposition.text.10k.mixed", .text, SyntheticSeries.mixedFamilies(series: 10_000)),
            encode("exposition.protobuf.10k.mixed", .protobuf, SyntheticSeries.mixedFamilies(series: 10_000)),
            Benchmark(name: "scrape.parse.20MB", unit: "parse of a 20 MB text exposition", bytesPerOperation: 0, sync: {
                let body = RealisticExposition.text(bytes: 20_000_000)
                MeasuredBytes.perOperation = body.count
                return { _ = try! ScrapeParser.parse(body, format: .text) }
            }),
            Benchmark(name: "scrape.decode.20MB", unit: "parse + target label (a scrape's decode)", bytesPerOperation: 0, sync: {
                let body = RealisticExposition.text(bytes: 20_000_000)
                MeasuredBytes.perOperation = body.count
                let input = ScrapeInput(
                    body: body, contentType: "text/plain; version=0.0.4", target: "big",
                    limits: ScrapeLimits(sampleLimit: 0, bodySizeLimit: 0))
                return {
                    if case .failure(let e) = Scraper.decode(input) { fatalError("\(e)") }
                }
            }),
            metricsPath("metrics.agent.default.text", accept: nil, acceptEncoding: nil),
            metricsPath("metrics.agent.default.gzip", accept: nil, acceptEncoding: "gzip"),
            metricsPath("metrics.agent.default.protobuf", accept: "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited", acceptEncoding: nil),
        ]
    }

    static func encode(_ name: String, _ format: ExpositionFormat, _ families: @autoclosure @escaping () -> [MetricFamily]) -> Benchmark {
        Benchmark(name: name, unit: "encode of 10 000 series", bytesPerOperation: 0, sync: {
            let families = families()
            var out: [UInt8] = []
            MetricsExposition.encode(families, as: format, into: &out)
            MeasuredBytes.perOperation = out.count
            return {
                out.removeAll(keepingCapacity: true)
                MetricsExposition.encode(families, as: format, into: &out)
            }
        })
    }

    /// `GET /metrics` minus the HTTP server: `Registry.gather` and `MetricsExposition.render`
    /// on a real agent (the embedded default config) that has been running for two seconds.
    static func metricsPath(_ name: String, accept: String?, acceptEncoding: String?) -> Benchmark {
        Benchmark(name: name, unit: "gather + render of the agent's own series", bytesPerOperation: 0) {
            let registry = try await runningDefaultAgent().metricsRegistry
            let first = MetricsExposition.render(families: registry.gather(), accept: accept, acceptEncoding: acceptEncoding)
            MeasuredBytes.perOperation = first.body.count
            return .sync {
                let families = registry.gather()
                _ = MetricsExposition.render(families: families, accept: accept, acceptEncoding: acceptEncoding, sizeHint: first.body.count)
            }
        }
    }
}

extension ExpositionBenchmarks {
    /// An agent with the embedded default config that has been running for two seconds
    /// (stopped by `Cleanup`).
    static func runningDefaultAgent() async throws -> Agent {
        var options = AgentOptions()
        options.listen = "127.0.0.1:0"
        options.logLevel = .error
        var config = AgentConfig.embeddedDefault
        config.listen = "127.0.0.1:0"
        let agent = try Agent(options: options, config: config)
        let task = Task { try await agent.run() }
        Cleanup.add {
            task.cancel()
            let done = Semaphore()
            Task {
                _ = try? await task.value
                done.signal()
            }
            done.wait()
        }
        try await Task.sleep(for: .seconds(2))
        return agent
    }
}

/// A semaphore without Foundation.
final class Semaphore: @unchecked Sendable {
    private var sem = sem_t()
    init() { sem_init(&sem, 0, 0) }
    deinit { sem_destroy(&sem) }
    func signal() { sem_post(&sem) }
    func wait() { while sem_wait(&sem) != 0 {} }
}
