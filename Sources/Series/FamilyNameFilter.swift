/// Which metric families a reader of the registry wants (`Registry.gather(matching:)`):
/// every family, or those whose names share a root with one of a set of names.
///
/// The root of a name is the name without the suffixes an exposition puts after a family's
/// name (`_total`, `_created`, `_bucket`, `_sum`, `_count`, `_gsum`, `_gcount`, `_info`),
/// stripped as long as one ends it. A filter built from series names (what PromQL selectors
/// name: `x_bucket`, `x_count`, `x_total`) so takes every family those series can come from.
/// And since two families can only claim the same exposed name when their roots are equal,
/// the families the registry's merge weighs against an accepted family are accepted too: a
/// filtered gather keeps and drops exactly what the full one does.
public struct FamilyNameFilter: Sendable, Hashable {
    /// nil: every family.
    private let roots: Set<Substring>?

    /// Every family.
    public static let all = FamilyNameFilter(roots: nil)
    /// No family.
    public static let none = FamilyNameFilter(roots: [])

    private init(roots: Set<Substring>?) { self.roots = roots }

    /// The families any of these (family or series) names can come from.
    public init(names: some Sequence<String>) {
        var roots = Set<Substring>()
        for n in names { roots.insert(Self.root(of: n)) }
        self.roots = roots
    }

    public var acceptsAll: Bool { roots == nil }

    /// Whether the family named `familyName` is wanted.
    public func accepts(_ familyName: String) -> Bool {
        guard let roots else { return true }
        return !roots.isEmpty && roots.contains(Self.root(of: familyName))
    }

    /// Whether the filter wants any of these families.
    public func acceptsAny(of familyNames: [String]) -> Bool {
        acceptsAll || familyNames.contains(where: accepts)
    }

    /// The families the filter wants, in their order.
    public func restrict(_ families: [MetricFamily]) -> [MetricFamily] {
        acceptsAll ? families : families.filter { accepts($0.name) }
    }

    /// What a source whose families are named `names` gives a gather: `render()` restricted
    /// to the filter, or nothing, without rendering, when the filter wants none of them.
    public func restrict(_ names: [String], _ render: () -> [MetricFamily]) -> [MetricFamily] {
        acceptsAny(of: names) ? restrict(render()) : []
    }

    /// The families either filter wants.
    public func union(_ other: FamilyNameFilter) -> FamilyNameFilter {
        guard let roots, let more = other.roots else { return .all }
        return FamilyNameFilter(roots: roots.union(more))
    }

    /// None of these is the end of another, so at most one ends a name and the root is unique.
    static let suffixes: [String] = ["_total", "_created", "_bucket", "_sum", "_count", "_gsum", "_gcount", "_info"]
    private static let suffixBytes: [[UInt8]] = suffixes.map { Array($0.utf8) }

    /// `name` without the exposition suffixes that end it (`a_sum_count` → `a`). Compared
    /// byte by byte: the suffixes are ASCII, so a cut before one is a character boundary.
    public static func root(of name: String) -> Substring {
        let utf8 = name.utf8
        let kept: Int? = utf8.withContiguousStorageIfAvailable { bytes in
            var end = bytes.count
            stripping: while true {
                for suffix in suffixBytes where end > suffix.count {
                    let start = end - suffix.count
                    var i = 0
                    while i < suffix.count && bytes[start + i] == suffix[i] { i += 1 }
                    if i == suffix.count {
                        end = start
                        continue stripping
                    }
                }
                return end
            }
        }
        guard let kept else { return slowRoot(of: name) }
        return Substring(utf8.prefix(kept))
    }

    private static func slowRoot(of name: String) -> Substring {
        var s = Substring(name)
        stripping: while true {
            for suffix in suffixes where s.utf8.count > suffix.utf8.count && s.hasSuffix(suffix) {
                s = s.dropLast(suffix.count)
                continue stripping
            }
            return s
        }
    }
}
