/// Go's `strconv.Quote`: printable characters as they are, `"` and `\` escaped, the C
/// escapes for control characters, `\xHH` for other ASCII controls, `\uHHHH` /
/// `\UHHHHHHHH` for non-printable code points.
public func goQuoted(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
        let v = scalar.value
        switch v {
        case 0x22: out += "\\\""
        case 0x5C: out += "\\\\"
        case 0x07: out += "\\a"
        case 0x08: out += "\\b"
        case 0x0C: out += "\\f"
        case 0x0A: out += "\\n"
        case 0x0D: out += "\\r"
        case 0x09: out += "\\t"
        case 0x0B: out += "\\v"
        case 0x20...0x7E: out.unicodeScalars.append(scalar)
        case 0..<0x20, 0x7F: out += "\\x" + hex(v, 2)
        default:
            if isGoPrintable(scalar) {
                out.unicodeScalars.append(scalar)
            } else if v < 0x10000 {
                out += "\\u" + hex(v, 4)
            } else {
                out += "\\U" + hex(v, 8)
            }
        }
    }
    return out + "\""
}

/// Go's `unicode.IsPrint` for non-ASCII: letters, marks, numbers, punctuation and
/// symbols (spaces other than U+0020 are not printable).
private func isGoPrintable(_ s: Unicode.Scalar) -> Bool {
    switch s.properties.generalCategory {
    case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
        .nonspacingMark, .spacingMark, .enclosingMark,
        .decimalNumber, .letterNumber, .otherNumber,
        .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
        .initialPunctuation, .finalPunctuation, .otherPunctuation,
        .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol:
        return true
    default:
        return false
    }
}

private func hex(_ v: UInt32, _ width: Int) -> String {
    let h = String(v, radix: 16)
    return String(repeating: "0", count: max(0, width - h.count)) + h
}
