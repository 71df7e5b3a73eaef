#if canImport(Glibc)
import Glibc
#endif
import CStacks

/// An ELF file opened read-only (libelf maps it). What symbolization needs of it: its
/// build-id, debuglink, loadable segments, and its symbols.
final class ElfFile {
    let path: String
    private let fd: Int32
    private let elf: OpaquePointer

    /// Opens `path`; nil if it cannot be opened or is not ELF.
    init?(path: String) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        guard let elf = lookout_elf_open(fd) else {
            close(fd)
            return nil
        }
        self.path = path
        self.fd = fd
        self.elf = elf
    }

    deinit {
        lookout_elf_close(elf)
        close(fd)
    }

    /// Device and inode of the opened file.
    var identity: (device: UInt64, inode: UInt64) {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return (0, 0) }
        return (UInt64(st.st_dev), UInt64(st.st_ino))
    }

    var isExecutable: Bool { lookout_elf_type(elf) == 2 }

    /// The GNU build-id as lowercase hex, "" when there is none.
    lazy var buildID: String = {
        var bytes = [UInt8](repeating: 0, count: 64)
        let n = bytes.withUnsafeMutableBufferPointer { lookout_elf_build_id(elf, $0.baseAddress, 64) }
        return Self.hex(bytes[..<n])
    }()

    /// The .gnu_debuglink file name and CRC, if any.
    var debugLink: (name: String, crc: UInt32)? {
        var buffer = [CChar](repeating: 0, count: 4096)
        var crc: UInt32 = 0
        let n = buffer.withUnsafeMutableBufferPointer { lookout_elf_debuglink(elf, $0.baseAddress, 4096, &crc) }
        guard n > 0 else { return nil }
        return (String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self), crc)
    }

    /// The PT_LOAD segments.
    lazy var segments: [lookout_elf_segment] = {
        let n = Int(lookout_elf_segments(elf, nil, 0))
        guard n > 0 else { return [] }
        var out = [lookout_elf_segment](repeating: lookout_elf_segment(), count: n)
        _ = out.withUnsafeMutableBufferPointer { lookout_elf_segments(elf, $0.baseAddress, Int32(n)) }
        return out
    }()

    func hasSection(_ name: String) -> Bool { lookout_elf_has_section(elf, name) != 0 }

    var hasSymtab: Bool { symbolCount(dynamic: false) > 0 }
    var hasLineTables: Bool { hasSection(".debug_line") || hasSection(".zdebug_line") }

    func symbolCount(dynamic: Bool) -> Int { lookout_elf_symbols(elf, dynamic ? 1 : 0, nil, 0) }

    /// Adds the function symbols of .symtab (or .dynsym) to `builder`.
    func addSymbols(dynamic: Bool, to builder: inout SymbolTable.Builder) {
        let n = symbolCount(dynamic: dynamic)
        guard n > 0 else { return }
        let symbols = UnsafeMutablePointer<lookout_elf_symbol>.allocate(capacity: n)
        defer { symbols.deallocate() }
        let filled = min(lookout_elf_symbols(elf, dynamic ? 1 : 0, symbols, n), n)
        for i in 0..<filled {
            let s = symbols[i]
            guard let name = s.name else { continue }
            // As perf ranks aliases: a global symbol over a local one over a weak one.
            let rank: UInt8 = s.binding == 1 ? 2 : s.binding == 0 ? 1 : 0
            builder.add(start: s.value, size: s.size, name: UnsafeRawBufferPointer(start: name, count: strlen(name)), rank: rank)
        }
    }

    /// A DWARF line-table reader over this file, if it has line tables.
    func lineTable() -> LineTable? {
        guard hasLineTables else { return nil }
        return LineTable(path: path)
    }

    static func hex<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Source lines of one ELF file's DWARF line tables, by vaddr (a compact copy).
final class LineTable {
    private let handle: OpaquePointer
    let bytes: Int

    init?(path: String) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        guard let handle = lookout_lines_open(fd) else { return nil }
        self.handle = handle
        bytes = lookout_lines_bytes(handle)
    }

    deinit { lookout_lines_close(handle) }

    /// File and line of `address` (a vaddr of the file).
    func find(_ address: UInt64) -> (file: String, line: Int32)? {
        var file: UnsafePointer<CChar>?
        var line: Int32 = 0
        guard lookout_lines_find(handle, address, &file, &line) != 0, let file else { return nil }
        return (String(cString: file), line)
    }
}
