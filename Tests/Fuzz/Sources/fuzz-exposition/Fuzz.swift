import Exposition
import FuzzSupport
import Series

/// The scrape parser takes any body without crashing, for both formats, with and without
/// limits, whole or in two chunks; and what it accepts survives encoding and parsing again.
///
/// Input: one control byte, then the body. Control bits: 0 OpenMetrics (else text 0.0.4),
/// 1 small limits, 2 feed in two chunks (split at the second byte's share of the body).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzExposition(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let control = data[0]
    let body = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let format: ScrapeFormat = control & 1 != 0 ? .openMetrics : .text
    let limits =
        control & 2 != 0
        ? ScrapeLimits(sampleLimit: 40, labelLimit: 6, labelNameLengthLimit: 24, labelValueLengthLimit: 40, bodySizeLimit: 3000)
        : .none
    var parser = ScrapeParser(format: format, limits: limits)
    let families: [MetricFamily]
    do throws(ScrapeError) {
        if control & 4 != 0, body.count > 1 {
            let cut = body.count * Int(body[0]) / 256
            try parser.feed(Array(body[..<cut]))
            try parser.feed(Array(body[cut...]))
        } else {
            try parser.feed(body)
        }
        families = try parser.finish()
    } catch {
        blackHole(error.description)
        // After a failure every call gives the same error again.
        do throws(ScrapeError) { _ = try parser.finish() } catch let again {
            if again != error { propertyFailed("finish after a failure gave \(again), not \(error)") }
        }
        return 0
    }
    blackHole(families.count)
    roundTrip(families, from: format)
    return 0
}

/// Text 0.0.4 has no UNIT and none of OpenMetrics' extra types, and its parsers skip the
/// blanks before a HELP text (OpenMetrics keeps them): compare what it can carry.
func roundTrip(_ families: [MetricFamily], from format: ScrapeFormat) {
    let expected = families.map { f in
        var f = f
        f.unit = ""
        f.help = String(decoding: f.help.utf8.drop { $0 == 0x20 || $0 == 0x09 }, as: UTF8.self)
        switch f.type {
        case .info, .stateset: f.type = .gauge
        case .gaugeHistogram: f.type = .histogram
        default: break
        }
        return f
    }
    let text = TextEncoder.encode(families)
    do {
        let again = try ScrapeParser.parse(text, format: .text)
        if !same(again, expected) {
            propertyFailed("text round trip changed the families:\n\(again)\n---\n\(expected)\n---\n\(String(decoding: text, as: UTF8.self))")
        }
    } catch {
        propertyFailed("the text encoding of a parsed scrape does not parse: \(error)\n\(String(decoding: text, as: UTF8.self))")
    }
    guard format == .openMetrics else { return }
    let om = OpenMetricsEncoder.encode(families)
    do {
        let again = try ScrapeParser.parse(om, format: .openMetrics)
        if !same(again, families) {
            propertyFailed("OpenMetrics round trip changed the families:\n\(again)\n---\n\(families)\n---\n\(String(decoding: om, as: UTF8.self))")
        }
    } catch {
        propertyFailed("the OpenMetrics encoding of a parsed scrape does not parse: \(error)\n\(String(decoding: om, as: UTF8.self))")
    }
}

/// Equality where NaN equals NaN (a scraped NaN is a value like any other).
func same(_ a: [MetricFamily], _ b: [MetricFamily]) -> Bool {
    guard a.count == b.count else { return false }
    for (x, y) in zip(a, b) {
        guard x.name == y.name, x.help == y.help, x.type == y.type, x.unit == y.unit, x.metrics.count == y.metrics.count
        else { return false }
        for (m, n) in zip(x.metrics, y.metrics) {
            guard m.labels == n.labels, m.timestampMilliseconds == n.timestampMilliseconds else { return false }
            switch (m.value, n.value) {
            case (.single(let u), .single(let v)):
                guard same(u, v) else { return false }
            case (.histogram(let h), .histogram(let k)):
                guard same(h.sum, k.sum), same(h.count, k.count), h.buckets.count == k.buckets.count else { return false }
                for (p, q) in zip(h.buckets, k.buckets) where !same(p.upperBound, q.upperBound) || !same(p.cumulativeCount, q.cumulativeCount) {
                    return false
                }
            case (.summary(let s), .summary(let t)):
                guard same(s.sum, t.sum), same(s.count, t.count), s.quantiles.count == t.quantiles.count else { return false }
                for (p, q) in zip(s.quantiles, t.quantiles) where !same(p.quantile, q.quantile) || !same(p.value, q.value) {
                    return false
                }
            default:
                return false
            }
        }
    }
    return true
}

func same(_ u: Double, _ v: Double) -> Bool { u == v || (u.isNaN && v.isNaN) }

@_cdecl("fuzz_exposition_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzExposition)
}
