import LookoutCore

/// Reading quoted string literals the way Go's `strconv.Unquote` does (PromQL strings and
/// template strings), or with the lenient escapes of Alertmanager's matcher values.
public enum GoStringLiteral {
    /// Which backslash escapes a literal knows.
    public enum Escapes: Sendable, Hashable {
        /// Go's: `\a \b \f \n \r \t \v \\`, the literal's own quote, `\xHH`, `\uHHHH`,
        /// `\UHHHHHHHH`, octal `\NNN`; anything else is an error. Literals open with `"` or `'`
        /// (one line) or a backquote (raw: no escapes, newlines allowed).
        case go
        /// Alertmanager's matcher values: `\n`, `\t`, `\"`, `\\`; any other backslash is kept as
        /// it is (regexes keep `\.` and `\d`). Literals open with `"`.
        case alertmanager
    }

    public struct Error: Swift.Error, Sendable, Hashable, CustomStringConvertible {
        public enum Kind: Sendable, Hashable {
            case unterminated, unknownEscape, invalidEscape, invalidCodePoint
        }

        public var kind: Kind
        /// UTF-8 offsets of what is wrong: the escape, or for `unterminated` the literal from its
        /// opening quote to where the text or the line ended.
        public var start: Int
        public var end: Int

        public var message: String {
            switch kind {
            case .unterminated: return "unterminated quoted string"
            case .unknownEscape: return "unknown escape sequence"
            case .invalidEscape: return "invalid escape sequence"
            case .invalidCodePoint: return "invalid Unicode code point in escape sequence"
            }
        }

        public var description: String { message }
    }

    /// Reads the literal whose opening quote is `bytes[start]`. Returns its value and the
    /// offset just after the closing quote.
    public static func read(_ bytes: [UInt8], at start: Int, escapes: Escapes = .go) throws(Error) -> (value: String, end: Int) {
        let quote = bytes[start]
        let raw = escapes == .go && quote == UInt8(ascii: "`")
        let oneLine = escapes == .go && !raw
        var out: [UInt8] = []
        var i = start + 1
        while true {
            guard i < bytes.count else { throw Error(kind: .unterminated, start: start, end: i) }
            let c = bytes[i]
            if c == quote { return (String(decoding: out, as: UTF8.self), i + 1) }
            if oneLine && c == 10 { throw Error(kind: .unterminated, start: start, end: i) }
            guard c == UInt8(ascii: "\\") && !raw else {
                out.append(c)
                i += 1
                continue
            }
            guard i + 1 < bytes.count else {
                if escapes == .go { throw Error(kind: .unterminated, start: start, end: i + 1) }
                out.append(c)
                i += 1
                continue
            }
            i = try escape(bytes, at: i, quote: quote, escapes: escapes, into: &out)
        }
    }

    /// Appends the value of the escape whose backslash is `bytes[i]` (a character follows it);
    /// returns the offset after the escape.
    private static func escape(_ bytes: [UInt8], at i: Int, quote: UInt8, escapes: Escapes, into out: inout [UInt8])
        throws(Error) -> Int
    {
        let e = bytes[i + 1]
        if let v = simpleEscape(e, escapes) {
            out.append(v)
            return i + 2
        }
        if escapes == .alertmanager {
            out.append(UInt8(ascii: "\\"))
            out.append(e)
            return i + 2
        }
        switch e {
        case UInt8(ascii: "\""), UInt8(ascii: "'"):
            guard e == quote else { throw Error(kind: .unknownEscape, start: i, end: i + 2) }
            out.append(e)
            return i + 2
        case UInt8(ascii: "x"), UInt8(ascii: "u"), UInt8(ascii: "U"):
            let n = e == UInt8(ascii: "x") ? 2 : (e == UInt8(ascii: "u") ? 4 : 8)
            guard let v = hexValue(bytes, from: i + 2, count: n) else {
                throw Error(kind: .invalidEscape, start: i, end: i + 2)
            }
            if e == UInt8(ascii: "x") {
                out.append(UInt8(v))
            } else {
                guard let scalar = Unicode.Scalar(v) else {
                    throw Error(kind: .invalidCodePoint, start: i, end: i + 2 + n)
                }
                UTF8.encode(scalar) { out.append($0) }
            }
            return i + 2 + n
        case UInt8(ascii: "0")...UInt8(ascii: "7"):
            var v: UInt32 = 0
            for k in 1...3 {
                guard i + k < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(bytes[i + k]) else {
                    throw Error(kind: .invalidEscape, start: i, end: i + 2)
                }
                v = v << 3 | UInt32(bytes[i + k] - UInt8(ascii: "0"))
            }
            guard v < 256 else { throw Error(kind: .invalidEscape, start: i, end: i + 2) }
            out.append(UInt8(v))
            return i + 4
        default:
            throw Error(kind: .unknownEscape, start: i, end: i + 2)
        }
    }

    /// The byte a one-letter escape stands for (Go's quotes depend on the literal: read apart).
    private static func simpleEscape(_ e: UInt8, _ escapes: Escapes) -> UInt8? {
        switch e {
        case UInt8(ascii: "n"): return 10
        case UInt8(ascii: "t"): return 9
        case UInt8(ascii: "\\"): return 92
        case UInt8(ascii: "\""): return escapes == .alertmanager ? 34 : nil
        default: break
        }
        guard escapes == .go else { return nil }
        switch e {
        case UInt8(ascii: "a"): return 7
        case UInt8(ascii: "b"): return 8
        case UInt8(ascii: "f"): return 12
        case UInt8(ascii: "r"): return 13
        case UInt8(ascii: "v"): return 11
        default: return nil
        }
    }
}
