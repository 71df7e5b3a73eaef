import CStacks

/// Records copied out of the perf ring buffers on the sampler's tick, raw (callchain,
/// user registers and the used part of the stack copy), for `StackProcessor` to unwind
/// and symbolize later on its own thread. Fixed capacity, allocated once; the memory is
/// touched only as far as it fills. Not thread-safe: the tick fills one under
/// `StackExchange`'s lock, the processor reads the other it swapped out.
///
/// Entries are 8-byte aligned: a header (u32 kind, u32 size including the header), then
/// - sample: i32 pid, i32 tid, u64 time, u32 group, u32 callchain entries, u32 registers,
///   u32 stack bytes; the callchain, the registers, the stack bytes;
/// - comm: i32 pid, i32 tid, u32 name bytes, the name;
/// - fork: i32 pid, i32 tid, i32 parent tid;
/// - exit: i32 pid, i32 tid;
/// - tick: u64 tag (the end of what one tick copied).
final class RawStackBuffer: @unchecked Sendable {
    // @unchecked: owned by one thread at a time (the tick under the exchange's lock, or the
    // processor after swapping it out).
    let capacity: Int
    private let storage: UnsafeMutableRawPointer
    private(set) var used = 0
    /// Samples held.
    private(set) var samples = 0

    private enum Kind: UInt32 {
        case sample = 1, comm, fork, exit, tick
    }

    init(capacity: Int) {
        self.capacity = max(capacity, 1 << 16) & ~7
        storage = .allocate(byteCount: self.capacity, alignment: 8)
    }

    deinit { storage.deallocate() }

    var isEmpty: Bool { used == 0 }

    func removeAll() {
        used = 0
        samples = 0
    }

    /// Room for an entry of `payload` bytes after the header, or nil when full.
    private func reserve(_ kind: Kind, _ payload: Int) -> UnsafeMutableRawPointer? {
        let size = (8 + payload + 7) & ~7
        // A tick entry always fits after the others.
        guard used + size + (kind == .tick ? 0 : Self.tickEntryBytes) <= capacity else { return nil }
        let p = storage + used
        p.storeBytes(of: kind.rawValue, as: UInt32.self)
        p.storeBytes(of: UInt32(size), toByteOffset: 4, as: UInt32.self)
        used += size
        return p + 8
    }

    /// Copies a sample; false (nothing copied) when it does not fit.
    @discardableResult
    func append(_ s: PerfSample, group: UInt32) -> Bool {
        guard let p = reserve(.sample, 32 + s.callchain.count + s.registers.count + s.stack.count) else { return false }
        p.storeBytes(of: s.pid, as: Int32.self)
        p.storeBytes(of: s.tid, toByteOffset: 4, as: Int32.self)
        p.storeBytes(of: s.time, toByteOffset: 8, as: UInt64.self)
        p.storeBytes(of: group, toByteOffset: 16, as: UInt32.self)
        p.storeBytes(of: UInt32(s.callchainCount), toByteOffset: 20, as: UInt32.self)
        p.storeBytes(of: UInt32(s.registers.count / 8), toByteOffset: 24, as: UInt32.self)
        p.storeBytes(of: UInt32(s.stack.count), toByteOffset: 28, as: UInt32.self)
        var at = 32
        Self.copy(s.callchain, to: p, &at)
        Self.copy(s.registers, to: p, &at)
        Self.copy(s.stack, to: p, &at)
        samples += 1
        return true
    }

    private static func copy(_ part: UnsafeRawBufferPointer, to p: UnsafeMutableRawPointer, _ at: inout Int) {
        guard let base = part.baseAddress, part.count > 0 else { return }
        (p + at).copyMemory(from: base, byteCount: part.count)
        at += part.count
    }

    @discardableResult
    func appendComm(pid: Int32, tid: Int32, name: UnsafeRawBufferPointer) -> Bool {
        let length = min(name.count, 64)
        guard let p = reserve(.comm, 12 + length) else { return false }
        p.storeBytes(of: pid, as: Int32.self)
        p.storeBytes(of: tid, toByteOffset: 4, as: Int32.self)
        p.storeBytes(of: UInt32(length), toByteOffset: 8, as: UInt32.self)
        if length > 0 { (p + 12).copyMemory(from: name.baseAddress!, byteCount: length) }
        return true
    }

    @discardableResult
    func appendFork(pid: Int32, tid: Int32, parentTID: Int32) -> Bool {
        guard let p = reserve(.fork, 12) else { return false }
        p.storeBytes(of: pid, as: Int32.self)
        p.storeBytes(of: tid, toByteOffset: 4, as: Int32.self)
        p.storeBytes(of: parentTID, toByteOffset: 8, as: Int32.self)
        return true
    }

    @discardableResult
    func appendExit(pid: Int32, tid: Int32) -> Bool {
        guard let p = reserve(.exit, 8) else { return false }
        p.storeBytes(of: pid, as: Int32.self)
        p.storeBytes(of: tid, toByteOffset: 4, as: Int32.self)
        return true
    }

    /// Ends a tick's entries. Always fits: other entries leave room for it.
    func appendTick(_ tag: UInt64) {
        guard let p = reserve(.tick, 8) else { return }
        p.storeBytes(of: tag, as: UInt64.self)
    }

    /// Bytes a tick entry takes, kept free by the other entries.
    static let tickEntryBytes = 16

    enum Entry {
        case sample(PerfSample, group: UInt32)
        case comm(pid: Int32, tid: Int32, name: UnsafeRawBufferPointer)
        case fork(pid: Int32, tid: Int32, parentTID: Int32)
        case exit(pid: Int32, tid: Int32)
        case tick(UInt64)
    }

    /// Calls `body` with each entry in order (views valid during the call).
    func forEach(_ body: (Entry) -> Void) {
        var at = 0
        while at + 8 <= used {
            let h = storage + at
            let kind = h.load(as: UInt32.self)
            let size = Int(h.load(fromByteOffset: 4, as: UInt32.self))
            let p = UnsafeRawPointer(h + 8)
            switch Kind(rawValue: kind) {
            case .sample:
                let chain = Int(p.load(fromByteOffset: 20, as: UInt32.self)) * 8
                let regs = Int(p.load(fromByteOffset: 24, as: UInt32.self)) * 8
                let stack = Int(p.load(fromByteOffset: 28, as: UInt32.self))
                let sample = PerfSample(
                    pid: p.load(as: Int32.self), tid: p.load(fromByteOffset: 4, as: Int32.self),
                    time: p.load(fromByteOffset: 8, as: UInt64.self),
                    callchain: UnsafeRawBufferPointer(start: p + 32, count: chain),
                    registers: UnsafeRawBufferPointer(start: regs > 0 ? p + 32 + chain : nil, count: regs),
                    stack: UnsafeRawBufferPointer(start: stack > 0 ? p + 32 + chain + regs : nil, count: stack))
                body(.sample(sample, group: p.load(fromByteOffset: 16, as: UInt32.self)))
            case .comm:
                let length = Int(p.load(fromByteOffset: 8, as: UInt32.self))
                body(
                    .comm(
                        pid: p.load(as: Int32.self), tid: p.load(fromByteOffset: 4, as: Int32.self),
                        name: UnsafeRawBufferPointer(start: p + 12, count: length)))
            case .fork:
                body(
                    .fork(
                        pid: p.load(as: Int32.self), tid: p.load(fromByteOffset: 4, as: Int32.self),
                        parentTID: p.load(fromByteOffset: 8, as: Int32.self)))
            case .exit:
                body(.exit(pid: p.load(as: Int32.self), tid: p.load(fromByteOffset: 4, as: Int32.self)))
            case .tick:
                body(.tick(p.load(as: UInt64.self)))
            case nil:
                break
            }
            at += max(size, 8)
        }
    }
}
