import GoFormat
import Series

/// promtool's notation for test series: `foo{a="1"}` for the labels and an expanding
/// list of values such as `0+10x100 _ 5 stale 1x3`.
public enum SeriesNotation {
    public struct Error: Swift.Error, Sendable, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    /// One value of a series description: a number, a staleness marker, or nothing.
    public enum Item: Sendable, Equatable {
        case value(Double)
        case stale
        case missing

        public static func == (a: Item, b: Item) -> Bool {
            switch (a, b) {
            case (.value(let x), .value(let y)): return x.bitPattern == y.bitPattern
            case (.stale, .stale), (.missing, .missing): return true
            default: return false
            }
        }
    }

    /// A metric in text form, `name{label="value", ...}` or `{__name__="name", ...}`, as
    /// Prometheus' `ParseMetric` reads it. The name becomes `__name__`.
    public static func parseMetric(_ text: String) throws(Error) -> Labels {
        let tokens: [Token]
        do {
            tokens = try Lexer.tokenize(text)
        } catch {
            throw Error(message: "\(error.message) in \"\(text)\"")
        }
        var i = 0
        var pairs: [(String, String)] = []
        var seen: Set<String> = []
        if tokens[i].kind == .identifier || tokens[i].kind == .metricIdentifier {
            pairs.append(("__name__", tokens[i].text))
            seen.insert("__name__")
            i += 1
        }
        if tokens[i].kind == .leftBrace {
            i += 1
            while tokens[i].kind != .rightBrace {
                guard tokens[i].kind == .identifier, tokens[i + 1].kind == .assign, tokens[i + 2].kind == .string else {
                    throw Error(message: "invalid label matcher in \"\(text)\": expected name=\"value\"")
                }
                let name = tokens[i].text
                guard seen.insert(name).inserted else {
                    throw Error(message: "duplicate label \"\(name)\" in \"\(text)\"")
                }
                // An empty value is no label at all, as in Prometheus.
                if !tokens[i + 2].text.isEmpty { pairs.append((name, tokens[i + 2].text)) }
                i += 3
                if tokens[i].kind == .comma {
                    i += 1
                } else if tokens[i].kind != .rightBrace {
                    throw Error(message: "unexpected \"\(tokens[i].text)\" in \"\(text)\"")
                }
            }
            i += 1
        }
        guard tokens[i].kind == .eof else { throw Error(message: "unexpected \"\(tokens[i].text)\" in \"\(text)\"") }
        guard !pairs.isEmpty || text.contains("{") else { throw Error(message: "no metric in \"\(text)\"") }
        return Labels(pairs)
    }

    /// Expands a values string: `a+bxn` is a, a+b, ... (n further values, each the previous
    /// plus b), `axn` is n+1 times a, `_` is a missing sample, `_xn` n missing samples,
    /// `stale` a staleness marker.
    public static func parseValues(_ text: String) throws(Error) -> [Item] {
        var out: [Item] = []
        for word in text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }) {
            try expand(String(word), into: &out)
        }
        return out
    }

    private static func expand(_ word: String, into out: inout [Item]) throws(Error) {
        let b = Array(word.utf8)
        func fail() -> Error { Error(message: "invalid series value \"\(word)\"") }
        if word == "stale" {
            out.append(.stale)
            return
        }
        if b.first == UInt8(ascii: "_") {
            if b.count == 1 {
                out.append(.missing)
                return
            }
            guard b.count > 2, b[1] == UInt8(ascii: "x"), let n = Int(String(decoding: b[2...], as: UTF8.self)) else { throw fail() }
            for _ in 0..<n { out.append(.missing) }
            return
        }
        var i = 0
        guard let start = number(b, &i) else { throw fail() }
        if i == b.count {
            out.append(.value(start))
            return
        }
        var step = 0.0
        if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
            guard let s = number(b, &i) else { throw fail() }
            step = s
        }
        guard i < b.count, b[i] == UInt8(ascii: "x"), let n = Int(String(decoding: b[(i + 1)...], as: UTF8.self)), n >= 0
        else { throw fail() }
        var v = start
        out.append(.value(v))
        if n > 0 {
            for _ in 1...n {
                v += step
                out.append(.value(v))
            }
        }
    }

    /// A signed number at `i` (decimal, exponent, Inf, NaN); advances `i` past it.
    private static func number(_ b: [UInt8], _ i: inout Int) -> Double? {
        let start = i
        if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
        let rest = String(decoding: b[i...], as: UTF8.self).lowercased()
        for word in ["inf", "nan"] where rest.hasPrefix(word) {
            i += 3
            return GoFloat.parse(String(decoding: b[start..<i], as: UTF8.self))
        }
        let digitsStart = i
        // No hexadecimal here: `0+0x5` is 0 plus 0 five times (Prometheus turns hex off too).
        while i < b.count, (b[i] >= 48 && b[i] <= 57) || b[i] == UInt8(ascii: ".") { i += 1 }
        if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
            var k = i + 1
            if k < b.count, b[k] == UInt8(ascii: "+") || b[k] == UInt8(ascii: "-") { k += 1 }
            if k < b.count, b[k] >= 48 && b[k] <= 57 {
                i = k
                while i < b.count, b[i] >= 48 && b[i] <= 57 { i += 1 }
            }
        }
        guard i > digitsStart else { return nil }
        return GoFloat.parse(String(decoding: b[start..<i], as: UTF8.self))
    }
}
