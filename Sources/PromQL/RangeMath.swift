#if canImport(Glibc)
import Glibc
#endif
import GoFormat

/// The numeric cores of the range functions and quantiles, as Prometheus 2.42 computes them
/// (same operations in the same order, so results agree to the last bit where it matters).
enum RangeMath {
    /// One range function with its scalar parameters, applied to each series' samples.
    struct Computation {
        let function: Function
        let params: [Double]
        let rangeStart: Int64
        let rangeEnd: Int64
        let rangeMilliseconds: Int64
        /// The evaluation time (`predict_linear` predicts from it).
        let time: Int64

        /// The function's value for the samples of one series (at least one); nil for none.
        func apply(_ ts: UnsafeBufferPointer<Int64>, _ vs: UnsafeBufferPointer<Double>) throws(EvalError) -> Double? {
            switch function {
            case .rate, .increase, .delta:
                return extrapolatedRate(
                    ts, vs, rangeStart: rangeStart, rangeEnd: rangeEnd, rangeMilliseconds: rangeMilliseconds,
                    isCounter: function != .delta, isRate: function == .rate)
            case .irate: return instantValue(ts, vs, isRate: true)
            case .idelta: return instantValue(ts, vs, isRate: false)
            case .avg_over_time: return avg(vs)
            case .sum_over_time: return kahanSum(vs)
            case .count_over_time: return Double(vs.count)
            case .min_over_time:
                var m = vs[0]
                for v in vs where v < m || m.isNaN { m = v }
                return m
            case .max_over_time:
                var m = vs[0]
                for v in vs where v > m || m.isNaN { m = v }
                return m
            case .quantile_over_time: return quantile(params[0], vs)
            case .stddev_over_time: return variance(vs).squareRoot()
            case .stdvar_over_time: return variance(vs)
            case .last_over_time: return vs[vs.count - 1]
            case .present_over_time, .absent_over_time: return 1
            case .changes:
                var changes = 0.0
                var prev = vs[0]
                for v in vs.dropFirst() {
                    if v != prev && !(v.isNaN && prev.isNaN) { changes += 1 }
                    prev = v
                }
                return changes
            case .resets:
                var resets = 0.0
                var prev = vs[0]
                for v in vs.dropFirst() {
                    if v < prev { resets += 1 }
                    prev = v
                }
                return resets
            case .deriv:
                guard vs.count >= 2 else { return nil }
                return linearRegression(ts, vs, interceptTime: ts[0]).slope
            case .predict_linear:
                guard vs.count >= 2 else { return nil }
                let (slope, intercept) = linearRegression(ts, vs, interceptTime: time)
                return slope * params[0] + intercept
            case .holt_winters:
                return try holtWinters(vs, smoothing: params[0], trend: params[1])
            default:
                return nil
            }
        }
    }

    /// Calls `body` with the samples of arrays (in time order) in `[from, to]`.
    static func window<R>(
        _ ts: [Int64], _ vs: [Double], from: Int64, to: Int64,
        _ body: (UnsafeBufferPointer<Int64>, UnsafeBufferPointer<Double>) throws(EvalError) -> R
    ) throws(EvalError) -> R {
        var lo = 0
        while lo < ts.count && ts[lo] < from { lo += 1 }
        var hi = lo
        while hi < ts.count && ts[hi] <= to { hi += 1 }
        return try ts.withUnsafeBufferPointer { t throws(EvalError) in
            try vs.withUnsafeBufferPointer { v throws(EvalError) in
                try body(UnsafeBufferPointer(rebasing: t[lo..<hi]), UnsafeBufferPointer(rebasing: v[lo..<hi]))
            }
        }
    }

    /// `rate`, `increase` and `delta`: the change over the samples in the range, corrected
    /// for counter resets, extrapolated towards the range's ends when the first and last
    /// samples are close enough to them (within 1.1 average sample intervals; otherwise by
    /// half an interval), never extrapolating a counter below zero.
    static func extrapolatedRate(
        _ ts: UnsafeBufferPointer<Int64>, _ vs: UnsafeBufferPointer<Double>, rangeStart: Int64, rangeEnd: Int64,
        rangeMilliseconds: Int64, isCounter: Bool, isRate: Bool
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

    /// `irate` and `idelta`: the change between the last two samples (for `irate` a decrease
    /// is a reset, and the change is per second).
    static func instantValue(_ ts: UnsafeBufferPointer<Int64>, _ vs: UnsafeBufferPointer<Double>, isRate: Bool) -> Double? {
        let n = ts.count
        guard n >= 2 else { return nil }
        let last = vs[n - 1], previous = vs[n - 2]
        var result = isRate && last < previous ? last : last - previous
        let interval = ts[n - 1] - ts[n - 2]
        guard interval != 0 else { return nil }
        if isRate { result /= Double(interval) / 1000 }
        return result
    }

    /// `avg_over_time`: an incremental mean, which does not overflow where a sum would,
    /// accumulated with Kahan-Neumaier compensation.
    static func avg<C: Collection<Double>>(_ vs: C) -> Double {
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

    /// `sum_over_time`: Kahan-Neumaier summation.
    static func kahanSum<C: Collection<Double>>(_ vs: C) -> Double {
        var sum = 0.0, c = 0.0
        for v in vs { (sum, c) = kahanSumInc(v, sum, c) }
        if sum.isInfinite { return sum }
        return sum + c
    }

    /// `stdvar_over_time`: Welford's method with compensated sums.
    static func variance<C: Collection<Double>>(_ vs: C) -> Double {
        var count = 0.0
        var mean = 0.0, cMean = 0.0
        var aux = 0.0, cAux = 0.0
        for v in vs {
            count += 1
            let delta = v - (mean + cMean)
            (mean, cMean) = kahanSumInc(delta / count, mean, cMean)
            (aux, cAux) = kahanSumInc(delta * (v - (mean + cMean)), aux, cAux)
        }
        return (aux + cAux) / count
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

    /// Least squares over the samples, x in seconds from `interceptTime`: `deriv` and
    /// `predict_linear`. A constant series has slope 0 (NaN when the constant is infinite).
    static func linearRegression(
        _ ts: UnsafeBufferPointer<Int64>, _ vs: UnsafeBufferPointer<Double>, interceptTime: Int64
    ) -> (slope: Double, intercept: Double) {
        var n = 0.0
        var sumX = 0.0, cX = 0.0, sumY = 0.0, cY = 0.0, sumXY = 0.0, cXY = 0.0, sumX2 = 0.0, cX2 = 0.0
        let initY = vs[0]
        var constY = true
        for i in 0..<vs.count {
            let y = vs[i]
            if constY && i > 0 && y != initY { constY = false }
            n += 1
            let x = Double(ts[i] - interceptTime) / 1e3
            (sumX, cX) = kahanSumInc(x, sumX, cX)
            (sumY, cY) = kahanSumInc(y, sumY, cY)
            (sumXY, cXY) = kahanSumInc(x * y, sumXY, cXY)
            (sumX2, cX2) = kahanSumInc(x * x, sumX2, cX2)
        }
        if constY {
            if initY.isInfinite { return (.nan, .nan) }
            return (0, initY)
        }
        sumX += cX
        sumY += cY
        sumXY += cXY
        sumX2 += cX2
        let covXY = sumXY - sumX * sumY / n
        let varX = sumX2 - sumX * sumX / n
        let slope = covXY / varX
        let intercept = sumY / n - slope * sumX / n
        return (slope, intercept)
    }

    /// `holt_winters`: double exponential smoothing; the factors must be in (0, 1).
    static func holtWinters(_ vs: UnsafeBufferPointer<Double>, smoothing sf: Double, trend tf: Double) throws(EvalError) -> Double? {
        if sf <= 0 || sf >= 1 {
            throw EvalError("invalid smoothing factor. Expected: 0 < sf < 1, got: \(GoFloat.formatFixed(sf, verb: "f", precision: 6))")
        }
        if tf <= 0 || tf >= 1 {
            throw EvalError("invalid trend factor. Expected: 0 < tf < 1, got: \(GoFloat.formatFixed(tf, verb: "f", precision: 6))")
        }
        let l = vs.count
        guard l >= 2 else { return nil }
        var s0 = 0.0, s1 = vs[0], b = vs[1] - vs[0]
        for i in 1..<l {
            let x = sf * vs[i]
            if i > 1 { b = tf * (s1 - s0) + (1 - tf) * b }
            let y = (1 - sf) * (s1 + b)
            (s0, s1) = (s1, x + y)
        }
        return s1
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
        // Go's sort.Search: the first bucket (excluding +Inf) whose count reaches the rank.
        var lo = 0, hi = buckets.count - 1
        while lo < hi {
            let h = (lo + hi) / 2
            if !(buckets[h].count >= rank) { lo = h + 1 } else { hi = h }
        }
        let b = lo
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
