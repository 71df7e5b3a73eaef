#if canImport(Glibc)
import Glibc
#endif

/// Reads a whole file into memory, up to `limit` bytes, through a 64 KiB buffer: seq_file
/// backed /proc files (kallsyms, maps) answer a page or so per read and report size 0, so
/// neither the size nor one read says how much there is.
func readWholeFile(_ path: String, limit: Int = 256 << 20) -> [UInt8]? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var st = stat()
    var out: [UInt8] = []
    if fstat(fd, &st) == 0, st.st_size > 0 { out.reserveCapacity(min(Int(st.st_size), limit)) }
    let chunk = 1 << 16
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 16)
    defer { buffer.deallocate() }
    while out.count < limit {
        let n = read(fd, buffer.baseAddress, min(chunk, limit - out.count))
        if n < 0 {
            if errno == EINTR { continue }
            return nil
        }
        if n == 0 { break }
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[..<n]))
    }
    return out
}
