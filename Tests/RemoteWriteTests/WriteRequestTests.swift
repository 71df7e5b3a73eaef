import Config
import CProtobuf
import Series
import Testing

@testable import RemoteWrite

@Suite struct WriteRequestTests {
    @Test func snappyRoundTripsAndCompresses() throws {
        let text = Array(String(repeating: "lookout_sampler_ticks_total{group=\"api\"} 1234\n", count: 200).utf8)
        let packed = Snappy.compress(text)
        #expect(packed.count < text.count / 5)
        #expect(try Snappy.uncompress(packed) == text)
        #expect(try Snappy.uncompress(Snappy.compress([])) == [])
        #expect(throws: Snappy.Malformed.self) { try Snappy.uncompress([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x02]) }
    }

    /// A known snappy block of "aaaa...": the raw block format, not the framed one.
    @Test func snappyIsTheBlockFormat() throws {
        let input = [UInt8](repeating: 0x61, count: 20)
        let packed = Snappy.compress(input)
        // Block format: the uncompressed length as a varint first (20), no stream identifier.
        #expect(packed.first == 20)
        #expect(packed.first != 0xFF)
        #expect(try Snappy.uncompress(packed) == input)
    }

    @Test func requestRoundTripsThroughProtobufC() throws {
        let series = [
            WriteSeries(
                labels: [("__name__", "up"), ("cluster", "eu1"), ("target", "api")],
                samples: [(1_700_000_000_000, 1), (1_700_000_015_000, 0)]),
            WriteSeries(labels: [("__name__", "lookout_build_info"), ("version", "1.2")], samples: [(1_700_000_000_000, 1)]),
            WriteSeries(labels: [("__name__", "nan_gauge")], samples: [(5, .infinity)]),
        ]
        let body = WriteRequestCodec.body(series)
        let decoded = try WriteRequestCodec.decode(body: body)
        #expect(decoded == series)
        // The message itself parses as prometheus.WriteRequest with the fields where remote.proto puts them.
        let raw = try Snappy.uncompress(body)
        #expect(raw.first == 0x0A)  // field 1 (timeseries), length-delimited
        let parsed = try #require(raw.withUnsafeBufferPointer { prometheus__write_request__unpack(nil, $0.count, $0.baseAddress) })
        defer { prometheus__write_request__free_unpacked(parsed, nil) }
        #expect(parsed.pointee.n_timeseries == 3)
        let first = try #require(parsed.pointee.timeseries[0])
        #expect(first.pointee.n_samples == 2)
        #expect(first.pointee.samples[1]!.pointee.timestamp == 1_700_000_015_000)
        #expect(String(cString: first.pointee.labels[1]!.pointee.value) == "eu1")
    }

    @Test func malformedBodiesAreRefused() {
        #expect(throws: WriteRequestCodec.Malformed.self) { try WriteRequestCodec.decode(body: [1, 2, 3]) }
        #expect(throws: WriteRequestCodec.Malformed.self) {
            try WriteRequestCodec.decode(body: Snappy.compress([0x0A, 0x7F, 0x01]))
        }
    }

    @Test func snapshotFlattensFamiliesWithExternalLabels() {
        let families: [MetricFamily] = [
            .counter("lookout_sampler_ticks_total", help: "t", [(Labels.empty, 42)]),
            .gauge("up", help: "u", [(Labels(["target": "api", "cluster": "own"]), 1)]),
            .histogram(
                "lookout_probe_latency_seconds", help: "h",
                [(Labels(["target": "api"]), HistogramValue(buckets: [.init(upperBound: 0.5, cumulativeCount: 3), .init(upperBound: .infinity, cumulativeCount: 4)], sum: 1.5, count: 4))]),
        ]
        let external = [Label(name: "cluster", value: "eu1"), Label(name: "instance", value: "host-a")]
        let flat = Snapshot.flatten(families, externalLabels: external)
        let rendered = flat.map { s in s.labels.map { "\($0.name)=\($0.value)" }.joined(separator: ",") + " \(s.value)" }
        #expect(
            rendered == [
                "__name__=lookout_sampler_ticks_total,cluster=eu1,instance=host-a 42.0",
                // The series' own label wins over the external one, as in Prometheus.
                "__name__=up,cluster=own,instance=host-a,target=api 1.0",
                "__name__=lookout_probe_latency_seconds_bucket,cluster=eu1,instance=host-a,le=0.5,target=api 3.0",
                "__name__=lookout_probe_latency_seconds_bucket,cluster=eu1,instance=host-a,le=+Inf,target=api 4.0",
                "__name__=lookout_probe_latency_seconds_sum,cluster=eu1,instance=host-a,target=api 1.5",
                "__name__=lookout_probe_latency_seconds_count,cluster=eu1,instance=host-a,target=api 4.0",
            ])
    }
}
