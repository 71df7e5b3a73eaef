import GoFormat
import LookoutCore
import Series

/// What the loaded rules read from the history: the series their selectors can match and
/// how far back each selector looks. A series no selector matches is not stored; a series
/// only instant selectors read keeps just its latest sample (the evaluation time never
/// precedes the latest ingest, so older samples could never be returned).
public struct RetentionPolicy: Sendable {
    struct Need: Sendable {
        var matchers: [LabelMatcher]
        var rangeMilliseconds: Int64
    }

    /// nil: keep every series and every sample (rule unit tests).
    let needs: [Need]?
    let byName: [String: [Int]]
    let generic: [Int]

    /// Keep everything: for unit tests, where queries look at any time.
    public static let everything = RetentionPolicy(needs: nil)

    /// Keep what these selectors read.
    public init(selectors: [(matchers: [LabelMatcher], rangeMilliseconds: Int64)]) {
        self.init(needs: selectors.map { Need(matchers: $0.matchers, rangeMilliseconds: $0.rangeMilliseconds) })
    }

    /// Keep what these expressions read (a selector with an unbounded look-back keeps
    /// everything of its series; rule loading refuses those beyond `rules.max_lookback`).
    public init(expressions: [Expr]) {
        self.init(
            selectors: expressions.flatMap { $0.selectorNeeds() }.map { ($0.matchers, $0.retentionMilliseconds ?? .max) })
    }

    private init(needs: [Need]?) {
        self.needs = needs
        var byName: [String: [Int]] = [:]
        var generic: [Int] = []
        for (i, n) in (needs ?? []).enumerated() {
            if let m = n.matchers.first(where: { $0.name == "__name__" && $0.op == .equal }) {
                byName[m.value, default: []].append(i)
            } else if let m = n.matchers.first(where: { $0.name == "__name__" && $0.op == .regexMatch }),
                let names = m.regex?.literalSet
            {
                for name in names { byName[name, default: []].append(i) }
            } else {
                generic.append(i)
            }
        }
        self.byName = byName
        self.generic = generic
    }

    /// Whether any selector could match a series of this name.
    func mayMatch(name: String) -> Bool {
        needs == nil || !generic.isEmpty || byName[name] != nil
    }

    /// How long to keep samples of this series; nil when no selector matches it.
    func retention(for labels: Labels, name: String) -> Int64? {
        guard let needs else { return .max }
        var best: Int64?
        if let candidates = byName[name] {
            for i in candidates where needs[i].matchers.allMatch(labels) {
                best = max(best ?? 0, needs[i].rangeMilliseconds)
            }
        }
        for i in generic where needs[i].matchers.allMatch(labels) {
            best = max(best ?? 0, needs[i].rangeMilliseconds)
        }
        return best
    }

    /// The longest range any selector reads, in milliseconds.
    public var longestRangeMilliseconds: Int64 {
        guard let needs else { return .max }
        return needs.map(\.rangeMilliseconds).max() ?? 0
    }
}

/// A bounded in-memory history of series: each series is a ring of (timestamp ms, value)
/// samples. Fed by `ingest` from the agent's merged exposition and by rule results.
/// Not thread-safe: its owner (the rule engine) serializes access.
public final class History {
    public struct Limits: Sendable {
        /// New series beyond this are refused (and counted).
        public var maxSeries: Int
        /// A series' ring never grows beyond this; the oldest samples are overwritten (and counted).
        public var maxSamplesPerSeries: Int

        public init(maxSeries: Int = 100_000, maxSamplesPerSeries: Int = 20_000) {
            self.maxSeries = maxSeries
            self.maxSamplesPerSeries = maxSamplesPerSeries
        }
    }

    /// Counts of what the history holds and what it had to drop.
    public struct Stats: Sendable, Hashable {
        public var series = 0
        public var samples = 0
        /// Samples refused because the series limit was reached.
        public var seriesLimitDrops = 0
        /// Samples overwritten before their retention ended because a ring was full.
        public var evictedSamples = 0
        /// Samples older than (or as old as) the latest sample of their series.
        public var outOfOrderSamples = 0

        public init() {}
    }

    /// One series: its samples in time order in `ts[start..<ts.count]`/`vs[...]`. Old
    /// samples are dropped by moving `start`; the arrays are compacted when that wastes
    /// half of them, so a range is always one contiguous slice.
    final class Series {
        let labels: Labels
        /// The labels without `__name__`: what functions return, kept to avoid rebuilding it.
        let nameless: Labels
        let name: String
        var retention: Int64
        /// Fed by `ingest` (and so marked stale when missing from one), not by rules.
        let ingested: Bool
        var seenGeneration: UInt64 = 0
        var ts: [Int64] = []
        var vs: [Double] = []
        var start = 0
        /// Staleness markers among the kept samples (ranges without any are read in place).
        var staleMarkers = 0

        init(labels: Labels, name: String, retention: Int64, ingested: Bool) {
            self.labels = labels
            nameless = labels.droppingMetricName
            self.name = name
            self.retention = retention
            self.ingested = ingested
        }

        var count: Int { ts.count - start }
        var newestTime: Int64? { ts.count > start ? ts[ts.count - 1] : nil }

        enum AppendResult { case ok, outOfOrder, evicted }

        private func dropOldest() {
            if StaleNaN.isStale(vs[start]) { staleMarkers -= 1 }
            start += 1
        }

        func append(_ t: Int64, _ v: Double, maxSamples: Int) -> AppendResult {
            if let newest = newestTime, t <= newest { return .outOfOrder }
            // Drop what the retention no longer needs (always keeping the newest sample).
            if retention != .max {
                while start < ts.count, ts[start] < t - retention { dropOldest() }
            }
            var result = AppendResult.ok
            if count >= maxSamples {
                dropOldest()
                result = .evicted
            }
            if start > 0 && start >= ts.count / 2 {
                ts.removeFirst(start)
                vs.removeFirst(start)
                start = 0
            }
            ts.append(t)
            vs.append(v)
            if StaleNaN.isStale(v) { staleMarkers += 1 }
            return result
        }

        /// Position (absolute) of the last sample with timestamp <= t, or start - 1.
        func lastIndex(atOrBefore t: Int64) -> Int {
            var lo = start, hi = ts.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if ts[mid] <= t { lo = mid + 1 } else { hi = mid }
            }
            return lo - 1
        }

        /// Position (absolute) of the first sample with timestamp >= t.
        func firstIndex(atOrAfter t: Int64) -> Int {
            var lo = start, hi = ts.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if ts[mid] < t { lo = mid + 1 } else { hi = mid }
            }
            return lo
        }
    }

    public let limits: Limits
    public private(set) var policy: RetentionPolicy
    var series: [Series?] = []
    private var freeIDs: [Int] = []
    private var index: [Labels: Int] = [:]
    /// Series of each metric name, sorted by labels.
    private var postings: [String: [Int]] = [:]
    /// Label sets no selector matches, so ingest does not re-check them every time.
    private var rejected: Set<Labels> = []
    private var generation: UInt64 = 0
    private var seenLast: [Int] = []
    private var lastGC: Int64 = .min
    private var lastIngest: Int64?
    public private(set) var stats = Stats()
    /// Changes whenever a sample is added or a series removed (cached results expire).
    public private(set) var version: UInt64 = 0

    /// Series of instant selectors stay readable for this long after their latest sample.
    public static let lookbackMilliseconds: Int64 = 5 * 60 * 1000

    public init(policy: RetentionPolicy = .everything, limits: Limits = Limits()) {
        self.policy = policy
        self.limits = limits
    }

    public var seriesCount: Int { index.count }

    /// Changes what is kept (after rules are reloaded): series no selector matches any more
    /// are dropped, the others get the new retention.
    public func setPolicy(_ policy: RetentionPolicy) {
        self.policy = policy
        rejected.removeAll()
        for id in series.indices {
            guard let s = series[id] else { continue }
            if let r = policy.retention(for: s.labels, name: s.name) {
                s.retention = r
            } else {
                remove(id)
            }
        }
        recount()
    }

    // MARK: Writing

    /// Adds the samples of one exposition snapshot at `time`. Histograms become
    /// `_bucket{le}`, `_sum` and `_count` series, summaries `{quantile}`, `_sum` and `_count`.
    /// Series that were in the previous snapshot and are not in this one get a staleness
    /// marker, as Prometheus writes when a series disappears from a scrape.
    public func ingest(_ families: [MetricFamily], at time: WallTime) {
        let t = time.millisecondsSinceEpoch
        if let last = lastIngest, t < last {
            // The wall clock was set back: every new sample would be out of order until it
            // caught up. Start over instead; rates need a few samples to come back.
            removeAllSeries()
        }
        lastIngest = t
        generation &+= 1
        var seenNow: [Int] = []
        seenNow.reserveCapacity(seenLast.count)
        for f in families {
            let base = f.name
            let histogramLike = f.type == .histogram || f.type == .gaugeHistogram
            let summaryLike = f.type == .summary
            if histogramLike || summaryLike {
                let any =
                    policy.mayMatch(name: base) || policy.mayMatch(name: base + "_sum")
                    || policy.mayMatch(name: base + "_count") || (histogramLike && policy.mayMatch(name: base + "_bucket"))
                if !any { continue }
            } else if !policy.mayMatch(name: base) {
                continue
            }
            for m in f.metrics {
                switch m.value {
                case .single(let v):
                    add(base, m.labels, t, v, &seenNow)
                case .histogram(let h):
                    let bucketName = base + "_bucket"
                    if policy.mayMatch(name: bucketName) {
                        for b in h.buckets {
                            add(bucketName, m.labels.setting("le", GoFloat.formatG(b.upperBound)), t, b.cumulativeCount, &seenNow)
                        }
                    }
                    if !h.sumMissing { add(base + "_sum", m.labels, t, h.sum, &seenNow) }
                    if !h.countMissing { add(base + "_count", m.labels, t, h.count, &seenNow) }
                case .summary(let s):
                    if policy.mayMatch(name: base) {
                        for q in s.quantiles {
                            add(base, m.labels.setting("quantile", GoFloat.formatG(q.quantile)), t, q.value, &seenNow)
                        }
                    }
                    if !s.sumMissing { add(base + "_sum", m.labels, t, s.sum, &seenNow) }
                    if !s.countMissing { add(base + "_count", m.labels, t, s.count, &seenNow) }
                }
            }
        }
        for id in seenLast {
            guard let s = series[id], s.ingested, s.seenGeneration != generation else { continue }
            append(id, t, StaleNaN.value)
        }
        seenLast = seenNow
        collectGarbage(now: t)
    }

    private func add(_ name: String, _ labels: Labels, _ t: Int64, _ v: Double, _ seen: inout [Int]) {
        guard policy.mayMatch(name: name) else { return }
        let full = labels.setting("__name__", name)
        guard let id = lookupOrCreate(full, name: name, ingested: true) else { return }
        let s = series[id]!
        if s.seenGeneration != generation {
            s.seenGeneration = generation
            seen.append(id)
        }
        append(id, t, v)
    }

    /// Appends one sample of a series that is not fed by `ingest` (rule results, tests).
    /// Returns false when the series is not kept or the sample was refused.
    @discardableResult
    public func append(_ labels: Labels, _ t: Int64, _ v: Double) -> Bool {
        let name = labels["__name__"] ?? ""
        guard policy.mayMatch(name: name), let id = lookupOrCreate(labels, name: name, ingested: false) else { return false }
        return append(id, t, v)
    }

    /// Whether `append` would keep a series with these labels.
    public func wants(_ labels: Labels) -> Bool {
        let name = labels["__name__"] ?? ""
        return policy.mayMatch(name: name) && policy.retention(for: labels, name: name) != nil
    }

    @discardableResult
    private func append(_ id: Int, _ t: Int64, _ v: Double) -> Bool {
        let s = series[id]!
        let before = s.count
        version &+= 1
        switch s.append(t, v, maxSamples: limits.maxSamplesPerSeries) {
        case .ok:
            stats.samples += s.count - before
            return true
        case .outOfOrder:
            stats.outOfOrderSamples += 1
            return false
        case .evicted:
            stats.evictedSamples += 1
            stats.samples += s.count - before
            return true
        }
    }

    private func lookupOrCreate(_ labels: Labels, name: String, ingested: Bool) -> Int? {
        if let id = index[labels] { return id }
        if rejected.contains(labels) { return nil }
        guard let retention = policy.retention(for: labels, name: name) else {
            if rejected.count >= limits.maxSeries { rejected.removeAll(keepingCapacity: true) }
            rejected.insert(labels)
            return nil
        }
        guard index.count < limits.maxSeries else {
            stats.seriesLimitDrops += 1
            return nil
        }
        let s = Series(labels: labels, name: name, retention: retention, ingested: ingested)
        let id: Int
        if let free = freeIDs.popLast() {
            id = free
            series[id] = s
        } else {
            id = series.count
            series.append(s)
        }
        index[labels] = id
        var list = postings[name, default: []]
        var lo = 0, hi = list.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if Labels.compare(series[list[mid]]!.labels, labels) < 0 { lo = mid + 1 } else { hi = mid }
        }
        list.insert(id, at: lo)
        postings[name] = list
        stats.series = index.count
        return id
    }

    private func remove(_ id: Int) {
        guard let s = series[id] else { return }
        version &+= 1
        series[id] = nil
        freeIDs.append(id)
        index[s.labels] = nil
        if var list = postings[s.name] {
            list.removeAll { $0 == id }
            postings[s.name] = list.isEmpty ? nil : list
        }
        stats.samples -= s.count
        stats.series = index.count
    }

    private func removeAllSeries() {
        for id in series.indices where series[id] != nil { remove(id) }
        seenLast = []
        lastGC = .min
    }

    private func recount() {
        stats.series = index.count
        stats.samples = series.reduce(0) { $0 + ($1?.count ?? 0) }
    }

    /// Drops series whose newest sample no selector could return any more.
    private func collectGarbage(now: Int64) {
        guard policy.needs != nil else { return }
        if lastGC != .min && now - lastGC < 10_000 && now >= lastGC { return }
        lastGC = now
        for id in series.indices {
            guard let s = series[id], let newest = s.newestTime else { continue }
            if newest < now &- max(s.retention, Self.lookbackMilliseconds) { remove(id) }
        }
    }

    // MARK: Reading

    /// IDs of the series matching all matchers, in label order.
    func select(_ matchers: [LabelMatcher]) -> [Int] {
        var candidates: [Int]
        var sorted = true
        var rest = matchers
        if let k = matchers.firstIndex(where: { $0.name == "__name__" && $0.op == .equal }) {
            candidates = postings[matchers[k].value] ?? []
            // The postings are exactly the series of that name: no need to check it again.
            rest.remove(at: k)
        } else if let m = matchers.first(where: { $0.name == "__name__" && $0.op == .regexMatch }),
            let names = m.regex?.literalSet
        {
            candidates = names.flatMap { postings[$0] ?? [] }
            sorted = names.count <= 1
        } else {
            candidates = Array(index.values)
            sorted = false
        }
        var out: [Int]
        if rest.isEmpty {
            out = candidates
        } else {
            out = []
            out.reserveCapacity(candidates.count)
            for id in candidates where rest.allMatch(series[id]!.labels) { out.append(id) }
        }
        if !sorted { out.sort { Labels.compare(series[$0]!.labels, series[$1]!.labels) < 0 } }
        return out
    }

    func labels(_ id: Int) -> Labels { series[id]!.labels }

    /// The series' labels without `__name__`, and its name ("" for none).
    func namelessLabels(_ id: Int) -> (labels: Labels, name: String) {
        let s = series[id]!
        return (s.nameless, s.name)
    }

    /// The sample an instant selector sees at `t`: the latest sample at or before `t` and no
    /// older than the lookback; nil when there is none or it is a staleness marker.
    func instantSample(_ id: Int, at t: Int64, lookback: Int64) -> (time: Int64, value: Double)? {
        let s = series[id]!
        let ts = s.ts
        guard ts.count > s.start else { return nil }
        // Usually the newest sample is the one (evaluation follows ingestion).
        var i = ts.count - 1
        if ts[i] > t {
            i = s.lastIndex(atOrBefore: t)
            guard i >= s.start else { return nil }
        }
        guard ts[i] >= t &- lookback else { return nil }
        let v = s.vs[i]
        return StaleNaN.isStale(v) ? nil : (ts[i], v)
    }

    /// Calls `body` with the timestamps and values of the samples in [mint, maxt] (without
    /// staleness markers), read in place when the range has no markers.
    func withSamples<R, E: Error>(
        _ id: Int, from mint: Int64, to maxt: Int64, scratch: inout ([Int64], [Double]),
        _ body: (UnsafeBufferPointer<Int64>, UnsafeBufferPointer<Double>) throws(E) -> R
    ) throws(E) -> R {
        let s = series[id]!
        let first = s.firstIndex(atOrAfter: mint)
        let end = s.lastIndex(atOrBefore: maxt) + 1
        let tsArray = s.ts, vsArray = s.vs
        if end <= first {
            return try body(UnsafeBufferPointer(start: nil, count: 0), UnsafeBufferPointer(start: nil, count: 0))
        }
        if s.staleMarkers == 0 {
            return try tsArray.withUnsafeBufferPointer { ts throws(E) in
                try vsArray.withUnsafeBufferPointer { vs throws(E) in
                    try body(UnsafeBufferPointer(rebasing: ts[first..<end]), UnsafeBufferPointer(rebasing: vs[first..<end]))
                }
            }
        }
        scratch.0.removeAll(keepingCapacity: true)
        scratch.1.removeAll(keepingCapacity: true)
        for i in first..<end where !StaleNaN.isStale(vsArray[i]) {
            scratch.0.append(tsArray[i])
            scratch.1.append(vsArray[i])
        }
        let (sts, svs) = scratch
        return try sts.withUnsafeBufferPointer { ts throws(E) in try svs.withUnsafeBufferPointer { vs throws(E) in try body(ts, vs) } }
    }

    /// All samples of the series with exactly these labels (tests and debugging).
    public func samples(of labels: Labels) -> [(t: Int64, v: Double)] {
        guard let id = index[labels] else { return [] }
        let s = series[id]!
        return (s.start..<s.ts.count).map { (s.ts[$0], s.vs[$0]) }
    }

    /// Label sets of all stored series, sorted.
    public var allLabels: [Labels] {
        index.keys.sorted { Labels.compare($0, $1) < 0 }
    }
}
