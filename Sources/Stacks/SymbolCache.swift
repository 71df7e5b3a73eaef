/// The symbols of one object, as loaded: its function table and, when DWARF line tables
/// are at hand, a line reader.
final class LoadedSymbols {
    let table: SymbolTable
    let lines: LineTable?
    /// Where the symbols came from (the binary, its debug file, kallsyms, a perf map).
    let source: String

    init(table: SymbolTable, lines: LineTable?, source: String) {
        self.table = table
        self.lines = lines
        self.source = source
    }

    var bytes: Int { table.bytes + (lines?.bytes ?? 0) }
}

/// Symbol tables by key (build-id, or device and inode for files without one), bounded by
/// bytes: adding past the bound drops the least recently used tables. A table is loaded
/// on first use and reloaded if it was dropped and is needed again.
struct SymbolCache {
    let capacity: Int
    private var entries: [String: (symbols: LoadedSymbols, lastUse: UInt64)] = [:]
    private var clock: UInt64 = 0
    /// Bytes of the tables held (`lookout_profiler_symbol_cache_bytes`).
    private(set) var bytes = 0
    /// Tables dropped to stay within `capacity`.
    private(set) var evictions = 0

    init(capacity: Int) {
        self.capacity = max(capacity, 0)
    }

    var count: Int { entries.count }

    /// The table for `key`, loading it with `load` when absent. A table larger than the
    /// whole capacity is still returned (for this lookup) but not kept.
    mutating func symbols(_ key: String, load: () -> LoadedSymbols?) -> LoadedSymbols? {
        clock += 1
        if let at = entries.index(forKey: key) {
            entries.values[at].lastUse = clock
            return entries.values[at].symbols
        }
        guard let loaded = load() else { return nil }
        insert(key, loaded)
        return loaded
    }

    /// Replaces or adds a table (a perf map that grew).
    mutating func insert(_ key: String, _ loaded: LoadedSymbols) {
        clock += 1
        remove(key)
        let size = loaded.bytes
        guard size <= capacity else { return }
        while bytes + size > capacity, let victim = entries.min(by: { $0.value.lastUse < $1.value.lastUse }) {
            remove(victim.key)
            evictions += 1
        }
        entries[key] = (loaded, clock)
        bytes += size
    }

    mutating func remove(_ key: String) {
        if let old = entries.removeValue(forKey: key) { bytes -= old.symbols.bytes }
    }

    func contains(_ key: String) -> Bool { entries[key] != nil }
}
