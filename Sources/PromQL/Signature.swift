import Series


/// The labels a vector match or an aggregation group uses, as a dictionary key that does
/// not build them: `on` keeps only `names`, otherwise all labels but `names`. Hashing and
/// equality walk the original label set, skipping the others.
struct Signature: Hashable {
    let labels: Labels
    let on: Bool
    let names: [String]
    private let hashValue_: Int

    @inline(__always)
    init(_ labels: Labels, on: Bool, names: [String]) {
        self.labels = labels
        self.on = on
        self.names = names
        var h = Hasher()
        for l in labels where Self.included(l.name, on: on, names) {
            h.combine(l.name)
            h.combine(l.value)
        }
        hashValue_ = h.finalize()
    }

    @inline(__always)
    static func included(_ name: String, on: Bool, _ names: [String]) -> Bool {
        // Lists of label names are short: a linear scan beats hashing.
        var listed = false
        for n in names where n == name {
            listed = true
            break
        }
        return listed == on
    }

    func hash(into h: inout Hasher) { h.combine(hashValue_) }

    static func == (a: Signature, b: Signature) -> Bool {
        guard a.hashValue_ == b.hashValue_ else { return false }
        var i = 0, j = 0
        let x = a.labels, y = b.labels
        while true {
            while i < x.count && !included(x[i].name, on: a.on, a.names) { i += 1 }
            while j < y.count && !included(y[j].name, on: b.on, b.names) { j += 1 }
            if i == x.count || j == y.count { return i == x.count && j == y.count }
            if x[i] != y[j] { return false }
            i += 1
            j += 1
        }
    }

    /// The labels themselves (for results and error messages).
    var materialized: Labels {
        Labels(sorted: labels.pairs.filter { Self.included($0.name, on: on, names) })
    }
}
