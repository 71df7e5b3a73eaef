import CStacks

/// DWARF CFI unwinding of copied user stacks for one process, with elfutils' libdw: the
/// process's executable files are reported once (libdw keeps their parsed CFI), each
/// sample brings its registers and stack copy.
final class DwarfUnwinder {
    private let handle: OpaquePointer
    /// Mappings reported, by start address.
    private var reported: Set<UInt64> = []

    init?(pid: Int32) {
        guard let h = lookout_unwinder_new(pid) else { return nil }
        handle = h
    }

    deinit { lookout_unwinder_free(handle) }

    var isEmpty: Bool { reported.isEmpty }

    func hasReported(_ mapping: MemoryMapping) -> Bool { reported.contains(mapping.start) }

    /// Reports a file mapping; false when libdw cannot use it (not ELF, overlapping).
    @discardableResult
    func report(_ mapping: MemoryMapping, path: String, bias: UInt64) -> Bool {
        guard reported.insert(mapping.start).inserted else { return true }
        return lookout_unwinder_report(handle, mapping.path, path, bias) == 0
    }

    /// Unwinds one sample into `pcs` (innermost first). Returns the frame count and whether
    /// libdw reached the outermost frame.
    func unwind(
        tid: Int32, registers: UnsafeRawBufferPointer, stack: UnsafeRawBufferPointer, into pcs: UnsafeMutableBufferPointer<UInt64>
    ) -> (count: Int, complete: Bool) {
        guard registers.count >= Int(LOOKOUT_PERF_USER_REGISTERS) * 8, let regs = registers.baseAddress else { return (0, false) }
        var error: Int32 = 1
        let n = lookout_unwinder_unwind(
            handle, tid, regs.assumingMemoryBound(to: UInt64.self), stack.baseAddress?.assumingMemoryBound(to: UInt8.self),
            stack.count, pcs.baseAddress, Int32(pcs.count), &error)
        return (Int(max(n, 0)), error == 0)
    }
}
