/// Brendan Gregg's folded stacks: one line per stack, frames root first separated by `;`,
/// then a space and the number of samples:
///
///     api;pid 4242;worker-1;futex_wait_queue 12
///
/// The number is the sample count, not nanoseconds: flamegraph.pl, inferno and speedscope
/// read it as a count of samples and say so in their tooltips, and with a fixed sampling
/// frequency counts already weigh stacks by time. The exact on-CPU nanoseconds are in the
/// pprof output.
enum FoldedEncoder {
    static func encode(_ a: ProfileAggregate) -> String {
        // Threads of one name in one process fold into one line, as they would in perf.
        var lines: [String: Int64] = [:]
        lines.reserveCapacity(a.stacks.count)
        for (frames, count) in rootFirstStacks(a) {
            lines[frames.map(frame).joined(separator: ";"), default: 0] += count
        }
        return render(lines)
    }

    /// Each stack root first: the group, `pid N`, the thread name, then its frames.
    static func rootFirstStacks(_ a: ProfileAggregate) -> [(frames: [String], count: Int64)] {
        a.stacks.map { key, values in
            var frames = [a.strings[key.group], ProfileAggregate.processFrame(key.pid), a.strings[key.thread]]
            for f in a.leafFrames(key).reversed() { frames.append(a.strings[f]) }
            return (frames, values.count)
        }
    }

    /// `stack count` lines, sorted by stack.
    static func render(_ lines: [String: Int64]) -> String {
        var out = ""
        for (stack, count) in lines.sorted(by: { $0.key < $1.key }) {
            out += stack
            out += " "
            out += String(count)
            out += "\n"
        }
        return out
    }

    /// A frame may not hold the separator or a line break (thread names are set by the
    /// program and may hold anything): `;` becomes `:`, control characters a space.
    static func frame(_ name: String) -> String {
        guard name.utf8.contains(where: { $0 == UInt8(ascii: ";") || $0 < 0x20 || $0 == 0x7f }) else { return name }
        return String(
            decoding: name.utf8.map { b -> UInt8 in
                if b == UInt8(ascii: ";") { return UInt8(ascii: ":") }
                if b < 0x20 || b == 0x7f { return UInt8(ascii: " ") }
                return b
            }, as: UTF8.self)
    }
}
