/// Limits a scrape must stay within; 0 means no limit. Names follow Prometheus' scrape config.
public struct ScrapeLimits: Sendable, Hashable {
    /// Samples kept from the scrape (every bucket, sum, count and quantile line counts;
    /// OpenMetrics `_created` lines are dropped and do not).
    public var sampleLimit: Int
    /// Labels on one sample line, `le` and `quantile` included, the metric name not.
    public var labelLimit: Int
    /// Bytes of a label name.
    public var labelNameLengthLimit: Int
    /// Bytes of a label value (after unescaping).
    public var labelValueLengthLimit: Int
    /// Bytes of the (decompressed) body.
    public var bodySizeLimit: Int

    public init(
        sampleLimit: Int = 0, labelLimit: Int = 0, labelNameLengthLimit: Int = 0, labelValueLengthLimit: Int = 0,
        bodySizeLimit: Int = 0
    ) {
        self.sampleLimit = sampleLimit
        self.labelLimit = labelLimit
        self.labelNameLengthLimit = labelNameLengthLimit
        self.labelValueLengthLimit = labelValueLengthLimit
        self.bodySizeLimit = bodySizeLimit
    }

    public static let none = ScrapeLimits()
}

/// The two text formats a scrape can answer with.
public enum ScrapeFormat: String, Sendable, Hashable {
    case text
    case openMetrics = "openmetrics"

    /// The format of a response by its `Content-Type`, as Prometheus decides it: OpenMetrics
    /// for `application/openmetrics-text`, text 0.0.4 for anything else (including none).
    public init(contentType: String?) {
        guard let contentType else {
            self = .text
            return
        }
        let media = contentType.split(separator: ";", maxSplits: 1).first ?? ""
        let trimmed = media.filter { $0 != " " && $0 != "\t" }.lowercased()
        self = trimmed == "application/openmetrics-text" ? .openMetrics : .text
    }

    /// The `Accept` header a scraper sends: OpenMetrics preferred, text 0.0.4 otherwise.
    public static let acceptHeader =
        "application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,"
        + "text/plain;version=0.0.4;q=0.3,*/*;q=0.1"
}
