import LookoutCore

/// Parsers of the text symbol sources: `/proc/kallsyms` and JIT perf maps.
enum SymbolSources {
    /// `/proc/kallsyms`: `ffffffff81000000 T _text` (and `\t[module]` after module symbols).
    /// Keeps text symbols (t, T, w, W) but the padding markers; addresses of 0 (hidden by
    /// kptr_restrict) are skipped, so a table from a restricted kallsyms is empty.
    static func kallsyms(_ bytes: [UInt8]) -> SymbolTable {
        // A plain loop over the bytes: the file has ~100 000 lines.
        var builder = SymbolTable.Builder()
        bytes.withUnsafeBufferPointer { b in
            guard let p = b.baseAddress else { return }
            let n = b.count
            var i = 0
            while i < n {
                // Address.
                var address: UInt64 = 0
                var digits = 0
                while i < n, let d = hexDigitValue(p[i]) {
                    address = address << 4 | UInt64(d)
                    digits += 1
                    i += 1
                }
                // ` T name` or ` t name\t[module]`.
                if digits > 0, digits <= 16, address != 0, i + 3 < n, p[i] == 32, p[i + 2] == 32 {
                    let type = p[i + 1]
                    let nameStart = i + 3
                    var j = nameStart
                    while j < n, p[j] != 10, p[j] != 9, p[j] != 32 { j += 1 }
                    let name = UnsafeRawBufferPointer(start: p + nameStart, count: j - nameStart)
                    // `__pfx_` and `__cfi_` mark the padding before each function (half the file).
                    let padding = name.starts(with: "__pfx_".utf8) || name.starts(with: "__cfi_".utf8)
                    switch type {
                    case _ where padding: break
                    case UInt8(ascii: "t"), UInt8(ascii: "T"), UInt8(ascii: "w"), UInt8(ascii: "W"):
                        builder.add(start: address, size: 0, name: name, rank: type == UInt8(ascii: "T") ? 1 : 0)
                    default: break
                    }
                    i = j
                }
                while i < n, p[i] != 10 { i += 1 }
                i += 1
            }
        }
        return builder.build()
    }

    /// A perf map (`/tmp/perf-PID.map`, written by `node --perf-basic-prof`, Java's
    /// perf-map-agent, Python 3.12's `-X perf`): `START SIZE name` per line, hexadecimal
    /// with or without `0x`; the name runs to the end of the line and may hold spaces.
    /// A later entry for the same start replaces an earlier one (JIT code is recompiled).
    static func perfMap(_ bytes: [UInt8]) -> SymbolTable {
        var builder = SymbolTable.Builder()
        bytes.withUnsafeBytes { b in
            // Later lines win: add them first with a higher rank.
            var lineNumber: UInt32 = 0
            var lines: [(UInt64, UInt64, UnsafeRawBufferPointer, UInt32)] = []
            forEachLine(b) { line in
                var fields = Fields(line)
                guard let start = fields.hex(), let size = fields.hex(), let name = fields.rest(), !name.isEmpty else { return }
                lineNumber += 1
                lines.append((start, size, name, lineNumber))
            }
            // The builder keeps the highest rank at one address; ranks are 8-bit, so order
            // duplicates by position first.
            lines.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.3 > $1.3 }
            var previous: UInt64?
            for (start, size, name, _) in lines where start != previous {
                builder.add(start: start, size: size, name: name)
                previous = start
            }
        }
        return builder.build()
    }

    private static func forEachLine(_ b: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Void) {
        var start = 0
        for i in 0...b.count where i == b.count || b[i] == UInt8(ascii: "\n") {
            if i > start { body(UnsafeRawBufferPointer(rebasing: b[start..<i])) }
            start = i + 1
        }
    }

    /// Space- or tab-separated fields of one line.
    private struct Fields {
        let line: UnsafeRawBufferPointer
        var at = 0

        init(_ line: UnsafeRawBufferPointer) { self.line = line }

        private static func isSpace(_ c: UInt8) -> Bool { c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") || c == UInt8(ascii: "\r") }

        mutating func next() -> UnsafeRawBufferPointer? {
            while at < line.count, Self.isSpace(line[at]) { at += 1 }
            let start = at
            while at < line.count, !Self.isSpace(line[at]) { at += 1 }
            return at > start ? UnsafeRawBufferPointer(rebasing: line[start..<at]) : nil
        }

        mutating func hex() -> UInt64? {
            guard var f = next() else { return nil }
            if f.count > 2, f[0] == UInt8(ascii: "0"), f[1] == UInt8(ascii: "x") || f[1] == UInt8(ascii: "X") {
                f = UnsafeRawBufferPointer(rebasing: f[2...])
            }
            return ProcessMaps.hex(f.assumingMemoryBound(to: UInt8.self))
        }

        /// The rest of the line after one separator run, trailing spaces removed.
        mutating func rest() -> UnsafeRawBufferPointer? {
            while at < line.count, Self.isSpace(line[at]) { at += 1 }
            var end = line.count
            while end > at, Self.isSpace(line[end - 1]) { end -= 1 }
            return end > at ? UnsafeRawBufferPointer(rebasing: line[at..<end]) : nil
        }
    }
}
