import CStacks

/// A sample record's fields, viewing the record's bytes (valid while the record is).
/// The layout is what `lookout_perf_open` asks for: TID, TIME, CALLCHAIN, and with a
/// stack copy REGS_USER and STACK_USER.
struct PerfSample {
    var pid: Int32
    var tid: Int32
    var time: UInt64
    /// The callchain: `nr` u64 entries, context markers (PERF_CONTEXT_*) included.
    var callchain: UnsafeRawBufferPointer
    /// The user registers (LOOKOUT_PERF_USER_REGISTERS u64, kernel order), empty when the
    /// sample has none (a kernel thread, or no stack copy asked for).
    var registers: UnsafeRawBufferPointer
    /// The copied user stack from SP (only the bytes the kernel could copy).
    var stack: UnsafeRawBufferPointer

    var callchainCount: Int { callchain.count / 8 }
    func callchainEntry(_ i: Int) -> UInt64 { callchain.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self) }
    func register(_ i: Int) -> UInt64 { registers.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self) }
}

/// One decoded ring-buffer record.
enum PerfRecord {
    case sample(PerfSample)
    /// PERF_RECORD_LOST (the ring buffer was full) or PERF_RECORD_LOST_SAMPLES: samples lost.
    case lost(UInt64)
    /// A task's name changed (prctl, pthread_setname_np) or it exec'ed.
    case comm(pid: Int32, tid: Int32, name: UnsafeRawBufferPointer)
    case fork(pid: Int32, tid: Int32, parentTID: Int32)
    case exit(pid: Int32, tid: Int32)
    /// A record of a type not asked for (ignored).
    case other
    /// A record whose fields do not fit its size.
    case malformed

    /// Decodes `bytes` (one whole record, header included). `stackCopy` says whether
    /// samples carry REGS_USER and STACK_USER.
    static func decode(_ bytes: UnsafeRawBufferPointer, stackCopy: Bool) -> PerfRecord {
        guard bytes.count >= 8 else { return .malformed }
        let type = bytes.loadUnaligned(as: UInt32.self)
        var r = Reader(bytes: bytes, at: 8)
        switch Int(type) {
        case Int(LOOKOUT_PERF_RECORD_SAMPLE):
            return decodeSample(&r, stackCopy: stackCopy).map { .sample($0) } ?? .malformed
        case Int(LOOKOUT_PERF_RECORD_LOST):
            guard r.u64() != nil, let n = r.u64() else { return .malformed }
            return .lost(n)
        case Int(LOOKOUT_PERF_RECORD_LOST_SAMPLES):
            guard let n = r.u64() else { return .malformed }
            return .lost(n)
        case Int(LOOKOUT_PERF_RECORD_COMM):
            guard let pid = r.u32(), let tid = r.u32() else { return .malformed }
            let rest = UnsafeRawBufferPointer(rebasing: bytes[r.at...])
            let length = rest.firstIndex(of: 0) ?? rest.count
            return .comm(pid: Int32(bitPattern: pid), tid: Int32(bitPattern: tid), name: UnsafeRawBufferPointer(rebasing: rest[..<length]))
        case Int(LOOKOUT_PERF_RECORD_FORK), Int(LOOKOUT_PERF_RECORD_EXIT):
            guard let pid = r.u32(), r.u32() != nil, let tid = r.u32(), let ptid = r.u32() else { return .malformed }
            if Int(type) == Int(LOOKOUT_PERF_RECORD_FORK) {
                return .fork(pid: Int32(bitPattern: pid), tid: Int32(bitPattern: tid), parentTID: Int32(bitPattern: ptid))
            }
            return .exit(pid: Int32(bitPattern: pid), tid: Int32(bitPattern: tid))
        default:
            return .other
        }
    }

    private static func decodeSample(_ r: inout Reader, stackCopy: Bool) -> PerfSample? {
        guard let pid = r.u32(), let tid = r.u32(), let time = r.u64(), let nr = r.u64(),
            nr <= 4096, let callchain = r.bytes(Int(nr) * 8)
        else { return nil }
        var sample = PerfSample(
            pid: Int32(bitPattern: pid), tid: Int32(bitPattern: tid), time: time, callchain: callchain,
            registers: UnsafeRawBufferPointer(start: nil, count: 0), stack: UnsafeRawBufferPointer(start: nil, count: 0))
        guard stackCopy else { return sample }
        guard let abi = r.u64() else { return nil }
        if abi != 0 {
            guard let regs = r.bytes(Int(LOOKOUT_PERF_USER_REGISTERS) * 8) else { return nil }
            sample.registers = regs
        }
        guard let size = r.u64(), size <= 1 << 16 else { return nil }
        if size > 0 {
            guard let stack = r.bytes(Int(size)), let dynamicSize = r.u64() else { return nil }
            sample.stack = UnsafeRawBufferPointer(rebasing: stack[..<Int(min(dynamicSize, size))])
        }
        return sample
    }

    /// Bounds-checked little-endian reads through a record.
    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        var at: Int

        mutating func u32() -> UInt32? {
            guard at + 4 <= bytes.count else { return nil }
            defer { at += 4 }
            return bytes.loadUnaligned(fromByteOffset: at, as: UInt32.self)
        }

        mutating func u64() -> UInt64? {
            guard at + 8 <= bytes.count else { return nil }
            defer { at += 8 }
            return bytes.loadUnaligned(fromByteOffset: at, as: UInt64.self)
        }

        mutating func bytes(_ n: Int) -> UnsafeRawBufferPointer? {
            guard n >= 0, at + n <= bytes.count else { return nil }
            defer { at += n }
            return UnsafeRawBufferPointer(rebasing: bytes[at..<(at + n)])
        }
    }
}
