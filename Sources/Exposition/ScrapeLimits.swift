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
