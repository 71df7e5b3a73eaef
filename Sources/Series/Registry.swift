import Logging
import Synchronization

/// Something that contributes series to the exposition. `collect()` must be cheap and
/// must not do I/O: collectors do their work on their own schedule and hand over an
/// immutable snapshot (usually through a `SnapshotBox`).
public protocol MetricsSource: Sendable {
    func collect() -> [MetricFamily]
    /// The families `filter` accepts, in `collect()`'s order. The default filters
    /// `collect()`; a source that renders its families on demand can skip the others.
    func collect(matching filter: FamilyNameFilter) -> [MetricFamily]
}

extension MetricsSource {
    public func collect(matching filter: FamilyNameFilter) -> [MetricFamily] { filter.restrict(collect()) }
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

/// The latest scrape of one target: its families, each series with the `target` label.
public struct ScrapedTarget: Sendable {
    public var name: String
    /// Changes with every scrape of the target: a family the registry leaves out is counted
    /// once per scrape, however often the exposition is gathered.
    public var generation: UInt64
    public var families: [MetricFamily]

    public init(name: String, generation: UInt64, families: [MetricFamily]) {
        self.name = name
        self.generation = generation
        self.families = families
    }
}

/// Series scraped from other processes. Like `MetricsSource.collect()`, reading must be
/// cheap and do no I/O.
public protocol ScrapedMetricsSource: Sendable {
    /// Every scraped target's latest families, in a fixed order, and a version that changes
    /// whenever any of them does.
    func scrapedTargets() -> (version: UInt64, targets: [ScrapedTarget])
}

/// Why the registry left a family out of the exposition.
public enum DroppedFamilyReason: String, Sendable, Hashable, CaseIterable {
    /// An earlier family has its name and another type.
    case typeConflict = "type_conflict"
    /// A name the family would put in an exposition (a `_bucket`, `_sum`, `_count`, `_created`
    /// sample, its OpenMetrics name) is an earlier family's.
    case nameConflict = "name_conflict"
    /// A scraped family in lookout's own namespace (`lookout_*`).
    case reservedName = "reserved_name"
}

/// The set of sources the server exposes. `gather()` merges their snapshots into one
/// list sorted by family name, each name once.
///
/// The agent's own sources come first, in the order they were registered; scraped
/// families after them, target by target. A scraped family the merge leaves out is counted
/// in `lookout_scrape_dropped_families_total{target,reason}` and logged, at warning level,
/// the first time a target loses a family for a reason.
public final class Registry: Sendable {
    /// The agent's namespace: no scraped family may take a name in it.
    public static let reservedPrefix = "lookout_"
    public static let droppedFamiliesName = "lookout_scrape_dropped_families_total"

    private enum Source {
        case own(any MetricsSource)
        case scraped(any ScrapedMetricsSource)
    }

    private let sources: Mutex<[(id: Int, source: Source)]>
    private let nextID = Atomic<Int>(0)
    private let drops = Mutex(DropLedger())
    private let logger: Logger?

    /// - Parameter logger: where a target's first dropped family (per reason) is reported.
    public init(_ sources: [any MetricsSource] = [], scraped: [any ScrapedMetricsSource] = [], logger: Logger? = nil) {
        self.sources = Mutex([])
        self.logger = logger
        for s in sources { register(s) }
        for s in scraped { register(scraped: s) }
    }

    /// Adds one of the agent's own sources; returns a token for `unregister`.
    @discardableResult
    public func register(_ source: any MetricsSource) -> Int {
        add(.own(source))
    }

    /// Adds a source of scraped series; returns a token for `unregister`.
    @discardableResult
    public func register(scraped source: any ScrapedMetricsSource) -> Int {
        add(.scraped(source))
    }

    private func add(_ source: Source) -> Int {
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
    ///   sources, scraped ones after the agent's own;
    /// - a scraped family named `lookout_*` is left out;
    /// - metrics are sorted by labels within each family; a duplicate label set keeps the first.
    public func gather() -> [MetricFamily] { gather(matching: .all) }

    /// What `gather()` gives, restricted to the families `filter` accepts: the same families
    /// with the same series (merged, and left out, by the same rules), gathered only from
    /// what the filter takes. Drops of scrapes not counted yet are still all counted: while
    /// there are any, the agent's own families that share a root with a scraped one are
    /// gathered too, to find every clash.
    public func gather(matching filter: FamilyNameFilter) -> [MetricFamily] {
        let current = sources.withLock { $0 }
        var scraped: [(id: Int, merge: ScrapedMerge)] = []
        for (id, source) in current {
            if case .scraped(let s) = source { scraped.append((id, merged(s.scrapedTargets(), of: id))) }
        }
        let counting = !filter.acceptsAll && drops.withLock { $0.isBehind(scraped) }
        var own = filter
        if counting { for s in scraped { own = own.union(s.merge.names) } }
        var merger = FamilyMerger()
        for (_, source) in current {
            if case .own(let s) = source { for f in s.collect(matching: own) { _ = merger.add(f) } }
        }
        // Scraped families that clash with the agent's own.
        var clashes: [(merge: Int, family: Int, reason: DroppedFamilyReason)] = []
        for (k, s) in scraped.enumerated() {
            for (i, f) in s.merge.families.enumerated() where counting || filter.accepts(f.name) {
                if let reason = merger.add(f) { clashes.append((k, i, reason)) }
            }
        }
        let complete = filter.acceptsAll || counting
        let (counters, warnings) = drops.withLock { $0.record(scraped, clashes, complete: complete) }
        for w in warnings { warn(w) }
        if let counters, own.accepts(counters.name) { _ = merger.add(counters) }
        var out = merger.finish()
        if counting { out.removeAll { !filter.accepts($0.name) } }
        return out
    }

    /// The merge of a scraped source's targets, redone only when the source's version changes.
    private func merged(_ snapshot: (version: UInt64, targets: [ScrapedTarget]), of id: Int) -> ScrapedMerge {
        if let cached = drops.withLock({ $0.merges[id] }), cached.version == snapshot.version { return cached }
        let merge = ScrapedMerge(version: snapshot.version, snapshot.targets)
        drops.withLock { ledger in
            if ledger.merges[id].map({ $0.version < merge.version }) ?? true { ledger.merges[id] = merge }
        }
        return merge
    }

    private func warn(_ d: DropLedger.Drop) {
        let why: String
        switch d.reason {
        case .typeConflict: why = "an earlier family has its name and another type"
        case .nameConflict: why = "a name it would expose is an earlier family's"
        case .reservedName: why = "lookout_* is the agent's own namespace"
        }
        logger?.warning(
            "a scraped family is left out of the exposition; further ones of this target and reason are only counted in \(Self.droppedFamiliesName)",
            metadata: ["target": "\(d.target)", "reason": "\(d.reason.rawValue)", "family": "\(d.family)", "why": "\(why)"])
    }

    /// Merges families as `gather` does (tests and tools with a list at hand).
    static func merge(_ families: [MetricFamily]) -> [MetricFamily] {
        var merger = FamilyMerger()
        for f in families { _ = merger.add(f) }
        return merger.finish()
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

/// Families merged one by one, earlier ones winning; `finish` sorts them.
struct FamilyMerger {
    private var byName: [String: Int] = [:]
    private var claimed: Set<String> = []
    private var out: [MetricFamily] = []

    /// Adds `f`: kept, or combined with an earlier family of its name and type (nil), or left
    /// out (the reason).
    mutating func add(_ f: MetricFamily) -> DroppedFamilyReason? {
        if let i = byName[f.name] {
            guard out[i].type == f.type else { return .typeConflict }
            out[i].metrics.append(contentsOf: f.metrics)
            if out[i].help.isEmpty { out[i].help = f.help }
            if out[i].unit.isEmpty { out[i].unit = f.unit }
            return nil
        }
        let names = Registry.exposedNames(f)
        if !names.isDisjoint(with: claimed) { return .nameConflict }
        claimed.formUnion(names)
        byName[f.name] = out.count
        out.append(f)
        return nil
    }

    /// The families sorted by name, each one's metrics sorted by labels without duplicates.
    consuming func finish() -> [MetricFamily] {
        out.sort { $0.name < $1.name }
        for i in out.indices { out[i].metrics = Registry.sortedUnique(out[i].metrics) }
        return out
    }
}

/// One scraped source's targets merged with each other: the families they keep, which
/// targets each holds series of, and what was left out.
struct ScrapedMerge: Sendable {
    let version: UInt64
    let targets: [(name: String, generation: UInt64)]
    let families: [MetricFamily]
    /// For each family, the indices of the targets whose series it holds.
    let contributors: [[Int]]
    let drops: [(target: Int, reason: DroppedFamilyReason, family: String)]
    /// The families the merge keeps, and those of the agent's own they can clash with.
    let names: FamilyNameFilter

    init(version: UInt64, _ scraped: [ScrapedTarget]) {
        self.version = version
        targets = scraped.map { ($0.name, $0.generation) }
        var merger = FamilyMerger()
        var byName: [String: [Int]] = [:]
        var drops: [(target: Int, reason: DroppedFamilyReason, family: String)] = []
        for (t, target) in scraped.enumerated() {
            for f in target.families {
                if f.name.hasPrefix(Registry.reservedPrefix) {
                    drops.append((t, .reservedName, f.name))
                } else if let reason = merger.add(f) {
                    drops.append((t, reason, f.name))
                } else {
                    byName[f.name, default: []].append(t)
                }
            }
        }
        families = merger.finish()
        contributors = families.map { byName[$0.name] ?? [] }
        self.drops = drops
        names = FamilyNameFilter(names: families.map(\.name))
    }
}

/// What the registry has left out of scraped targets, counted once per scrape.
struct DropLedger: Sendable {
    struct Drop: Sendable {
        var target: String
        var reason: DroppedFamilyReason
        var family: String
    }

    struct Key: Hashable, Sendable {
        var target: String
        var reason: DroppedFamilyReason
    }

    var merges: [Int: ScrapedMerge] = [:]
    /// The source versions the counts are up to date with.
    var countedVersions: [Int: UInt64] = [:]
    /// Per target, the scrape whose drops have been counted.
    var countedGenerations: [String: UInt64] = [:]
    var counts: [Key: Double] = [:]
    /// `lookout_scrape_dropped_families_total`, rebuilt when a count changes.
    var family: MetricFamily?

    /// Whether these merges hold scrapes whose drops are not counted yet.
    func isBehind(_ scraped: [(id: Int, merge: ScrapedMerge)]) -> Bool {
        scraped.contains(where: { countedVersions[$0.id] != $0.merge.version }) || countedVersions.count != scraped.count
    }

    /// Counts the drops of scrapes not counted yet: those of the targets' own merge and the
    /// `clashes` with the agent's own families found in this gather (only when `complete`:
    /// every scraped family was weighed against them). Returns the counter family (nil
    /// before the first drop) and the first drop of each target and reason.
    mutating func record(
        _ scraped: [(id: Int, merge: ScrapedMerge)], _ clashes: [(merge: Int, family: Int, reason: DroppedFamilyReason)],
        complete: Bool
    ) -> (MetricFamily?, [Drop]) {
        guard complete, isBehind(scraped) else { return (family, []) }
        var fresh: [Drop] = []
        var present = Set<String>()
        for (k, s) in scraped.enumerated() {
            let merge = s.merge
            let isNew = merge.targets.map { countedGenerations[$0.name] != $0.generation }
            for d in merge.drops where isNew[d.target] {
                fresh.append(Drop(target: merge.targets[d.target].name, reason: d.reason, family: d.family))
            }
            for c in clashes where c.merge == k {
                for t in merge.contributors[c.family] where isNew[t] {
                    fresh.append(Drop(target: merge.targets[t].name, reason: c.reason, family: merge.families[c.family].name))
                }
            }
            for t in merge.targets {
                countedGenerations[t.name] = t.generation
                present.insert(t.name)
            }
            countedVersions[s.id] = merge.version
        }
        countedVersions = countedVersions.filter { id, _ in scraped.contains { $0.id == id } }
        merges = merges.filter { id, _ in scraped.contains { $0.id == id } }
        // A target that is gone takes its counts with it, as its other series go.
        countedGenerations = countedGenerations.filter { present.contains($0.key) }
        let before = counts.count
        counts = counts.filter { present.contains($0.key.target) }
        var first: [Drop] = []
        for d in fresh {
            let key = Key(target: d.target, reason: d.reason)
            if counts[key] == nil { first.append(d) }
            counts[key, default: 0] += 1
        }
        if !fresh.isEmpty || counts.count != before {
            family =
                counts.isEmpty
                ? nil
                : .counter(
                    Registry.droppedFamiliesName,
                    help: "Scraped families left out of the exposition, by target and reason.",
                    counts.sorted { ($0.key.target, $0.key.reason.rawValue) < ($1.key.target, $1.key.reason.rawValue) }
                        .map { (Labels([("target", $0.key.target), ("reason", $0.key.reason.rawValue)]), $0.value) })
        }
        return (family, first)
    }
}
