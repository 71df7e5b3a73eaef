import Series
import Testing
import TestSupport
@testable import Exposition

@Suite struct NegotiationTests {
    static let prometheusAccepts: [(String, ExpositionFormat)] = [
        // Prometheus 2.x default scrape Accept header.
        (
            "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
            .openMetrics
        ),
        // Prometheus 3 with escaping parameters.
        (
            "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1",
            .openMetrics
        ),
        // scrape_protocols: [PrometheusProto, ...]
        (
            "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.5,application/openmetrics-text;version=1.0.0;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
            .protobuf
        ),
        // scrape_protocols: [PrometheusText0.0.4]
        ("text/plain;version=0.0.4;q=0.5,*/*;q=0.1", .text),
        // curl
        ("*/*", .text),
    ]

    @Test func prometheusHeaders() {
        for (accept, format) in Self.prometheusAccepts {
            #expect(ContentNegotiation.format(accept: accept) == format, "\(accept)")
        }
    }

    @Test func qValuesDecide() {
        #expect(ContentNegotiation.format(accept: "text/plain;q=0.9, application/openmetrics-text;q=1") == .openMetrics)
        #expect(ContentNegotiation.format(accept: "application/openmetrics-text;q=0.2, text/plain;q=0.9") == .text)
        #expect(ContentNegotiation.format(accept: "application/openmetrics-text;q=0, text/plain;q=0.1") == .text)
        #expect(ContentNegotiation.format(accept: "application/openmetrics-text; q=0") == .text)
        #expect(
            ContentNegotiation.format(
                accept: "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.1,application/openmetrics-text;q=0.2")
                == .openMetrics)
        // Equal preference: the header's order.
        #expect(ContentNegotiation.format(accept: "application/openmetrics-text, text/plain") == .openMetrics)
        #expect(ContentNegotiation.format(accept: "text/plain, application/openmetrics-text") == .text)
    }

    @Test func whatIsNotServedFallsThrough() {
        #expect(ContentNegotiation.format(accept: nil) == .text)
        #expect(ContentNegotiation.format(accept: "") == .text)
        #expect(ContentNegotiation.format(accept: "application/json") == .text)
        // Protobuf only when the delimited MetricFamily encoding is asked for.
        #expect(ContentNegotiation.format(accept: "application/vnd.google.protobuf") == .text)
        #expect(
            ContentNegotiation.format(
                accept: "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text") == .text)
        // Versions this server does not speak are skipped.
        #expect(ContentNegotiation.format(accept: "text/plain;version=1.0.0,application/openmetrics-text") == .openMetrics)
        #expect(ContentNegotiation.format(accept: "application/openmetrics-text;version=2.0.0") == .text)
        #expect(ContentNegotiation.format(accept: "application/openmetrics-text;version=\"1.0.0\"") == .openMetrics)
        #expect(ContentNegotiation.format(accept: "garbage;;;,,/") == .text)
    }

    @Test func contentTypes() {
        #expect(ExpositionFormat.text.contentType == "text/plain; version=0.0.4; charset=utf-8")
        #expect(ExpositionFormat.openMetrics.contentType == "application/openmetrics-text; version=1.0.0; charset=utf-8")
        #expect(
            ExpositionFormat.protobuf.contentType
                == "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited")
    }

    @Test func gzipNegotiation() {
        #expect(ContentNegotiation.acceptsGzip("gzip"))
        #expect(ContentNegotiation.acceptsGzip("gzip, deflate, br"))
        #expect(ContentNegotiation.acceptsGzip("deflate, gzip;q=0.5"))
        #expect(ContentNegotiation.acceptsGzip("*"))
        #expect(ContentNegotiation.acceptsGzip("GZIP;Q=1"))
        #expect(!ContentNegotiation.acceptsGzip(nil))
        #expect(!ContentNegotiation.acceptsGzip(""))
        #expect(!ContentNegotiation.acceptsGzip("identity"))
        #expect(!ContentNegotiation.acceptsGzip("gzip;q=0"))
        #expect(!ContentNegotiation.acceptsGzip("gzip;q=0, *"))
        #expect(!ContentNegotiation.acceptsGzip("*;q=0"))
        #expect(!ContentNegotiation.acceptsGzip("br, deflate"))
    }

    @Test func renderPicksFormatAndEncoding() throws {
        let families = Fixtures.agent
        let plain = MetricsExposition.render(families: families, accept: nil, acceptEncoding: nil)
        #expect(plain.contentType == TextEncoder.contentType)
        #expect(plain.contentEncoding == nil)
        #expect(plain.body == TextEncoder.encode(families))

        let om = MetricsExposition.render(families: families, accept: "application/openmetrics-text", acceptEncoding: "gzip")
        #expect(om.contentType == OpenMetricsEncoder.contentType)
        #expect(om.contentEncoding == "gzip")
        #expect(om.body.starts(with: [0x1F, 0x8B]))
        #expect(gunzip(om.body) == OpenMetricsEncoder.encode(families))

        let pb = MetricsExposition.render(
            families: families,
            accept: "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited",
            acceptEncoding: "gzip;q=0")
        #expect(pb.contentType == ProtobufEncoder.contentType)
        #expect(pb.contentEncoding == nil)
        #expect(pb.body == ProtobufEncoder.encode(families))
    }

    @Test func renderIntoReusedBuffers() throws {
        var body: [UInt8] = Array("stale".utf8)
        var scratch: [UInt8] = []
        let families = Fixtures.agent
        let zipped = MetricsExposition.render(
            families: families, accept: "application/openmetrics-text", acceptEncoding: "gzip", into: &body,
            scratch: &scratch)
        #expect(zipped.contentType == OpenMetricsEncoder.contentType && zipped.contentEncoding == "gzip")
        #expect(gunzip(body) == OpenMetricsEncoder.encode(families))
        let capacity = body.capacity
        let plain = MetricsExposition.render(families: families, accept: nil, acceptEncoding: nil, into: &body, scratch: &scratch)
        #expect(plain.contentEncoding == nil)
        #expect(body == TextEncoder.encode(families))
        #expect(body.capacity >= capacity)
    }

    @Test func gzipShrinksARealisticExposition() throws {
        let text = TextEncoder.encode(Fixtures.allTypes + Fixtures.agent.map { f in
            var f = f
            f.name += "_copy"
            return f
        })
        let zipped = try #require(MetricsExposition.gzip(text))
        #expect(zipped.count < text.count / 2)
        #expect(gunzip(zipped) == text)
        #expect(gunzip(try #require(MetricsExposition.gzip([]))) == [])
    }
}
