#if canImport(Glibc)
import Glibc
#endif
import CStacks
import LookoutCore

/// What the symbolizer knows of one sampled process.
final class ProcessSymbols {
    let pid: Int32
    /// `/proc/PID/root`: the process's view of the file system.
    let root: String
    var maps: ProcessMaps
    /// The drain in which `maps` was read (it is read again at most once per drain, when an
    /// address falls outside every mapping).
    var mapsGeneration: UInt64
    /// Mapping info and object of each mapping, by start address.
    var mappings: [UInt64: (info: MappingInfo, object: ObjectFile?)] = [:]
    /// Frames resolved, by the address looked up.
    var resolved: [UInt64: StackFrame] = [:]
    /// The JIT perf map: the path as the process names it, the path to read, what was read.
    let perfMapName: String
    let perfMapPath: String
    var perfMapSize = -1
    var perfMapGeneration: UInt64 = 0
    var jitFunctions: [UInt64: FunctionInfo] = [:]
    let jitMapping: MappingInfo
    var unwinder: DwarfUnwinder?

    init(pid: Int32, procRoot: String, maps: ProcessMaps, generation: UInt64) {
        self.pid = pid
        root = "\(procRoot)/\(pid)/root"
        self.maps = maps
        mapsGeneration = generation
        // In another PID namespace the process writes /tmp/perf-<its own pid>.map.
        let nsPID = Self.namespacePID(procRoot: procRoot, pid: pid) ?? pid
        perfMapName = "/tmp/perf-\(nsPID).map"
        perfMapPath = root + perfMapName
        jitMapping = MappingInfo(start: 0, limit: 0, offset: 0, file: perfMapName, buildID: "")
    }

    /// The last `NSpid:` field of /proc/PID/status: the pid inside the process's own namespace.
    static func namespacePID(procRoot: String, pid: Int32) -> Int32? {
        guard let status = try? FileIO.readText("\(procRoot)/\(pid)/status", limit: 1 << 16) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("NSpid:") {
            return line.split(whereSeparator: { $0 == " " || $0 == "\t" }).last.flatMap { Int32($0) }
        }
        return nil
    }
}

/// Address to function: `/proc/PID/maps` gives the file and offset, the file's ELF symbols
/// (or its debug file's) give the function, DWARF line tables the line; `/proc/kallsyms`
/// names kernel addresses and `/tmp/perf-PID.map` JIT code. Files are opened through
/// `/proc/PID/root/` (another container's files) or `/proc/PID/map_files/` (a deleted or
/// replaced binary). Symbol tables are cached by build-id within a byte bound.
final class Symbolizer {
    let procRoot: String
    let lineNumbers: Bool
    private(set) var cache: SymbolCache
    private var processes: [Int32: ProcessSymbols] = [:]
    /// Objects by device and inode, and the ones that could not be opened (nil).
    private var objects: [String: ObjectFile?] = [:]
    private var kernelFunctions: [UInt64: FunctionInfo] = [:]
    private var kernelUnavailable = false
    /// Bumped by the engine at each drain.
    var generation: UInt64 = 1

    static let kernelKey = "[kernel.kallsyms]"
    let kernelMapping = MappingInfo(start: 0, limit: 0, offset: 0, file: Symbolizer.kernelKey, buildID: "")
    static let unknown = FunctionInfo(name: "[unknown]", systemName: "", file: "", isSymbolized: false)
    static let unknownKernel = FunctionInfo(name: "[kernel]", systemName: "", file: kernelKey, isSymbolized: false)
    /// Bound of each process's resolved-address cache.
    static let maxResolved = 1 << 14

    init(procRoot: String = "/proc", lineNumbers: Bool = true, cacheBytes: Int = 64 << 20) {
        self.procRoot = procRoot
        self.lineNumbers = lineNumbers
        cache = SymbolCache(capacity: cacheBytes)
    }

    var processCount: Int { processes.count }

    /// The process's state, reading its maps when first seen; nil if it is gone.
    func process(_ pid: Int32) -> ProcessSymbols? {
        if let p = processes[pid] { return p }
        guard let bytes = readWholeFile("\(procRoot)/\(pid)/maps") else { return nil }
        let p = ProcessSymbols(pid: pid, procRoot: procRoot, maps: ProcessMaps.parse(bytes), generation: generation)
        processes[pid] = p
        return p
    }

    /// Drops what is known of a process (it exited or is no longer sampled).
    func forget(_ pid: Int32) {
        processes.removeValue(forKey: pid)
        cache.remove(perfMapKey(pid))
    }

    /// Pids known, to forget those no longer sampled.
    var knownPIDs: [Int32] { Array(processes.keys) }

    // MARK: user space

    /// The frame of a user-space address: `leaf` for the sampled instruction, else a return
    /// address (looked up at address - 1).
    func user(pid: Int32, address: UInt64, leaf: Bool) -> StackFrame {
        let lookup = leaf ? address : address &- 1
        guard let p = process(pid) else {
            return StackFrame(address: lookup, kind: .user, function: Self.unknown, mapping: nil, line: 0)
        }
        if let f = p.resolved[lookup] { return f }
        let f = resolve(p, lookup)
        if p.resolved.count >= Self.maxResolved { p.resolved.removeAll(keepingCapacity: true) }
        p.resolved[lookup] = f
        return f
    }

    private func resolve(_ p: ProcessSymbols, _ address: UInt64) -> StackFrame {
        var m = p.maps.mapping(containing: address)
        if m == nil, p.mapsGeneration != generation {
            reloadMaps(p)
            m = p.maps.mapping(containing: address)
        }
        guard let m else {
            return jit(p, address) ?? StackFrame(address: address, kind: .user, function: Self.unknown, mapping: nil, line: 0)
        }
        guard m.isFile else {
            if let f = jit(p, address) { return f }
            let name = m.path.isEmpty ? "[anon]" : m.path
            return StackFrame(
                address: address, kind: .user, function: pseudoFunction(name), mapping: mappingInfo(p, m).info, line: 0)
        }
        let (info, object) = mappingInfo(p, m)
        guard let object else {
            return StackFrame(address: address, kind: .user, function: Self.unknown, mapping: info, line: 0)
        }
        guard let vaddr = object.virtualAddress(ofFileOffset: address - m.start + m.offset),
            let symbols = cache.symbols(object.key, load: { object.loadSymbols(lineNumbers: lineNumbers) }),
            let i = symbols.table.lookup(vaddr)
        else {
            return StackFrame(address: address, kind: .user, function: object.unknownFunction, mapping: info, line: 0)
        }
        let start = symbols.table.start(i)
        let line = symbols.lines?.find(vaddr)
        let function: FunctionInfo
        if let f = object.functions[start] {
            function = f
        } else {
            let raw = symbols.table.name(i)
            function = FunctionInfo(name: Demangler.demangle(raw), systemName: raw, file: line?.file ?? object.mappedPath)
            object.functions[start] = function
        }
        return StackFrame(address: address, kind: .user, function: function, mapping: info, line: line?.line ?? 0)
    }

    private var pseudoFunctions: [String: FunctionInfo] = [:]

    /// `[vdso]`, `[anon]` and the like: one function per name.
    private func pseudoFunction(_ name: String) -> FunctionInfo {
        if let f = pseudoFunctions[name] { return f }
        let f = FunctionInfo(name: name.hasPrefix("[") ? name : "[\(name)]", systemName: "", file: name, isSymbolized: false)
        if pseudoFunctions.count < 256 { pseudoFunctions[name] = f }
        return f
    }

    /// Reads the process's maps again; frames resolved through changed mappings go.
    func reloadMaps(_ p: ProcessSymbols) {
        p.mapsGeneration = generation
        guard let bytes = readWholeFile("\(procRoot)/\(p.pid)/maps") else { return }
        let maps = ProcessMaps.parse(bytes)
        let kept = Set(maps.mappings.map { MappingKey($0) })
        var removed = false
        for m in p.maps.mappings where !kept.contains(MappingKey(m)) {
            p.mappings.removeValue(forKey: m.start)
            removed = true
        }
        if removed { p.resolved.removeAll(keepingCapacity: true) }
        // libdw's modules must match the mappings: a new unwinder reports them again.
        if removed || maps.mappings.count != p.maps.mappings.count { p.unwinder = nil }
        p.maps = maps
    }

    private struct MappingKey: Hashable {
        var start, end, offset, inode: UInt64
        init(_ m: MemoryMapping) {
            start = m.start
            end = m.end
            offset = m.offset
            inode = m.inode
        }
    }

    /// The mapping's info and object, made once per mapping.
    func mappingInfo(_ p: ProcessSymbols, _ m: MemoryMapping) -> (info: MappingInfo, object: ObjectFile?) {
        if let known = p.mappings[m.start] { return known }
        let object = m.isFile ? objectFile(p, m) : nil
        let info = MappingInfo(
            start: m.start, limit: m.end, offset: m.offset, file: m.path.isEmpty ? "[anon]" : m.path,
            buildID: object?.buildID ?? "")
        p.mappings[m.start] = (info, object)
        return (info, object)
    }

    /// The object of a file mapping, opened through the process's root, or through
    /// `map_files` when the file was deleted or replaced since.
    private func objectFile(_ p: ProcessSymbols, _ m: MemoryMapping) -> ObjectFile? {
        let identity = "\(m.device):\(m.inode)"
        if let known = objects[identity] { return known }
        var elf: ElfFile?
        if !m.deleted, let e = ElfFile(path: p.root + m.path), e.identity.inode == m.inode { elf = e }
        if elf == nil {
            elf = ElfFile(path: "\(procRoot)/\(p.pid)/map_files/\(hex(m.start))-\(hex(m.end))")
        }
        let object = elf.map { e in
            ObjectFile(elf: e, key: e.buildID.isEmpty ? identity : e.buildID, mappedPath: m.path, roots: [p.root, ""])
        }
        if objects.count >= 4096 { objects.removeAll(keepingCapacity: true) }
        objects[identity] = .some(object)
        return object
    }

    private func hex(_ v: UInt64) -> String { String(v, radix: 16) }

    // MARK: JIT

    private func perfMapKey(_ pid: Int32) -> String { "perf-map:\(pid)" }

    /// A frame from the process's perf map, reading it again (at most once per drain) when
    /// the address is not in it and the file has grown.
    private func jit(_ p: ProcessSymbols, _ address: UInt64) -> StackFrame? {
        let key = perfMapKey(p.pid)
        var symbols = cache.symbols(key) { loadPerfMap(p) }
        var index = symbols?.table.lookup(address)
        if index == nil, p.perfMapGeneration != generation {
            p.perfMapGeneration = generation
            var st = stat()
            if stat(p.perfMapPath, &st) == 0, Int(st.st_size) != p.perfMapSize, let loaded = loadPerfMap(p) {
                cache.insert(key, loaded)
                symbols = loaded
                index = loaded.table.lookup(address)
            }
        }
        guard let symbols, let i = index else { return nil }
        let start = symbols.table.start(i)
        let raw = symbols.table.name(i)
        let function: FunctionInfo
        if let f = p.jitFunctions[start], f.systemName == raw {
            function = f
        } else {
            function = FunctionInfo(name: raw, systemName: raw, file: p.perfMapName)
            if p.jitFunctions.count >= Self.maxResolved { p.jitFunctions.removeAll(keepingCapacity: true) }
            p.jitFunctions[start] = function
        }
        return StackFrame(address: address, kind: .jit, function: function, mapping: p.jitMapping, line: 0)
    }

    private func loadPerfMap(_ p: ProcessSymbols) -> LoadedSymbols? {
        guard let bytes = readWholeFile(p.perfMapPath) else { return nil }
        p.perfMapSize = bytes.count
        return LoadedSymbols(table: SymbolSources.perfMap(bytes), lines: nil, source: p.perfMapPath)
    }

    // MARK: kernel

    /// The frame of a kernel address, named from /proc/kallsyms.
    func kernel(address: UInt64, leaf: Bool) -> StackFrame {
        let lookup = leaf ? address : address &- 1
        var function = Self.unknownKernel
        if !kernelUnavailable {
            let symbols = cache.symbols(Self.kernelKey) { loadKallsyms() }
            if symbols == nil { kernelUnavailable = true }
            if let symbols, let i = symbols.table.lookup(lookup) {
                let start = symbols.table.start(i)
                if let f = kernelFunctions[start] {
                    function = f
                } else {
                    let name = symbols.table.name(i)
                    function = FunctionInfo(name: name, systemName: name, file: Self.kernelKey)
                    if kernelFunctions.count >= Self.maxResolved { kernelFunctions.removeAll(keepingCapacity: true) }
                    kernelFunctions[start] = function
                }
            }
        }
        return StackFrame(address: lookup, kind: .kernel, function: function, mapping: kernelMapping, line: 0)
    }

    /// /proc/kallsyms' text symbols; nil when it is unreadable or its addresses are hidden
    /// (kptr_restrict), so kernel frames stay `[kernel]` without reading it again.
    private func loadKallsyms() -> LoadedSymbols? {
        let table: SymbolTable
        do {
            guard let bytes = readWholeFile(procRoot + "/kallsyms") else { return nil }
            table = SymbolSources.kallsyms(bytes)
        }
        // The file's text and the table's builder were several times the table: give the
        // freed heap back.
        lookout_trim_heap()
        guard table.count > 0 else { return nil }
        return LoadedSymbols(table: table, lines: nil, source: procRoot + "/kallsyms")
    }

    /// Loads the kernel's symbols now (at the processor's first pass, before the samples
    /// that need them).
    func preloadKernel() { _ = kernel(address: 0, leaf: true) }

    // MARK: DWARF unwinding

    /// The process's unwinder, with every executable file mapping reported.
    func unwinder(for pid: Int32) -> DwarfUnwinder? {
        guard let p = process(pid) else { return nil }
        if let u = p.unwinder { return u }
        guard let u = DwarfUnwinder(pid: pid) else { return nil }
        for m in p.maps.mappings where m.isFile {
            let (_, object) = mappingInfo(p, m)
            guard let object, let bias = object.bias(of: m) else { continue }
            u.report(m, path: object.openPath, bias: bias)
        }
        p.unwinder = u
        return u
    }
}
