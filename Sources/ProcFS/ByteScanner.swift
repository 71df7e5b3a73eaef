/// A cursor over the bytes of one /proc file. /proc files are ASCII tables of
/// decimal numbers; this reads them without building strings or arrays.
struct ByteScanner {
    let bytes: UnsafeRawBufferPointer
    var position: Int

    init(_ bytes: UnsafeRawBufferPointer, from position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    var isAtEnd: Bool { position >= bytes.count }

    var peek: UInt8? { position < bytes.count ? bytes[position] : nil }

    /// Skips spaces and tabs (not newlines).
    mutating func skipBlanks() {
        while position < bytes.count, bytes[position] == 32 || bytes[position] == 9 { position += 1 }
    }

    /// Skips spaces, tabs and newlines.
    mutating func skipWhitespace() {
        while position < bytes.count, bytes[position] == 32 || bytes[position] == 9 || bytes[position] == 10 {
            position += 1
        }
    }

    /// Moves past the next newline (or to the end).
    mutating func skipLine() {
        while position < bytes.count, bytes[position] != 10 { position += 1 }
        if position < bytes.count { position += 1 }
    }

    /// Whether the cursor is at the end of a line (newline or end of input), after blanks.
    mutating func atEndOfLine() -> Bool {
        skipBlanks()
        return position >= bytes.count || bytes[position] == 10
    }

    /// A decimal number after optional blanks; nil when there is none or it overflows.
    mutating func unsigned() -> UInt64? {
        skipBlanks()
        var value: UInt64 = 0
        var digits = 0
        while position < bytes.count {
            let b = bytes[position]
            guard b >= 48 && b <= 57 else { break }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(b - 48))
            if o1 || o2 { return nil }
            value = a
            digits += 1
            position += 1
        }
        return digits > 0 ? value : nil
    }

    /// A decimal number with an optional sign.
    mutating func signed() -> Int64? {
        skipBlanks()
        var negative = false
        if position < bytes.count, bytes[position] == 45 || bytes[position] == 43 {
            negative = bytes[position] == 45
            position += 1
        }
        guard let magnitude = unsigned() else { return nil }
        if negative {
            return magnitude <= UInt64(Int64.max) + 1 ? Int64(truncatingIfNeeded: 0 &- magnitude) : nil
        }
        return magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil
    }

    /// A decimal fraction like `0.32` or `12` (PSI averages).
    mutating func decimal() -> Double? {
        skipBlanks()
        guard let whole = unsigned() else { return nil }
        var value = Double(whole)
        if position < bytes.count, bytes[position] == 46 {
            position += 1
            var scale = 0.1
            var digits = 0
            while position < bytes.count, bytes[position] >= 48, bytes[position] <= 57 {
                value += Double(bytes[position] - 48) * scale
                scale /= 10
                digits += 1
                position += 1
            }
            if digits == 0 { return nil }
        }
        return value
    }

    /// The next run of non-blank, non-newline bytes (may be empty).
    mutating func word() -> Range<Int> {
        skipBlanks()
        let start = position
        while position < bytes.count {
            let b = bytes[position]
            if b == 32 || b == 9 || b == 10 { break }
            position += 1
        }
        return start..<position
    }

    /// The rest of the current line, without the newline; moves past it.
    mutating func restOfLine() -> Range<Int> {
        let start = position
        while position < bytes.count, bytes[position] != 10 { position += 1 }
        let r = start..<position
        if position < bytes.count { position += 1 }
        return r
    }

    /// Consumes `byte` if it is next.
    mutating func consume(_ byte: UInt8) -> Bool {
        if position < bytes.count, bytes[position] == byte {
            position += 1
            return true
        }
        return false
    }

    func equals(_ range: Range<Int>, _ literal: StaticString) -> Bool {
        guard range.count == literal.utf8CodeUnitCount else { return false }
        let p = literal.utf8Start
        for (i, at) in range.enumerated() where bytes[at] != p[i] { return false }
        return true
    }

    func hasPrefix(_ range: Range<Int>, _ literal: StaticString) -> Bool {
        guard range.count >= literal.utf8CodeUnitCount else { return false }
        let p = literal.utf8Start
        for i in 0..<literal.utf8CodeUnitCount where bytes[range.lowerBound + i] != p[i] { return false }
        return true
    }

    func string(_ range: Range<Int>) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }

    func malformed(_ reason: String) -> ProcFSError {
        ProcFSError.malformed(reason, bytes, at: position)
    }
}

extension UnsafeRawBufferPointer {
    /// The content without one trailing newline.
    var trimmingNewline: UnsafeRawBufferPointer {
        var n = count
        while n > 0, self[n - 1] == 10 { n -= 1 }
        return UnsafeRawBufferPointer(rebasing: self[0..<n])
    }
}

/// Runs a parser over an array's bytes (tests and one-shot reads).
@inlinable
public func withBytes<T>(_ bytes: [UInt8], _ body: (UnsafeRawBufferPointer) throws(ProcFSError) -> T) throws(ProcFSError) -> T {
    // withUnsafeBytes rethrows untyped errors; keep the typed error across it.
    let result: Result<T, ProcFSError> = bytes.withUnsafeBytes { raw in
        do throws(ProcFSError) { return .success(try body(raw)) } catch { return .failure(error) }
    }
    return try result.get()
}
