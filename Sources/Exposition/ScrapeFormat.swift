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
