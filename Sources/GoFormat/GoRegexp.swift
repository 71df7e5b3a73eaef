import LookoutCore
/// Go's `regexp` as Prometheus uses it beyond label matchers: unanchored search, submatches,
/// `ReplaceAllString` and the `$1` / `${name}` expansion of templates (`label_replace`,
/// `reReplaceAll`, `match`). The expansion and replacement rules are Go's, written here;
/// only `RegexpEngine` below touches a regex engine, so changing the engine is one place.
public final class GoRegexp: @unchecked Sendable {
    // @unchecked: the engine holds an immutable compiled pattern.

    public struct SyntaxError: Error, Sendable, CustomStringConvertible {
        public let pattern: String
        public let reason: String
        public var description: String { "error parsing regexp: \(reason): `\(pattern)`" }
    }

    /// A match: UTF-8 byte ranges of the whole match (index 0) and each group (nil when
    /// the group did not take part).
    public struct Match: Sendable {
        public var groups: [Range<Int>?]
        /// The groups' names, "" for unnamed ones.
        public var names: [String]
    }

    public let pattern: String
    private let engine: RegexpEngine

    public init(_ pattern: String) throws(SyntaxError) {
        self.pattern = pattern
        engine = try RegexpEngine(pattern)
    }

    /// Go's `MatchString`: whether the pattern matches anywhere in `s`.
    public func matches(_ s: String) -> Bool { engine.match(Array(s.utf8), from: 0) != nil }

    /// Go's `FindStringSubmatchIndex`.
    public func firstMatch(in s: String) -> Match? {
        engine.match(Array(s.utf8), from: 0)
    }

    /// Go's `Regexp.ExpandString`: `template` with `$1`, `${1}`, `$name`, `${name}` replaced by
    /// the groups of `match` in `s` (a name is the longest run of letters, digits and `_`;
    /// unknown groups are empty; `$$` is `$`).
    public func expand(_ template: String, in s: String, match: Match) -> String {
        var out: [UInt8] = []
        expand(Array(template.utf8), Array(s.utf8), match, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Go's `ReplaceAllString`: every non-overlapping match replaced by the expanded
    /// template; an empty match right after a match is not replaced.
    public func replaceAll(in s: String, with template: String) -> String {
        let src = Array(s.utf8)
        let tmpl = Array(template.utf8)
        var out: [UInt8] = []
        var lastMatchEnd = 0
        var searchPos = 0
        while searchPos <= src.count {
            guard let m = engine.match(src, from: searchPos), let whole = m.groups[0] else { break }
            out += src[lastMatchEnd..<whole.lowerBound]
            if whole.upperBound > lastMatchEnd || whole.lowerBound == 0 {
                expand(tmpl, src, m, into: &out)
            }
            lastMatchEnd = whole.upperBound
            let width = searchPos < src.count ? Self.runeWidth(src, searchPos) : 0
            if searchPos + width > whole.upperBound {
                searchPos += width
            } else if searchPos + 1 > whole.upperBound {
                searchPos += 1
            } else {
                searchPos = whole.upperBound
            }
        }
        out += src[lastMatchEnd...]
        return String(decoding: out, as: UTF8.self)
    }

    static func runeWidth(_ b: [UInt8], _ i: Int) -> Int {
        let c = b[i]
        let n = c < 0x80 ? 1 : (c >> 5 == 0b110 ? 2 : (c >> 4 == 0b1110 ? 3 : (c >> 3 == 0b11110 ? 4 : 1)))
        return min(n, b.count - i)
    }

    private func expand(_ template: [UInt8], _ src: [UInt8], _ match: Match, into out: inout [UInt8]) {
        let groups = match.groups
        var t = template[...]
        while let dollar = t.firstIndex(of: UInt8(ascii: "$")) {
            out += t[t.startIndex..<dollar]
            t = t[(dollar + 1)...]
            if t.first == UInt8(ascii: "$") {
                out.append(UInt8(ascii: "$"))
                t = t.dropFirst()
                continue
            }
            guard let (name, num, rest) = Self.extract(t) else {
                out.append(UInt8(ascii: "$"))
                continue
            }
            t = rest
            if num >= 0 {
                if num < groups.count, let r = groups[num] { out += src[r] }
            } else {
                for (i, n) in match.names.enumerated() where n == name {
                    if i < groups.count, let r = groups[i] { out += src[r] }
                    break
                }
            }
        }
        out += t
    }

    /// Go's `extract`: a leading `name` or `{name}`; `num` is its value when it is a number
    /// (no leading zeros), -1 otherwise.
    private static func extract(_ s: ArraySlice<UInt8>) -> (String, Int, ArraySlice<UInt8>)? {
        var str = s
        guard !str.isEmpty else { return nil }
        let brace = str.first == UInt8(ascii: "{")
        if brace { str = str.dropFirst() }
        let text = String(decoding: str, as: UTF8.self)
        var nameEnd = text.startIndex
        for ch in text.unicodeScalars {
            guard ch.properties.isAlphabetic || ch.properties.numericType == .decimal || ch == "_" else { break }
            nameEnd = text.unicodeScalars.index(after: nameEnd)
        }
        let name = String(text[..<nameEnd])
        guard !name.isEmpty else { return nil }
        var consumed = name.utf8.count
        if brace {
            let after = str.index(str.startIndex, offsetBy: consumed)
            guard after < str.endIndex, str[after] == UInt8(ascii: "}") else { return nil }
            consumed += 1
        }
        var num = 0
        for b in name.utf8 {
            if b < 48 || b > 57 || num >= 100_000_000 {
                num = -1
                break
            }
            num = num * 10 + Int(b - 48)
        }
        if name.utf8.first == UInt8(ascii: "0") && name.utf8.count > 1 { num = -1 }
        return (name, num, str[str.index(str.startIndex, offsetBy: consumed)...])
    }
}

/// The regex engine behind `GoRegexp`: RE2 (linear time, Go's syntax), leftmost-first
/// search from a byte position, with group byte ranges.
struct RegexpEngine {
    private let regex: RE2Regex

    init(_ pattern: String) throws(GoRegexp.SyntaxError) {
        do {
            regex = try RE2Regex(pattern)
        } catch {
            throw GoRegexp.SyntaxError(pattern: pattern, reason: error.reason)
        }
    }

    /// The first match at or after byte `from` of `bytes`.
    func match(_ bytes: [UInt8], from: Int) -> GoRegexp.Match? {
        guard let m = regex.firstMatch(inUTF8: bytes, from: from) else { return nil }
        let groups = (0...regex.groupCount).map { m[$0] }
        let names = regex.groupNames.map { $0 ?? "" }
        return GoRegexp.Match(groups: groups, names: names)
    }
}
