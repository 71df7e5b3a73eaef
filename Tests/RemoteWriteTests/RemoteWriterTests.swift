import Config
import HTTPClient
import Logging
import LookoutCore
import Series
import TestSupport
import Testing

@testable import RemoteWrite

/// Polls `body` every 20 ms until it is true or `seconds` pass.
func eventually(_ seconds: Double = 60, _ body: () -> Bool) async -> Bool {
    let deadline = SystemClock().now + .seconds(seconds)
    while SystemClock().now < deadline {
        if body() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return body()
}

/// A RemoteWriter over a fixed family, running until the test ends.
final class RunningWriter: @unchecked Sendable {
    let writer: RemoteWriter
    let client = HTTPClient()
    private var task: Task<Void, Never>?

    init(_ settings: RemoteWriteSettings, families: [MetricFamily]) {
        writer = RemoteWriter(
            settings: settings, clock: SystemClock(), client: client, logger: Logger(label: "test.remote-write"),
            gather: { families })
        let w = writer
        task = Task { try? await w.run() }
    }

    func stop() async {
        task?.cancel()
        await task?.value
        client.shutdown()
    }

    func endpoint(_ url: String) -> RemoteWriteMetrics.EndpointStatus? {
        writer.metrics.endpoints.first { $0.url == url }
    }
}

func settings(url: String, wal: String, _ configure: (inout RemoteWriteEndpoint) -> Void = { _ in }) -> RemoteWriteSettings {
    var s = RemoteWriteSettings()
    s.interval = .milliseconds(200)
    s.wal = wal
    s.externalLabels = [Label(name: "cluster", value: "eu1")]
    var e = RemoteWriteEndpoint(url: url)
    e.queue.batchSendDeadline = .milliseconds(10)
    e.queue.minBackoff = .milliseconds(10)
    e.queue.maxBackoff = .milliseconds(40)
    configure(&e)
    s.endpoints = [e]
    return s
}

@Suite(.serialized) struct RemoteWriterTests {
    static let families: [MetricFamily] = [
        .gauge("up", help: "u", [(Labels(["target": "api"]), 1)]),
        .counter("lookout_sampler_ticks_total", help: "t", [(Labels.empty, 7)]),
    ]

    @Test func serverErrorsAreRetriedThenAFourHundredIsDroppedAndCounted() async throws {
        let server = try TestServer()
        server.set("/write", status: 400, body: "out of order sample", failTimes: 3, failStatus: 500)
        let dir = TemporaryDirectory()
        let url = server.url("/write")
        let s = settings(url: url, wal: dir.path + "/wal") { e in
            e.http.headers = [HTTPHeader("X-Scope-OrgID", "team-a")]
            e.http.auth = .bearer(Secret("t0ken"))
        }
        let running = RunningWriter(s, families: Self.families)
        #expect(await eventually { (running.endpoint(url)?.dropped ?? 0) >= 2 })
        await running.stop()
        let e = try #require(running.endpoint(url))
        // The first batch (one snapshot of 2 samples, or more when the sender started late) was
        // tried 4 times: 3 retried, then dropped.
        #expect(e.retried >= 6 && Int(e.retried) % 6 == 0, "\(e.retried)")
        #expect(e.sent == 0)
        #expect(e.dropped >= 2 && Int(e.dropped) % 2 == 0)
        #expect(e.lastError.contains("HTTP 400: out of order sample"))
        let requests = server.received("/write")
        #expect(requests.count >= 4)
        let first = try #require(requests.first)
        #expect(first.method == "POST")
        #expect(first.headers["Content-Encoding"] == "snappy")
        #expect(first.headers["Content-Type"] == "application/x-protobuf")
        #expect(first.headers["X-Prometheus-Remote-Write-Version"] == "0.1.0")
        #expect(first.headers["X-Scope-OrgID"] == "team-a")
        #expect(first.headers["Authorization"] == "Bearer t0ken")
        let families = running.writer.metrics.collect()
        let names = families.map(\.name)
        #expect(
            names == [
                "lookout_remote_write_samples_total", "lookout_remote_write_pending_samples",
                "lookout_remote_write_highest_sent_timestamp_seconds", "lookout_remote_write_sent_batch_duration_seconds",
                "lookout_remote_write_wal_bytes", "lookout_remote_write_wal_dropped_samples_total",
            ])
    }

    @Test func acknowledgedBatchesCarryEverySnapshotWithExternalLabels() async throws {
        let server = try TestServer()
        server.set("/write", status: 204)
        let dir = TemporaryDirectory()
        let url = server.url("/write")
        let running = RunningWriter(settings(url: url, wal: dir.path + "/wal"), families: Self.families)
        #expect(await eventually { (running.endpoint(url)?.sent ?? 0) >= 6 })
        await running.stop()
        let e = try #require(running.endpoint(url))
        #expect(e.retried == 0 && e.dropped == 0)
        #expect(e.highestSentTimestamp > 1_700_000_000)
        #expect(Int(e.sent) % 2 == 0)
        // What the receiver got: every series with the external label, samples in timestamp order.
        var got: [String: [Int64]] = [:]
        for r in server.received("/write") {
            for series in try WriteRequestCodec.decode(body: r.bodyBytes) {
                #expect(series.labels.contains { $0 == ("cluster", "eu1") })
                #expect(series.labels.map(\.name) == series.labels.map(\.name).sorted())
                got[series.metricName, default: []] += series.samples.map(\.timestampMilliseconds)
                #expect(series.samples.allSatisfy { $0.value == (series.metricName == "up" ? 1 : 7) })
            }
        }
        #expect(Set(got.keys) == ["up", "lookout_sampler_ticks_total"])
        #expect(got.values.allSatisfy { $0 == $0.sorted() && $0.count >= 3 && Set($0).count == $0.count })
        #expect(got["up"] == got["lookout_sampler_ticks_total"])
    }

    @Test func writeRelabelKeepsOnlyMatchingNames() async throws {
        let server = try TestServer()
        server.set("/write", status: 200)
        let dir = TemporaryDirectory()
        let url = server.url("/write")
        let keep = try AnchoredRegex("lookout_.*")
        let running = RunningWriter(
            settings(url: url, wal: dir.path + "/wal") { $0.relabel = .keep(keep) }, families: Self.families)
        #expect(await eventually { (running.endpoint(url)?.sent ?? 0) >= 3 })
        await running.stop()
        let e = try #require(running.endpoint(url))
        #expect(e.sent >= 3)
        var names: Set<String> = []
        for r in server.received("/write") {
            for series in try WriteRequestCodec.decode(body: r.bodyBytes) { names.insert(series.metricName) }
        }
        #expect(names == ["lookout_sampler_ticks_total"])
    }
}
