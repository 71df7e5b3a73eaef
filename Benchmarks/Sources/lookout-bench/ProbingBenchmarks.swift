import HTTPClient
import LookoutCore
import Probing

/// A health probe against a local endpoint that answers in microseconds (native/http_ok.c,
/// another process), on the agent's HTTP client: the request on the curl thread, the
/// continuation, and the verdict. `CPU/op` is this process' CPU per probe, all threads.
enum ProbingBenchmarks {
    static var all: [Benchmark] {
        [
            Benchmark(name: "probe.http.one", unit: "probe (keep-alive GET + verdict)", bytesPerOperation: 0) {
                let (client, request, endpoint) = try setUp()
                return .async { await probe(client, request, endpoint) }
            },
            Benchmark(name: "probe.http.100concurrent", unit: "round of 100 concurrent probes", bytesPerOperation: 0) {
                let (client, request, endpoint) = try setUp()
                return .async {
                    await withTaskGroup(of: Void.self) { group in
                        for _ in 0..<100 { group.addTask { await probe(client, request, endpoint) } }
                    }
                }
            },
        ]
    }

    static func setUp() throws -> (HTTPClient, HTTPClientRequest, EndpointSettings) {
        let port = try Native.httpOKServer()
        let client = HTTPClient()
        Cleanup.add { client.shutdown() }
        let url = "http://127.0.0.1:\(port)/health/live"
        return (client, HTTPClientRequest(url: url, timeout: .seconds(5)), EndpointSettings(url: url))
    }

    static func probe(_ client: HTTPClient, _ request: HTTPClientRequest, _ endpoint: EndpointSettings) async {
        let result = await client.execute(request)
        let outcome = ProbeEvaluation.evaluate(result, endpoint: endpoint, at: WallTime(nanosecondsSinceEpoch: 0))
        if !outcome.success { fatalError("probe failed: \(outcome.error ?? "status \(outcome.status)")") }
    }
}
