import LookoutCore

/// One executable mapping of `/proc/PID/maps`.
public struct MemoryMapping: Sendable, Hashable {
    public var start: UInt64
    public var end: UInt64
    /// Offset in the file of `start`.
    public var offset: UInt64
    /// Device (major:minor as in the file) and inode of the mapped file; inode 0 for anonymous memory.
    public var device: String
    public var inode: UInt64
    /// The file's path as the process sees it (without " (deleted)"), or a pseudo name like
    /// `[vdso]`, or "" for anonymous memory.
    public var path: String
    /// The file was deleted (or replaced) since it was mapped.
    public var deleted: Bool

    /// A file on disk (not anonymous memory, not `[vdso]` and the like).
    public var isFile: Bool { inode != 0 && path.hasPrefix("/") }
}

/// The executable mappings of a process, sorted by address.
public struct ProcessMaps: Sendable {
    public private(set) var mappings: [MemoryMapping]

    public init(mappings: [MemoryMapping]) {
        self.mappings = mappings.sorted { $0.start < $1.start }
    }

    /// The mapping holding `address`, if any.
    public func mapping(containing address: UInt64) -> MemoryMapping? {
        var lo = 0
        var hi = mappings.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if mappings[mid].start <= address { lo = mid + 1 } else { hi = mid }
        }
        guard lo > 0, address < mappings[lo - 1].end else { return nil }
        return mappings[lo - 1]
    }

    /// Parses `/proc/PID/maps`, keeping executable mappings. Lines that do not parse are skipped.
    public static func parse(_ bytes: [UInt8]) -> ProcessMaps {
        var out: [MemoryMapping] = []
        var lineStart = 0
        bytes.withUnsafeBufferPointer { b in
            for i in 0...b.count where i == b.count || b[i] == UInt8(ascii: "\n") {
                if i > lineStart, let m = parseLine(UnsafeBufferPointer(rebasing: b[lineStart..<i])) { out.append(m) }
                lineStart = i + 1
            }
        }
        return ProcessMaps(mappings: out)
    }

    /// `start-end perms offset dev inode   path`, executable mappings only.
    static func parseLine(_ line: UnsafeBufferPointer<UInt8>) -> MemoryMapping? {
        var at = 0
        func field() -> UnsafeBufferPointer<UInt8> {
            while at < line.count, line[at] == UInt8(ascii: " ") { at += 1 }
            let start = at
            while at < line.count, line[at] != UInt8(ascii: " ") { at += 1 }
            return UnsafeBufferPointer(rebasing: line[start..<at])
        }
        let range = field()
        let perms = field()
        guard perms.count >= 3, perms[2] == UInt8(ascii: "x") else { return nil }
        guard let dash = range.firstIndex(of: UInt8(ascii: "-")),
            let start = hex(UnsafeBufferPointer(rebasing: range[..<dash])),
            let end = hex(UnsafeBufferPointer(rebasing: range[(dash + 1)...])),
            let offset = hex(field())
        else { return nil }
        let device = String(decoding: field(), as: UTF8.self)
        guard let inode = decimal(field()) else { return nil }
        while at < line.count, line[at] == UInt8(ascii: " ") { at += 1 }
        var path = String(decoding: UnsafeBufferPointer(rebasing: line[at...]), as: UTF8.self)
        var deleted = false
        if path.hasSuffix(" (deleted)") {
            deleted = true
            path.removeLast(10)
        }
        return MemoryMapping(start: start, end: end, offset: offset, device: device, inode: inode, path: path, deleted: deleted)
    }

    static func hex(_ s: UnsafeBufferPointer<UInt8>) -> UInt64? {
        guard !s.isEmpty, s.count <= 16 else { return nil }
        var v: UInt64 = 0
        for c in s {
            guard let d = hexDigitValue(c) else { return nil }
            v = v << 4 | UInt64(d)
        }
        return v
    }

    static func decimal(_ s: UnsafeBufferPointer<UInt8>) -> UInt64? {
        guard !s.isEmpty, s.count <= 19 else { return nil }
        var v: UInt64 = 0
        for c in s {
            guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else { return nil }
            v = v * 10 + UInt64(c - UInt8(ascii: "0"))
        }
        return v
    }
}
