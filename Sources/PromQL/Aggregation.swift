#if canImport(Glibc)
import Glibc
#endif
import GoFormat
import Series

/// Aggregation operators, as Prometheus 2.42's `aggregation()` computes them: groups in
/// the order their first sample appears, `topk`/`bottomk` through Go's heap.
extension Evaluator {
    func aggregate(_ op: AggregateOp, _ param: Value?, _ vec: [Sample], grouping: [String], without: Bool) throws(EvalError) -> [Sample] {
        var grouping = grouping
        var k = 0
        var q = 0.0
        var valueLabel = ""
        switch op {
        case .topk, .bottomk:
            guard case .scalar(let f)? = param else { throw EvalError("expected a scalar parameter") }
            // Prometheus' convertibleToInt64: the largest float64 below 2^63.
            guard f <= 9_223_372_036_854_774_784, f >= -9_223_372_036_854_775_808 else {
                throw EvalError("Scalar value \(GoFloat.formatG(f)) overflows int64")
            }
            let k64 = Int64(f)
            if k64 < 1 { return [] }
            k = Int(clamping: k64)
        case .quantile:
            guard case .scalar(let f)? = param else { throw EvalError("expected a scalar parameter") }
            q = f
        case .count_values:
            guard case .string(let s)? = param else { throw EvalError("expected a string parameter") }
            guard MetricNames.isValidLabelName(s) else { throw EvalError("invalid label name \(goQuoted(s))") }
            valueLabel = s
            if !without { grouping.append(valueLabel) }
        default:
            break
        }

        struct Group {
            var labels: Labels
            var value: Double
            var mean: Double
            var count: Int
            var heap: [Sample]
        }
        let names = without ? grouping + ["__name__"] : grouping
        var index: [Signature: Int] = [:]
        var groups: [Group] = []
        for var s in vec {
            if op == .count_values { s.labels = s.labels.setting(valueLabel, GoFloat.formatF(s.value)) }
            let key = Signature(s.labels, on: !without, names: names)
            guard let gi = index[key] else {
                index[key] = groups.count
                var g = Group(labels: key.materialized, value: s.value, mean: s.value, count: 1, heap: [])
                switch op {
                case .stddev, .stdvar: g.value = 0
                case .topk, .bottomk, .quantile: g.heap = [s]
                case .group: g.value = 1
                default: break
                }
                groups.append(g)
                continue
            }
            switch op {
            case .sum:
                groups[gi].value += s.value
            case .avg:
                groups[gi].count += 1
                let mean = groups[gi].mean
                if mean.isInfinite {
                    if s.value.isInfinite && (mean > 0) == (s.value > 0) { break }
                    if !s.value.isInfinite && !s.value.isNaN { break }
                }
                let n = Double(groups[gi].count)
                groups[gi].mean += s.value / n - mean / n
            case .group:
                break
            case .max:
                if groups[gi].value < s.value || groups[gi].value.isNaN { groups[gi].value = s.value }
            case .min:
                if groups[gi].value > s.value || groups[gi].value.isNaN { groups[gi].value = s.value }
            case .count, .count_values:
                groups[gi].count += 1
            case .stddev, .stdvar:
                groups[gi].count += 1
                let delta = s.value - groups[gi].mean
                groups[gi].mean += delta / Double(groups[gi].count)
                groups[gi].value += delta * (s.value - groups[gi].mean)
            case .topk:
                GoHeap.offer(&groups[gi].heap, s, k: k, less: GoHeap.topkLess)
            case .bottomk:
                GoHeap.offer(&groups[gi].heap, s, k: k, less: GoHeap.bottomkLess)
            case .quantile:
                groups[gi].heap.append(s)
            }
        }
        var out: [Sample] = []
        out.reserveCapacity(groups.count)
        for g in groups {
            let v: Double
            switch op {
            case .avg: v = g.mean
            case .count, .count_values: v = Double(g.count)
            case .stdvar: v = g.value / Double(g.count)
            case .stddev: v = (g.value / Double(g.count)).squareRoot()
            case .quantile: v = RangeMath.quantile(q, g.heap.map(\.value))
            case .topk, .bottomk:
                // The heap keeps the weakest on top; the result is strongest first, NaN last.
                var h = g.heap
                if op == .topk {
                    GoSort.sort(&h) { a, b in a.value.isNaN ? false : (b.value.isNaN || a.value > b.value) }
                } else {
                    GoSort.sort(&h) { a, b in a.value.isNaN ? false : (b.value.isNaN || a.value < b.value) }
                }
                out += h
                continue
            default: v = g.value
            }
            out.append(Sample(labels: g.labels, value: v))
        }
        return out
    }
}

/// Go's `container/heap` as Prometheus drives it for `topk` and `bottomk`: which samples
/// stay when values tie or are NaN depends on this exact sequence of swaps.
enum GoHeap {
    /// `vectorByValueHeap.Less`: NaN first, then ascending (the top is the weakest of topk).
    static func topkLess(_ a: Sample, _ b: Sample) -> Bool { a.value.isNaN || a.value < b.value }
    /// `vectorByReverseValueHeap.Less`: NaN first, then descending.
    static func bottomkLess(_ a: Sample, _ b: Sample) -> Bool { a.value.isNaN || a.value > b.value }

    /// Adds `s` to a heap of at most `k` samples when it beats the top (or the top is NaN).
    static func offer(_ h: inout [Sample], _ s: Sample, k: Int, less: (Sample, Sample) -> Bool) {
        let head = h[0]
        // topk: `heap[0].V < s.V || (IsNaN(heap[0].V) && !IsNaN(s.V))`; bottomk with `>`.
        let beats = head.value.isNaN ? !s.value.isNaN : less(head, s)
        guard h.count < k || beats else { return }
        if h.count == k {
            if k == 1 {
                h[0] = s
                return
            }
            pop(&h, less)
        }
        h.append(s)
        up(&h, h.count - 1, less)
    }

    static func pop(_ h: inout [Sample], _ less: (Sample, Sample) -> Bool) {
        let n = h.count - 1
        h.swapAt(0, n)
        down(&h, 0, n, less)
        h.removeLast()
    }

    static func up(_ h: inout [Sample], _ j: Int, _ less: (Sample, Sample) -> Bool) {
        var j = j
        while true {
            let i = (j - 1) / 2
            if i == j || !less(h[j], h[i]) { break }
            h.swapAt(i, j)
            j = i
        }
    }

    static func down(_ h: inout [Sample], _ i0: Int, _ n: Int, _ less: (Sample, Sample) -> Bool) {
        var i = i0
        while true {
            let j1 = 2 * i + 1
            if j1 >= n || j1 < 0 { break }
            var j = j1
            let j2 = j1 + 1
            if j2 < n && less(h[j2], h[j1]) { j = j2 }
            if !less(h[j], h[i]) { break }
            h.swapAt(i, j)
            i = j
        }
    }
}
