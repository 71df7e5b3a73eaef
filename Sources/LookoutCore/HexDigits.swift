/// The value of an ASCII hexadecimal digit (`0-9`, `a-f`, `A-F`), or nil.
public func hexDigitValue(_ b: UInt8) -> UInt8? {
    switch b {
    case 48...57: return b - 48
    case 97...102: return b - 87
    case 65...70: return b - 55
    default: return nil
    }
}

/// The code point of a UTF-16 surrogate pair written as two `\u` escapes (JSON, YAML), or nil
/// when `high` and `low` are not a high and a low surrogate.
public func combinedSurrogates(high: UInt32, low: UInt32) -> UInt32? {
    guard (0xD800..<0xDC00).contains(high), (0xDC00..<0xE000).contains(low) else { return nil }
    return 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
}

/// The number written by `count` hexadecimal digits at `bytes[start...]` (the `\x`, `\u` and
/// `\U` escapes of JSON and Go strings), or nil when there are fewer or one is not a digit.
public func hexValue(_ bytes: [UInt8], from start: Int, count: Int) -> UInt32? {
    guard start >= 0, count <= 8, start + count <= bytes.count else { return nil }
    var v: UInt32 = 0
    for k in start..<(start + count) {
        guard let d = hexDigitValue(bytes[k]) else { return nil }
        v = v << 4 | UInt32(d)
    }
    return v
}
