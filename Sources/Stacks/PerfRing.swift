#if canImport(Glibc)
import Glibc
#endif
import CStacks

/// One perf ring buffer (a header page and 2^n data pages, mapped shared): the kernel
/// appends records at `data_head`; the reader consumes up to it and publishes `data_tail`.
/// Records wrap at the end of the data area; a wrapped record is copied into a scratch
/// buffer so decoding always sees contiguous bytes.
final class PerfRing {
    let fd: Int32
    let dataPages: Int
    private let base: UnsafeMutableRawPointer
    private let data: UnsafeRawPointer
    private let size: UInt64
    /// For records that wrap around the end of the data area (a record is at most 64 KiB).
    private let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 8)

    /// Maps `fd`'s ring buffer; throws the mmap errno.
    init(fd: Int32, dataPages: Int) throws(PerfRingError) {
        var error: Int32 = 0
        guard let base = lookout_perf_mmap(fd, dataPages, &error) else {
            scratch.deallocate()
            throw PerfRingError(errno: error)
        }
        self.fd = fd
        self.dataPages = dataPages
        self.base = base
        data = UnsafeRawPointer(base + Int(lookout_perf_data_offset(base)))
        size = UInt64(dataPages * lookout_perf_page_size())
    }

    deinit {
        lookout_perf_munmap(base, dataPages)
        scratch.deallocate()
    }

    /// Bytes of the mapping (header page included).
    var mappedBytes: Int { (dataPages + 1) * lookout_perf_page_size() }

    /// Calls `body` with each complete record (header included) written since the last
    /// read, oldest first, then releases them to the kernel. When `body` returns false the
    /// read stops and that record stays for the next read. A record whose size field is
    /// impossible ends the read (the rest is skipped and counted as one undecodable record).
    /// Returns the number of bytes consumed.
    @discardableResult
    func read(_ body: (UnsafeRawBufferPointer) -> Bool) -> (bytes: UInt64, corrupt: Bool) {
        let head = lookout_perf_data_head(base)
        let start = tailPosition
        var tail = start
        var corrupt = false
        while tail + 8 <= head {
            let at = Int(tail % size)
            let recordSize = UInt64(header(at: at).size)
            guard recordSize >= 8, tail + recordSize <= head else {
                corrupt = true
                tail = head
                break
            }
            let taken: Bool
            if UInt64(at) + recordSize <= size {
                taken = body(UnsafeRawBufferPointer(start: data + at, count: Int(recordSize)))
            } else {
                let first = Int(size) - at
                scratch.baseAddress!.copyMemory(from: data + at, byteCount: first)
                (scratch.baseAddress! + first).copyMemory(from: data, byteCount: Int(recordSize) - first)
                taken = body(UnsafeRawBufferPointer(start: scratch.baseAddress!, count: Int(recordSize)))
            }
            guard taken else { break }
            tail += recordSize
        }
        if tail != start {
            tailPosition = tail
            lookout_perf_set_data_tail(base, tail)
        }
        return (tail - start, corrupt)
    }

    private var tailPosition: UInt64 = 0

    /// The 8-byte header at `at`, which may itself wrap.
    private func header(at: Int) -> (type: UInt32, size: UInt16) {
        var bytes: (UInt64) = 0
        withUnsafeMutableBytes(of: &bytes) { out in
            for i in 0..<8 { out[i] = data.load(fromByteOffset: (at + i) % Int(size), as: UInt8.self) }
        }
        return (UInt32(truncatingIfNeeded: bytes), UInt16(truncatingIfNeeded: bytes >> 48))
    }
}

struct PerfRingError: Error {
    let errno: Int32
}
