import CStacks

/// A file mapped executable by a sampled process: what was read of it once (build-id,
/// segments), how to open it again, and the functions already made for its symbols.
/// Shared by every process mapping the same file (same device and inode).
final class ObjectFile {
    /// The symbol cache key: the build-id, or device and inode without one.
    let key: String
    let buildID: String
    /// Where the file can be opened (through the process's root, or its map_files entry).
    let openPath: String
    /// The path as the process sees it.
    let mappedPath: String
    /// Roots to look for separate debug files under: the process's, then the agent's.
    let roots: [String]
    let segments: [lookout_elf_segment]
    /// The file as opened when first seen, kept until its symbols are loaded (the process,
    /// and with it a deleted file's map_files entry, may be gone by then).
    var pendingElf: ElfFile?

    /// Functions made so far, by symbol start address (shared across processes).
    var functions: [UInt64: FunctionInfo] = [:]
    /// The function standing for addresses no symbol covers: `[file name]`.
    let unknownFunction: FunctionInfo

    init(elf: ElfFile, key: String, mappedPath: String, roots: [String]) {
        self.key = key
        buildID = elf.buildID
        openPath = elf.path
        self.mappedPath = mappedPath
        self.roots = roots
        segments = elf.segments
        pendingElf = elf
        let base = mappedPath.split(separator: "/").last.map(String.init) ?? mappedPath
        unknownFunction = FunctionInfo(name: "[\(base)]", systemName: "", file: mappedPath, isSymbolized: false)
    }

    /// The vaddr of a file offset, through the PT_LOAD segment holding it.
    func virtualAddress(ofFileOffset offset: UInt64) -> UInt64? {
        for s in segments where offset >= s.offset && offset < s.offset + max(s.filesz, 1) {
            return offset - s.offset + s.vaddr
        }
        return nil
    }

    /// The load bias of `mapping` (runtime address minus vaddr), for libdw.
    func bias(of mapping: MemoryMapping) -> UInt64? {
        guard let vaddr = virtualAddress(ofFileOffset: mapping.offset) else { return nil }
        return mapping.start &- vaddr
    }

    /// Loads the symbols: .symtab of the file or of its debug file, plus .dynsym; line
    /// tables of whichever has them.
    func loadSymbols(lineNumbers: Bool) -> LoadedSymbols? {
        guard let elf = pendingElf ?? ElfFile(path: openPath) else { return nil }
        pendingElf = nil
        var debug: ElfFile?
        let hasSymtab = elf.hasSymtab
        let hasLines = lineNumbers && elf.hasLineTables
        if !hasSymtab || (lineNumbers && !hasLines) {
            debug = DebugFiles.find(for: elf, mappedPath: mappedPath, roots: roots)
        }
        var builder = SymbolTable.Builder()
        var source = elf.path
        if hasSymtab {
            elf.addSymbols(dynamic: false, to: &builder)
        } else if let debug, debug.hasSymtab {
            debug.addSymbols(dynamic: false, to: &builder)
            source = debug.path
        }
        elf.addSymbols(dynamic: true, to: &builder)
        var lines: LineTable?
        if lineNumbers {
            lines = hasLines ? elf.lineTable() : debug?.lineTable()
        }
        return LoadedSymbols(table: builder.build(), lines: lines, source: source)
    }
}
