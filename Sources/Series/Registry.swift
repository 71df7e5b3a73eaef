import Synchronization

/// Something that contributes series to the exposition. `collect()` must be cheap and
/// must not do I/O: collectors do their work on their own schedule and hand over an
/// immutable snapshot (usually through a `SnapshotBox`).
public protocol MetricsSource: Sendable {
    func collect() -> [MetricFamily]
}

/// A slot where a collector publishes its latest immutable snapshot. Publishing and
/// reading swap one reference under a lock; encoding happens outside it.
public final class SnapshotBox: MetricsSource, Sendable {
    private let current: Mutex<[MetricFamily]>

    public init(_ initial: [MetricFamily] = []) {
        current = Mutex(initial)
    }

    public func publish(_ families: [MetricFamily]) {
        current.withLock { $0 = families }
    }

    public func collect() -> [MetricFamily] {
        current.withLock { $0 }
    }
}

/// A source computed on demand from a closure (for the few that are cheap enough).
public struct ClosureSource: MetricsSource {
    private let body: @Sendable () -> [MetricFamily]
    public init(_ body: @escaping @Sendable () -> [MetricFamily]) { self.body = body }
    public func collect() -> [MetricFamily] { body() }
}

/// The set of sources the server exposes. `gather()` merges their snapshots into one
/// list sorted by family name, each name once.
public final class Registry: Sendable {
    private let sources: Mutex<[(id: Int, source: any MetricsSource)]>
    private let nextID = Atomic<Int>(0)

    public init(_ sources: [any MetricsSource] = []) {
        self.sources = Mutex([])
        for s in sources { register(s) }
    }

    /// Adds a source; returns a token for `unregister`.
    @discardableResult
    public func register(_ source: any MetricsSource) -> Int {
        let id = nextID.add(1, ordering: .relaxed).newValue
        sources.withLock { $0.append((id, source)) }
        return id
    }

    public func unregister(_ id: Int) {
        sources.withLock { $0.removeAll { $0.id == id } }
    }

    /// Merges all sources' families into one list sorted by name, each name once, so that
    /// every format can expose it:
    /// - families with the same name and type are combined (e.g. the agent's own
    ///   `process_cpu_seconds_total` and a scraped target's); the first non-empty HELP and
    ///   unit are kept;
    /// - a family is left out when its name is taken by an earlier family of another type,
    ///   when one of the sample names it exposes (`_bucket`, `_sum`, `_count`, ...) or that
    ///   OpenMetrics reserves for it (`_created`) is an earlier family's, or when its
    ///   OpenMetrics name (without `_total` or `_info`) is; "earlier" is the order of the
    ///   sources;
    /// - metrics are sorted by labels within each family; a duplicate label set keeps the first.
    public func gather() -> [MetricFamily] {
        let current = sources.withLock { $0.map(\.source) }
        var all: [MetricFamily] = []
        for s in current { all.append(contentsOf: s.collect()) }
        return Registry.merge(all)
    }

    public static func merge(_ families: [MetricFamily]) -> [MetricFamily] {
        var byName: [String: Int] = [:]
        var claimed: Set<String> = []
        var out: [MetricFamily] = []
        out.reserveCapacity(families.count)
        for f in families {
            if let i = byName[f.name] {
                guard out[i].type == f.type else { continue }
                out[i].metrics.append(contentsOf: f.metrics)
                if out[i].help.isEmpty { out[i].help = f.help }
                if out[i].unit.isEmpty { out[i].unit = f.unit }
                continue
            }
            let names = exposedNames(f)
            if !names.isDisjoint(with: claimed) { continue }
            claimed.formUnion(names)
            byName[f.name] = out.count
            out.append(f)
        }
        out.sort { $0.name < $1.name }
        for i in out.indices { out[i].metrics = sortedUnique(out[i].metrics) }
        return out
    }

    /// The names a family puts in an exposition: its sample names in text 0.0.4 and in
    /// OpenMetrics (with the `_created` names OpenMetrics reserves for counters, histograms
    /// and summaries), and, in a namespace of its own, its OpenMetrics family name.
    static func exposedNames(_ f: MetricFamily) -> Set<String> {
        let n = f.name
        let om = f.openMetricsName
        var names: Set<String> = ["# " + om]
        switch f.type {
        case .counter: names.formUnion([n, om + "_total", om + "_created"])
        case .gauge, .untyped, .stateset: names.insert(n)
        case .info: names.formUnion([n, om + "_info"])
        case .histogram: names.formUnion([n + "_bucket", n + "_sum", n + "_count", n + "_created"])
        case .gaugeHistogram: names.formUnion([n + "_bucket", n + "_sum", n + "_count", n + "_gsum", n + "_gcount"])
        case .summary: names.formUnion([n, n + "_sum", n + "_count", n + "_created"])
        }
        return names
    }

    static func sortedUnique(_ metrics: [Metric]) -> [Metric] {
        // Collectors usually publish sorted, unique series: check before sorting.
        var ordered = true
        for i in metrics.indices.dropFirst() where compare(metrics[i - 1].labels, metrics[i].labels) >= 0 {
            ordered = false
            break
        }
        if ordered { return metrics }
        let sorted = metrics.enumerated().sorted { a, b in
            let c = compare(a.element.labels, b.element.labels)
            return c != 0 ? c < 0 : a.offset < b.offset
        }
        var out: [Metric] = []
        out.reserveCapacity(sorted.count)
        for (_, m) in sorted {
            if let last = out.last, last.labels == m.labels { continue }
            out.append(m)
        }
        return out
    }

    /// Orders label sets the way Prometheus sorts series: pair by pair.
    public static func compare(_ a: Labels, _ b: Labels) -> Int {
        let n = min(a.count, b.count)
        for i in 0..<n {
            if a[i].name != b[i].name { return a[i].name < b[i].name ? -1 : 1 }
            if a[i].value != b[i].value { return a[i].value < b[i].value ? -1 : 1 }
        }
        return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
    }
}
