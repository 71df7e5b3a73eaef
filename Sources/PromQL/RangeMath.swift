/// The numeric cores of the range functions and quantiles, as Prometheus computes them
/// (same operations in the same order, so results agree to the last bit where it matters).
enum RangeMath {
    /// `rate`, `increase` and `delta`: the change over the samples in the range, corrected
    /// for counter resets, extrapolated towards the range's ends when the first and last
    /// samples are close enough to them (within 1.1 average sample intervals; otherwise by
    /// half an interval), never extrapolating a counter below zero.
    static func extrapolatedRate(
        _ ts: UnsafeBufferPointer<Int64>, _ vs: UnsafeBufferPointer<Double>, rangeStart: Int64, rangeEnd: Int64, rangeMilliseconds: Int64,
        isCounter: Bool, isRate: Bool
    ) -> Double? {
        guard ts.count >= 2 else { return nil }
        let n = ts.count
        var result = vs[n - 1] - vs[0]
        if isCounter {
            var prev = vs[0]
            for k in 1..<n {
                let v = vs[k]
                if v < prev { result += prev }
                prev = v
            }
        }
        var durationToStart = Double(ts[0] - rangeStart) / 1000
        let durationToEnd = Double(rangeEnd - ts[n - 1]) / 1000
        let sampledInterval = Double(ts[n - 1] - ts[0]) / 1000
        let averageDurationBetweenSamples = sampledInterval / Double(n - 1)
        if isCounter && result > 0 && vs[0] >= 0 {
            let durationToZero = sampledInterval * (vs[0] / result)
            if durationToZero < durationToStart { durationToStart = durationToZero }
        }
        let extrapolationThreshold = averageDurationBetweenSamples * 1.1
        var extrapolateToInterval = sampledInterval
        if durationToStart < extrapolationThreshold {
            extrapolateToInterval += durationToStart
        } else {
            extrapolateToInterval += averageDurationBetweenSamples / 2
        }
        if durationToEnd < extrapolationThreshold {
            extrapolateToInterval += durationToEnd
        } else {
            extrapolateToInterval += averageDurationBetweenSamples / 2
        }
        var factor = extrapolateToInterval / sampledInterval
        if isRate { factor /= Double(rangeMilliseconds) / 1000 }
        return result * factor
    }

    /// `irate`: the per-second change between the last two samples (a decrease is a reset).
    static func irate(_ ts: UnsafeBufferPointer<Int64>, _ vs: UnsafeBufferPointer<Double>) -> Double? {
        let n = ts.count
        guard n >= 2 else { return nil }
        let last = vs[n - 1], previous = vs[n - 2]
        var result = last < previous ? last : last - previous
        let interval = ts[n - 1] - ts[n - 2]
        guard interval != 0 else { return nil }
        result /= Double(interval) / 1000
        return result
    }

    /// `avg_over_time`: an incremental mean, which does not overflow where a sum would,
    /// accumulated with Kahan-Neumaier compensation (as Prometheus 2.42 does).
    static func avg(_ vs: UnsafeBufferPointer<Double>) -> Double {
        var mean = 0.0, count = 0.0, c = 0.0
        for v in vs {
            count += 1
            if mean.isInfinite {
                if v.isInfinite && (mean > 0) == (v > 0) { continue }
                if !v.isInfinite && !v.isNaN { continue }
            }
            (mean, c) = kahanSumInc(v / count - mean / count, mean, c)
        }
        if mean.isInfinite { return mean }
        return mean + c
    }

    @inline(__always)
    static func kahanSumInc(_ inc: Double, _ sum: Double, _ c: Double) -> (Double, Double) {
        let t = sum + inc
        var c = c
        // Neumaier: compensate with whichever term is smaller in magnitude.
        if Swift.abs(sum) >= Swift.abs(inc) {
            c += (sum - t) + inc
        } else {
            c += (inc - t) + sum
        }
        return (t, c)
    }

    /// The φ-quantile of values, interpolating between the two nearest ranks; NaN sorts first.
    static func quantile<C: Collection<Double>>(_ q: Double, _ values: C) -> Double {
        if values.isEmpty { return .nan }
        if q.isNaN { return .nan }
        if q < 0 { return -.infinity }
        if q > 1 { return .infinity }
        let sorted = values.sorted { a, b in a.isNaN ? !b.isNaN : a < b }
        let n = Double(sorted.count)
        let rank = q * (n - 1)
        let lowerIndex = Swift.max(0, rank.rounded(.down))
        let upperIndex = Swift.min(n - 1, lowerIndex + 1)
        let weight = rank - rank.rounded(.down)
        return sorted[Int(lowerIndex)] * (1 - weight) + sorted[Int(upperIndex)] * weight
    }

    /// `histogram_quantile` over classic cumulative buckets.
    static func bucketQuantile(_ q: Double, _ input: [(upper: Double, count: Double)]) -> Double {
        if q.isNaN { return .nan }
        if q < 0 { return -.infinity }
        if q > 1 { return .infinity }
        var buckets = input.sorted { $0.upper < $1.upper }
        guard let last = buckets.last, last.upper == .infinity else { return .nan }
        // Buckets with the same bound (e.g. `1` and `1.0`) are one bucket.
        var merged: [(upper: Double, count: Double)] = []
        merged.reserveCapacity(buckets.count)
        for b in buckets {
            if let l = merged.last, l.upper == b.upper {
                merged[merged.count - 1].count += b.count
            } else {
                merged.append(b)
            }
        }
        buckets = merged
        // Counts of a scrape can be inconsistent (buckets read at slightly different
        // times); make them monotonic.
        var maxCount = -Double.infinity
        for i in buckets.indices {
            if buckets[i].count > maxCount {
                maxCount = buckets[i].count
            } else if buckets[i].count < maxCount {
                buckets[i].count = maxCount
            }
        }
        guard buckets.count >= 2 else { return .nan }
        let observations = buckets[buckets.count - 1].count
        guard observations != 0 else { return .nan }
        var rank = q * observations
        // The first bucket (excluding +Inf) whose count reaches the rank.
        var b = 0
        while b < buckets.count - 1 && !(buckets[b].count >= rank) { b += 1 }
        if b == buckets.count - 1 { return buckets[buckets.count - 2].upper }
        if b == 0 && buckets[0].upper <= 0 { return buckets[0].upper }
        var bucketStart = 0.0
        let bucketEnd = buckets[b].upper
        var count = buckets[b].count
        if b > 0 {
            bucketStart = buckets[b - 1].upper
            count -= buckets[b - 1].count
            rank -= buckets[b - 1].count
        }
        return bucketStart + (bucketEnd - bucketStart) * (rank / count)
    }
}
