/// A classic histogram being filled: fixed upper bounds, per-bucket (non-cumulative)
/// counts, sum and count. Observing does not allocate.
public struct HistogramAccumulator: Sendable {
    /// Upper bounds in increasing order, without `+Inf`.
    public let upperBounds: [Double]
    private var counts: [UInt64]
    public private(set) var sum: Double = 0
    public private(set) var count: UInt64 = 0

    public init(upperBounds: [Double]) {
        precondition(zip(upperBounds, upperBounds.dropFirst()).allSatisfy { $0 < $1 }, "bounds must increase")
        self.upperBounds = upperBounds
        self.counts = [UInt64](repeating: 0, count: upperBounds.count + 1)
    }

    public mutating func observe(_ value: Double) {
        // Bounds lists are short; a linear scan is as fast as binary search here.
        var i = 0
        while i < upperBounds.count, value > upperBounds[i] { i += 1 }
        counts[i] &+= 1
        count &+= 1
        sum += value
    }

    /// The cumulative view for exposition.
    public var value: HistogramValue {
        var buckets: [HistogramValue.Bucket] = []
        buckets.reserveCapacity(counts.count)
        var running: UInt64 = 0
        for (i, c) in counts.enumerated() {
            running &+= c
            buckets.append(.init(upperBound: i < upperBounds.count ? upperBounds[i] : .infinity, cumulativeCount: Double(running)))
        }
        return HistogramValue(buckets: buckets, sum: sum, count: Double(count))
    }

    /// Prometheus' default buckets, for latencies in seconds.
    public static let defaultLatencyBounds: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 2.5, 5, 10]

    /// Buckets for ratios in [0, 1] (utilization: 1.0 = one full core; more for multi-threaded processes).
    public static let utilizationBounds: [Double] = [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.5, 2, 4, 8]
}
