#if canImport(Glibc)
import Glibc
#endif

/// Finds the separate debug file of a stripped binary, as gdb and perf do: by build-id
/// under `/usr/lib/debug/.build-id/`, then by `.gnu_debuglink` next to the binary, in its
/// `.debug/` directory, and under `/usr/lib/debug/` + its directory. Each place is looked
/// up under the process's root first (a service in another container) and then the
/// agent's own. A candidate must carry the same build-id, or (without one) match the
/// debuglink's CRC-32.
enum DebugFiles {
    static func find(for binary: ElfFile, mappedPath: String, roots: [String]) -> ElfFile? {
        let buildID = binary.buildID
        let link = binary.debugLink
        var candidates: [String] = []
        if buildID.count > 2 {
            let id = Array(buildID.utf8)
            let name =
                "/usr/lib/debug/.build-id/" + String(decoding: id[..<2], as: UTF8.self) + "/"
                + String(decoding: id[2...], as: UTF8.self) + ".debug"
            for root in roots { candidates.append(root + name) }
        }
        if let link {
            let dir = mappedPath.lastIndex(of: "/").map { String(mappedPath[..<$0]) } ?? ""
            for root in roots {
                candidates.append(root + dir + "/" + link.name)
                candidates.append(root + dir + "/.debug/" + link.name)
                candidates.append(root + "/usr/lib/debug" + dir + "/" + link.name)
            }
        }
        var seen = Set<String>()
        for path in candidates where seen.insert(path).inserted {
            guard let candidate = ElfFile(path: path) else { continue }
            // The binary itself, found again through its debuglink's own directory.
            let a = candidate.identity
            let b = binary.identity
            if a.device == b.device && a.inode == b.inode { continue }
            if !buildID.isEmpty, !candidate.buildID.isEmpty {
                if candidate.buildID == buildID { return candidate }
                continue
            }
            if let link, crc32(ofFile: path) == link.crc { return candidate }
        }
        return nil
    }

    /// CRC-32 (IEEE 802.3, as .gnu_debuglink uses) of a whole file; nil if unreadable.
    static func crc32(ofFile path: String) -> UInt32? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var crc: UInt32 = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return nil
            }
            if n == 0 { return crc }
            crc = crc32(crc, buffer[..<n])
        }
    }

    static func crc32<C: Collection>(_ crc: UInt32, _ bytes: C) -> UInt32 where C.Element == UInt8 {
        var c = ~crc
        for b in bytes { c = crcTable[Int((c ^ UInt32(b)) & 0xff)] ^ (c >> 8) }
        return ~c
    }

    private static let crcTable: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }
}
