/// Why a scrape was rejected. The whole scrape is rejected: there is never a partial result.
public struct ScrapeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A short reason, safe as a label value (`lookout_probe_failures_total{reason=...}`).
    public enum Reason: String, Sendable, Hashable, CaseIterable {
        /// The line does not follow the format's grammar.
        case syntax
        /// The body is not valid UTF-8.
        case invalidUTF8 = "invalid_utf8"
        /// A number is not allowed where it stands (a negative counter, a fractional bucket count, ...).
        case invalidValue = "invalid_value"
        /// HELP, TYPE or UNIT repeated, misplaced, inconsistent or clashing with another family.
        case invalidMetadata = "invalid_metadata"
        /// The same series twice, or a series (OpenMetrics: a metric point) split by others.
        case duplicateSeries = "duplicate_series"
        /// A histogram or summary whose parts do not fit together.
        case invalidHistogram = "invalid_histogram"
        /// OpenMetrics without `# EOF`.
        case missingEOF = "missing_eof"
        /// OpenMetrics with something after `# EOF`.
        case contentAfterEOF = "content_after_eof"
        case sampleLimit = "sample_limit"
        case labelLimit = "label_limit"
        case labelNameLength = "label_name_length"
        case labelValueLength = "label_value_length"
        case bodySizeLimit = "body_size_limit"
    }

    public let reason: Reason
    /// 1-based line of the body where the problem is; 0 when it is not about one line.
    public let line: Int
    public let message: String

    public init(_ reason: Reason, line: Int, _ message: String) {
        self.reason = reason
        self.line = line
        self.message = message
    }

    public var description: String {
        line > 0 ? "line \(line): \(message)" : message
    }
}
