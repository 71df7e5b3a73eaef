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
