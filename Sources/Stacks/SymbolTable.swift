/// Function symbols of one object (an ELF file, the kernel, a JIT's perf map), sorted by
/// address, names packed in one byte array: ~16 bytes per symbol plus its name.
final class SymbolTable {
    /// Starts as offsets from `base` when they fit in 32 bits (ELF objects, the kernel's
    /// text), else in full.
    private let base: UInt64
    private let offsets: [UInt32]
    private let wideStarts: [UInt64]
    /// Sizes, empty when no symbol has one (kallsyms); a size of 0 reaches the next symbol.
    private let sizes: [UInt32]
    /// End offsets of the names in `names`: name i is names[nameEnds[i-1]..<nameEnds[i]].
    private let nameEnds: [UInt32]
    private let names: [UInt8]

    /// Bytes this table holds, for the cache's bound.
    let bytes: Int
    var count: Int { nameEnds.count }

    fileprivate init(starts: [UInt64], sizes: [UInt32], nameEnds: [UInt32], names: [UInt8]) {
        let base = starts.first ?? 0
        self.base = base
        if let last = starts.last, last - base <= UInt64(UInt32.max) {
            offsets = starts.map { UInt32($0 - base) }
            wideStarts = []
        } else {
            offsets = []
            wideStarts = starts
        }
        self.sizes = sizes.contains { $0 != 0 } ? sizes : []
        self.nameEnds = nameEnds
        self.names = names
        bytes = offsets.count * 4 + wideStarts.count * 8 + self.sizes.count * 4 + nameEnds.count * 4 + names.count + 96
    }

    /// The index of the symbol holding `address`, or nil.
    func lookup(_ address: UInt64) -> Int? {
        var lo = 0
        var hi = count
        while lo < hi {
            let mid = (lo + hi) / 2
            if start(mid) <= address { lo = mid + 1 } else { hi = mid }
        }
        guard lo > 0 else { return nil }
        let i = lo - 1
        let size = sizes.isEmpty ? 0 : UInt64(sizes[i])
        if size > 0 { return address - start(i) < size ? i : nil }
        // No size (assembly, kallsyms, some JIT entries): up to the next symbol, within 64 KiB.
        let limit = i + 1 < count ? start(i + 1) : start(i) + 0x10000
        return address < limit && address - start(i) < 0x10000 ? i : nil
    }

    func start(_ i: Int) -> UInt64 { wideStarts.isEmpty ? base + UInt64(offsets[i]) : wideStarts[i] }

    /// The name of symbol `i` as written in the object (mangled).
    func name(_ i: Int) -> String {
        let from = i == 0 ? 0 : Int(nameEnds[i - 1])
        return names.withUnsafeBufferPointer { String(decoding: $0[from..<Int(nameEnds[i])], as: UTF8.self) }
    }

    /// Collects symbols in any order, then sorts them and drops duplicates.
    struct Builder {
        private struct Entry {
            var start: UInt64
            var size: UInt64
            var name: Range<Int>
            /// Preferred among symbols at one address: higher wins.
            var rank: UInt8
        }

        private var entries: [Entry] = []
        private var names: [UInt8] = []

        init() {}

        var isEmpty: Bool { entries.isEmpty }

        mutating func add(start: UInt64, size: UInt64, name: UnsafeRawBufferPointer, rank: UInt8 = 0) {
            guard !name.isEmpty else { return }
            let from = names.count
            names.append(contentsOf: name)
            entries.append(Entry(start: start, size: size, name: from..<names.count, rank: rank))
        }

        mutating func add(start: UInt64, size: UInt64, name: String, rank: UInt8 = 0) {
            var name = name
            name.withUTF8 { add(start: start, size: size, name: UnsafeRawBufferPointer($0), rank: rank) }
        }

        /// The table: sorted by address, one name per address.
        func build() -> SymbolTable {
            // Of aliases, the one perf's symbol loader picks: one with a size, the higher
            // rank (binding), fewer leading underscores, the longer name.
            func underscores(_ e: Entry) -> Int { names[e.name].prefix { $0 == UInt8(ascii: "_") }.count }
            func before(_ a: Int, _ b: Int) -> Bool {
                let x = entries[a]
                let y = entries[b]
                if x.start != y.start { return x.start < y.start }
                if (x.size > 0) != (y.size > 0) { return x.size > 0 }
                if x.rank != y.rank { return x.rank > y.rank }
                let (ux, uy) = (underscores(x), underscores(y))
                if ux != uy { return ux < uy }
                if x.name.count != y.name.count { return x.name.count > y.name.count }
                return a < b
            }
            // kallsyms comes sorted: skip the sort when it is.
            var sorted = true
            for i in entries.indices.dropFirst() where entries[i - 1].start > entries[i].start {
                sorted = false
                break
            }
            let order = sorted ? Array(entries.indices) : entries.indices.sorted(by: before)
            var starts: [UInt64] = []
            var sizes: [UInt32] = []
            var ends: [UInt32] = []
            var packed: [UInt8] = []
            starts.reserveCapacity(order.count)
            sizes.reserveCapacity(order.count)
            ends.reserveCapacity(order.count)
            var kept = -1  // the entry standing for starts.last
            for i in order {
                let e = entries[i]
                if let last = starts.last, last == e.start {
                    // An alias: the preferred name (input already sorted by address keeps
                    // its own order, so it may come second), and a size if the kept one has none.
                    if before(i, kept) {
                        packed.removeSubrange(Int(ends.count > 1 ? ends[ends.count - 2] : 0)...)
                        packed.append(contentsOf: names[e.name])
                        ends[ends.count - 1] = UInt32(packed.count)
                        kept = i
                    }
                    sizes[sizes.count - 1] = max(sizes[sizes.count - 1], UInt32(clamping: e.size))
                    continue
                }
                kept = i
                starts.append(e.start)
                sizes.append(UInt32(clamping: e.size))
                packed.append(contentsOf: names[e.name])
                ends.append(UInt32(packed.count))
            }
            return SymbolTable(starts: starts, sizes: sizes, nameEnds: ends, names: packed)
        }
    }
}
