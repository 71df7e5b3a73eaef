import Testing

@testable import Stacks

/// The raw buffer between the sampler's tick and the stack processor.
@Suite struct RawStackBufferTests {
    /// A sample viewing `chain`, `registers` and `stack`.
    static func withSample<T>(
        pid: Int32, tid: Int32, chain: [UInt64], registers: [UInt64], stack: [UInt8], _ body: (PerfSample) -> T
    ) -> T {
        chain.withUnsafeBytes { c in
            registers.withUnsafeBytes { r in
                stack.withUnsafeBytes { s in
                    body(PerfSample(pid: pid, tid: tid, time: 42, callchain: c, registers: r, stack: s))
                }
            }
        }
    }

    @Test func entriesComeBackInOrderWithTheirBytes() {
        let buffer = RawStackBuffer(capacity: 1 << 16)
        let stack: [UInt8] = (0..<13).map { UInt8($0 * 3) }
        #expect(Self.withSample(pid: 7, tid: 8, chain: [1, 2, 3], registers: [9, 10], stack: stack) { buffer.append($0, group: 2) })
        #expect(Self.withSample(pid: 7, tid: 9, chain: [4], registers: [], stack: []) { buffer.append($0, group: 0) })
        let name = Array("worker-1".utf8)
        #expect(name.withUnsafeBytes { buffer.appendComm(pid: 7, tid: 9, name: $0) })
        #expect(buffer.appendFork(pid: 7, tid: 10, parentTID: 9))
        #expect(buffer.appendExit(pid: 7, tid: 10))
        buffer.appendTick(1234)
        #expect(buffer.samples == 2)
        #expect(buffer.used % 8 == 0)

        var seen: [String] = []
        buffer.forEach { entry in
            switch entry {
            case .sample(let s, let group):
                let chain = (0..<s.callchainCount).map { s.callchainEntry($0) }
                let registers = (0..<(s.registers.count / 8)).map { s.register($0) }
                seen.append("sample \(s.pid)/\(s.tid) t\(s.time) g\(group) \(chain) \(registers) \(Array(s.stack))")
            case .comm(let pid, let tid, let name):
                seen.append("comm \(pid)/\(tid) \(String(decoding: name, as: UTF8.self))")
            case .fork(let pid, let tid, let parent):
                seen.append("fork \(pid)/\(tid) from \(parent)")
            case .exit(let pid, let tid):
                seen.append("exit \(pid)/\(tid)")
            case .tick(let tag):
                seen.append("tick \(tag)")
            }
        }
        #expect(
            seen == [
                "sample 7/8 t42 g2 [1, 2, 3] [9, 10] \(stack)", "sample 7/9 t42 g0 [4] [] []", "comm 7/9 worker-1",
                "fork 7/10 from 9", "exit 7/10", "tick 1234",
            ])

        buffer.removeAll()
        #expect(buffer.isEmpty && buffer.samples == 0)
        var none = 0
        buffer.forEach { _ in none += 1 }
        #expect(none == 0)
    }

    @Test func aFullBufferRefusesSamplesButStillEndsTheTick() {
        let buffer = RawStackBuffer(capacity: 1 << 16)
        let stack = [UInt8](repeating: 1, count: 8000)
        var accepted = 0
        while Self.withSample(pid: 1, tid: 1, chain: [1], registers: [1], stack: stack, { buffer.append($0, group: 0) }) {
            accepted += 1
        }
        // 64 KiB hold 8 samples of ~8 KiB; the refused one left the buffer as it was.
        #expect(accepted == 8)
        #expect(buffer.samples == 8)
        let used = buffer.used
        #expect(!buffer.appendExit(pid: 1, tid: 1) || buffer.used == used + 16)
        buffer.appendTick(5)
        var ticks: [UInt64] = []
        buffer.forEach { if case .tick(let t) = $0 { ticks.append(t) } }
        #expect(ticks == [5])
        #expect(buffer.used <= buffer.capacity)
    }
}
