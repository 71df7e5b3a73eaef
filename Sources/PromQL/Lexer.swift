import GoFormat

/// A span of an expression's text, as UTF-8 byte offsets (`start` inclusive, `end` exclusive).
/// Rule loaders add these to the position of the expression in its file.
public struct PositionRange: Hashable, Sendable, CustomStringConvertible {
    public var start: Int
    public var end: Int

    public init(start: Int, end: Int) {
        self.start = start
        self.end = end
    }

    public static func + (a: PositionRange, b: PositionRange) -> PositionRange {
        PositionRange(start: Swift.min(a.start, b.start), end: Swift.max(a.end, b.end))
    }

    public var description: String { "\(start):\(end)" }
}

/// A token of PromQL text.
struct Token: Sendable {
    enum Kind: Equatable, Sendable {
        case identifier  // foo, rate, by, ... (keywords are identifiers the parser recognises)
        case metricIdentifier  // a name with a colon, e.g. job:requests:rate5m
        case number
        case duration
        case string
        case leftParen, rightParen, leftBrace, rightBrace, leftBracket, rightBracket
        case comma, assign, colon, at
        case eql, neq, lss, lte, gtr, gte, eqlRegex, neqRegex
        case add, sub, mul, div, mod, pow
        case eof
    }

    var kind: Kind
    /// The token's text; for strings, the unquoted value.
    var text: String
    var range: PositionRange
}

/// Splits PromQL text into tokens. Keywords are left as identifiers: which words are
/// keywords depends on where they stand (`by` is a label name inside braces).
struct Lexer {
    let bytes: [UInt8]
    var i = 0

    init(_ text: String) {
        bytes = Array(text.utf8)
    }

    struct LexError: Error {
        let message: String
        let range: PositionRange
    }

    static func tokenize(_ text: String) throws(LexError) -> [Token] {
        var lexer = Lexer(text)
        var out: [Token] = []
        while true {
            let t = try lexer.next()
            out.append(t)
            if t.kind == .eof { return out }
        }
    }

    private func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }
    private func isAlpha(_ b: UInt8) -> Bool { (b >= 97 && b <= 122) || (b >= 65 && b <= 90) || b == 95 }
    private func isAlnum(_ b: UInt8) -> Bool { isAlpha(b) || isDigit(b) }
    private func peek(_ k: Int = 0) -> UInt8? { i + k < bytes.count ? bytes[i + k] : nil }

    private func text(_ from: Int, _ to: Int) -> String { String(decoding: bytes[from..<to], as: UTF8.self) }

    mutating func next() throws(LexError) -> Token {
        // Whitespace and comments.
        while let b = peek() {
            if b == 32 || b == 9 || b == 10 || b == 13 {
                i += 1
            } else if b == UInt8(ascii: "#") {
                while let c = peek(), c != 10 { i += 1 }
            } else {
                break
            }
        }
        let start = i
        guard let b = peek() else { return Token(kind: .eof, text: "", range: PositionRange(start: i, end: i)) }
        func single(_ kind: Token.Kind, _ n: Int = 1) -> Token {
            i += n
            return Token(kind: kind, text: text(start, i), range: PositionRange(start: start, end: i))
        }
        switch b {
        case UInt8(ascii: "("): return single(.leftParen)
        case UInt8(ascii: ")"): return single(.rightParen)
        case UInt8(ascii: "{"): return single(.leftBrace)
        case UInt8(ascii: "}"): return single(.rightBrace)
        case UInt8(ascii: "["): return single(.leftBracket)
        case UInt8(ascii: "]"): return single(.rightBracket)
        case UInt8(ascii: ","): return single(.comma)
        case UInt8(ascii: ":"): return single(.colon)
        case UInt8(ascii: "@"): return single(.at)
        case UInt8(ascii: "+"): return single(.add)
        case UInt8(ascii: "-"): return single(.sub)
        case UInt8(ascii: "*"): return single(.mul)
        case UInt8(ascii: "/"): return single(.div)
        case UInt8(ascii: "%"): return single(.mod)
        case UInt8(ascii: "^"): return single(.pow)
        case UInt8(ascii: "="):
            if peek(1) == UInt8(ascii: "=") { return single(.eql, 2) }
            if peek(1) == UInt8(ascii: "~") { return single(.eqlRegex, 2) }
            return single(.assign)
        case UInt8(ascii: "!"):
            if peek(1) == UInt8(ascii: "=") { return single(.neq, 2) }
            if peek(1) == UInt8(ascii: "~") { return single(.neqRegex, 2) }
            throw LexError(message: "unexpected character after '!': expected '=' or '~'", range: PositionRange(start: i, end: i + 1))
        case UInt8(ascii: "<"):
            if peek(1) == UInt8(ascii: "=") { return single(.lte, 2) }
            return single(.lss)
        case UInt8(ascii: ">"):
            if peek(1) == UInt8(ascii: "=") { return single(.gte, 2) }
            return single(.gtr)
        case UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: "`"):
            return try string()
        default:
            break
        }
        if isDigit(b) || (b == UInt8(ascii: ".") && peek(1).map(isDigit) == true) {
            return try numberOrDuration()
        }
        if isAlpha(b) || b == UInt8(ascii: ":") {
            var colon = false
            while let c = peek(), isAlnum(c) || c == UInt8(ascii: ":") {
                if c == UInt8(ascii: ":") { colon = true }
                i += 1
            }
            let word = text(start, i)
            // Inf and NaN are numbers wherever they stand, as in Prometheus.
            let lower = word.lowercased()
            if !colon && (lower == "inf" || lower == "nan") {
                return Token(kind: .number, text: word, range: PositionRange(start: start, end: i))
            }
            return Token(kind: colon ? .metricIdentifier : .identifier, text: word, range: PositionRange(start: start, end: i))
        }
        let scalar = String(decoding: bytes[i..<Swift.min(bytes.count, i + 4)], as: UTF8.self).first.map { String($0) } ?? "?"
        throw LexError(message: "unexpected character: \"\(scalar)\"", range: PositionRange(start: i, end: i + 1))
    }

    /// Numbers as Prometheus reads them: decimal, hexadecimal, exponents; durations are a
    /// number followed by units (`5m`, `1h30m`).
    private mutating func numberOrDuration() throws(LexError) -> Token {
        let start = i
        // A duration: digits followed by a unit letter.
        var j = i
        while j < bytes.count, isDigit(bytes[j]) { j += 1 }
        if j > i, j < bytes.count, "smhdwy".utf8.contains(bytes[j]) {
            while i < bytes.count, isDigit(bytes[i]) || "smhdwy".utf8.contains(bytes[i]) { i += 1 }
            if let c = peek(), isAlnum(c) || c == UInt8(ascii: ".") {
                throw LexError(message: "bad number or duration syntax: \"\(text(start, i + 1))\"", range: PositionRange(start: start, end: i + 1))
            }
            return Token(kind: .duration, text: text(start, i), range: PositionRange(start: start, end: i))
        }
        if peek() == UInt8(ascii: "0"), let x = peek(1), x == UInt8(ascii: "x") || x == UInt8(ascii: "X") {
            i += 2
            while let c = peek(), isDigit(c) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70) { i += 1 }
        } else {
            while let c = peek(), isDigit(c) { i += 1 }
            if peek() == UInt8(ascii: ".") {
                i += 1
                while let c = peek(), isDigit(c) { i += 1 }
            }
            if let e = peek(), e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
                var k = i + 1
                if k < bytes.count, bytes[k] == UInt8(ascii: "+") || bytes[k] == UInt8(ascii: "-") { k += 1 }
                if k < bytes.count, isDigit(bytes[k]) {
                    i = k
                    while let c = peek(), isDigit(c) { i += 1 }
                }
            }
        }
        if let c = peek(), isAlnum(c) || c == UInt8(ascii: ".") {
            throw LexError(message: "bad number or duration syntax: \"\(text(start, i + 1))\"", range: PositionRange(start: start, end: i + 1))
        }
        return Token(kind: .number, text: text(start, i), range: PositionRange(start: start, end: i))
    }

    /// A string in any of PromQL's quotes, read as Go reads string literals.
    private mutating func string() throws(LexError) -> Token {
        let start = i
        do {
            let (value, end) = try GoStringLiteral.read(bytes, at: start)
            i = end
            return Token(kind: .string, text: value, range: PositionRange(start: start, end: end))
        } catch {
            throw LexError(message: error.message, range: PositionRange(start: error.start, end: error.end))
        }
    }
}
