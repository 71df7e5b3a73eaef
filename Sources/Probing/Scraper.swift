import Exposition
import LookoutCore

/// What a scrape decoder gets: the decoded body as received, its content type, the target.
public struct ScrapeInput: Sendable {
    public var body: [UInt8]
    public var contentType: String?
    public var target: String
    public var sampleLimit: Int

    public init(body: [UInt8], contentType: String?, target: String, sampleLimit: Int) {
        self.body = body
        self.contentType = contentType
        self.target = target
        self.sampleLimit = sampleLimit
    }
}

/// Why a scrape was rejected (whole: a scrape is never partially kept).
public struct ScrapeFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// `limit` for size and sample limits, `body` for anything that does not parse.
    public var reason: FailureReason
    public var message: String

    public init(reason: FailureReason, message: String) {
        self.reason = reason
        self.message = message
    }

    public var description: String { "\(reason.rawValue): \(message)" }
}

/// Turns a scraped body into the families to re-expose, with the `target` label added.
public typealias ScrapeDecoder = @Sendable (ScrapeInput) -> Result<[MetricFamily], ScrapeFailure>

public enum Scraper {
    /// OpenMetrics preferred, then the text format 0.0.4, as Prometheus asks.
    public static let accept =
        "application/openmetrics-text;version=1.0.0;q=0.9,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"

    /// Samples as Prometheus counts them for `sample_limit`: one per value line
    /// (a histogram's buckets, sum and count each count).
    public static func sampleCount(_ families: [MetricFamily]) -> Int {
        var n = 0
        for f in families {
            for m in f.metrics {
                switch m.value {
                case .single: n += 1
                case .histogram(let h): n += h.buckets.count + 2
                case .summary(let s): n += s.quantiles.count + 2
                }
            }
        }
        return n
    }

    /// The exposition parser is not available yet on this branch: every scrape fails.
    public static func decode(_ input: ScrapeInput) -> Result<[MetricFamily], ScrapeFailure> {
        .failure(ScrapeFailure(reason: .body, message: "no exposition parser"))
    }
}
