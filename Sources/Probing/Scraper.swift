import Exposition
import LookoutCore
import Series

/// What a scrape decoder gets: the decoded body as received, its content type, the target.
public struct ScrapeInput: Sendable {
    public var body: [UInt8]
    public var contentType: String?
    public var target: String
    public var limits: ScrapeLimits

    public init(body: [UInt8], contentType: String?, target: String, limits: ScrapeLimits) {
        self.body = body
        self.contentType = contentType
        self.target = target
        self.limits = limits
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
    public static let accept = ScrapeFormat.acceptHeader

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

    /// Parses the body by its content type (OpenMetrics, else text 0.0.4) within the limits
    /// and adds the `target` label (a scraped `target` label becomes `exported_target`).
    /// Any error or exceeded limit rejects the whole scrape: `limit` for the limits, `body`
    /// for everything else, with the parser's reason and line in the message.
    public static func decode(_ input: ScrapeInput) -> Result<[MetricFamily], ScrapeFailure> {
        let format = ScrapeFormat(contentType: input.contentType)
        do {
            let families = try ScrapeParser.parse(input.body, format: format, limits: input.limits)
            return .success(relabel(families, adding: ("target", input.target)))
        } catch {
            let reason: FailureReason
            switch error.reason {
            case .sampleLimit, .labelLimit, .labelNameLength, .labelValueLength, .bodySizeLimit: reason = .limit
            default: reason = .body
            }
            let name = format == .openMetrics ? "OpenMetrics" : "text 0.0.4"
            return .failure(ScrapeFailure(reason: reason, message: "scrape rejected (\(name), \(error.reason.rawValue)): \(error)"))
        }
    }
}
