/// The type of a metric family, as the exposition formats know it.
public enum MetricType: String, Sendable, Hashable {
    case counter, gauge, histogram, summary
    /// `untyped` in text 0.0.4, `unknown` in OpenMetrics.
    case untyped
    /// OpenMetrics-only types, kept so a scrape round-trips; the text encoder maps them.
    case info, stateset, gaugeHistogram = "gaugehistogram"
}

/// A family of series that share a name, HELP, TYPE and (OpenMetrics) UNIT.
///
/// `name` is the name the samples carry in text format 0.0.4: counters end in `_total`
/// (the OpenMetrics encoder writes the family without it), histograms and summaries are
/// the base name of their `_bucket`/`_sum`/`_count` samples.
public struct MetricFamily: Sendable, Hashable {
    public var name: String
    public var help: String
    public var type: MetricType
    public var unit: String
    public var metrics: [Metric]

    public init(name: String, help: String, type: MetricType, unit: String = "", metrics: [Metric] = []) {
        self.name = name
        self.help = help
        self.type = type
        self.unit = unit
        self.metrics = metrics
    }
}

/// One series (or, for histograms and summaries, one group of series) of a family.
public struct Metric: Sendable, Hashable {
    public var labels: Labels
    public var value: MetricValue
    /// Milliseconds since the epoch, when the source gave one.
    public var timestampMilliseconds: Int64?

    public init(labels: Labels = .empty, value: MetricValue, timestampMilliseconds: Int64? = nil) {
        self.labels = labels
        self.value = value
        self.timestampMilliseconds = timestampMilliseconds
    }

    public init(labels: Labels = .empty, _ value: Double) {
        self.init(labels: labels, value: .single(value))
    }
}

public enum MetricValue: Sendable, Hashable {
    /// Counter, gauge, untyped, info and stateset values.
    case single(Double)
    case histogram(HistogramValue)
    case summary(SummaryValue)

    public var singleValue: Double? {
        if case .single(let v) = self { return v }
        return nil
    }
}

public struct HistogramValue: Sendable, Hashable {
    /// Cumulative buckets in increasing order of upper bound; the last is `+Inf`.
    public var buckets: [Bucket]
    public var sum: Double
    public var count: Double
    /// A scraped histogram that came without `_sum` (or `_count`): re-exposed as it came,
    /// as Prometheus stores what came (`sum`/`count` then hold 0 and the `+Inf` count).
    public var sumMissing = false
    public var countMissing = false

    public struct Bucket: Sendable, Hashable {
        public var upperBound: Double
        public var cumulativeCount: Double

        public init(upperBound: Double, cumulativeCount: Double) {
            self.upperBound = upperBound
            self.cumulativeCount = cumulativeCount
        }
    }

    public init(buckets: [Bucket], sum: Double, count: Double) {
        self.buckets = buckets
        self.sum = sum
        self.count = count
    }
}

public struct SummaryValue: Sendable, Hashable {
    public var quantiles: [Quantile]
    public var sum: Double
    public var count: Double
    /// A scraped summary that came without `_sum` (or `_count`): re-exposed as it came.
    public var sumMissing = false
    public var countMissing = false

    public struct Quantile: Sendable, Hashable {
        public var quantile: Double
        public var value: Double

        public init(quantile: Double, value: Double) {
            self.quantile = quantile
            self.value = value
        }
    }

    public init(quantiles: [Quantile], sum: Double, count: Double) {
        self.quantiles = quantiles
        self.sum = sum
        self.count = count
    }
}

extension MetricFamily {
    /// A family of plain values, e.g. `.gauge("lookout_probe_success", help: ..., [(labels, 1)])`.
    public static func gauge(_ name: String, help: String, unit: String = "", _ values: [(Labels, Double)]) -> Self {
        MetricFamily(name: name, help: help, type: .gauge, unit: unit, metrics: values.map { Metric(labels: $0.0, $0.1) })
    }

    public static func counter(_ name: String, help: String, unit: String = "", _ values: [(Labels, Double)]) -> Self {
        MetricFamily(name: name, help: help, type: .counter, unit: unit, metrics: values.map { Metric(labels: $0.0, $0.1) })
    }

    public static func histogram(_ name: String, help: String, unit: String = "", _ values: [(Labels, HistogramValue)])
        -> Self
    {
        MetricFamily(
            name: name, help: help, type: .histogram, unit: unit,
            metrics: values.map { Metric(labels: $0.0, value: .histogram($0.1)) })
    }

    /// The name OpenMetrics gives the family: counters without `_total`, info without `_info`.
    public var openMetricsName: String {
        switch type {
        case .counter where name.hasSuffix("_total"): return String(name.dropLast(6))
        case .info where name.hasSuffix("_info"): return String(name.dropLast(5))
        default: return name
        }
    }
}
