import CRE2

/// A regular expression compiled by RE2, in the syntax of Go's `regexp` (which Prometheus and
/// Alertmanager use): matching takes time linear in the text, whatever the pattern, because
/// RE2 never backtracks. Patterns Go refuses are refused here too (see `GoRegexSyntax`), so
/// a file lookout loads also loads in Prometheus.
///
/// `.` does not match `\n` unless the pattern says `(?s)`; `^` and `$` match at the ends of the
/// text unless it says `(?m)`; matching is leftmost-first, as in Go (not leftmost-longest).
/// Offsets are byte offsets in the text's UTF-8. Immutable; match from any thread.
public final class RE2Regex: Sendable, Hashable, CustomStringConvertible {
    public struct SyntaxError: Error, CustomStringConvertible, Sendable, Equatable {
        public let pattern: String
        public let reason: String
        public var description: String { "invalid regex \"\(pattern)\": \(reason)" }

        public init(pattern: String, reason: String) {
            self.pattern = pattern
            self.reason = reason
        }
    }

    /// RE2's memory budget for one regex: its compiled program and the DFA caches a search
    /// fills. 8 MiB (programs up to some 500,000 instructions: an alternation of 5,000 host
    /// names, `\pL{400}`), or 64 bytes per byte of a longer pattern, whose program grows with it
    /// (by some 32 bytes of budget per byte): a pattern that expands far beyond its length
    /// (`\pL{1000}`, which Go takes) is refused.
    /// A DFA that fills its share starts over, and RE2 falls back to its NFA (slower, still
    /// linear) when that happens often, so no text can make a regex take more.
    public static func defaultMaxMemory(patternLength: Int) -> Int { max(8 << 20, 64 * patternLength) }

    /// How `init` checks a pattern before RE2 sees it.
    enum SyntaxCheck {
        /// As Go's `regexp.Compile(pattern)`.
        case plain
        /// As Prometheus' label matchers: `^(?:pattern)$` must compile too.
        case anchored
    }

    public let pattern: String
    /// The number of capturing groups (the whole match, group 0, is not counted).
    public let groupCount: Int
    /// Group names by group index; nil for the whole match (index 0) and unnamed groups.
    public let groupNames: [String?]
    nonisolated(unsafe) private let handle: OpaquePointer  // RE2 matches from any thread; never mutated

    /// `maxMemory` defaults to `defaultMaxMemory(patternLength:)`.
    public convenience init(_ pattern: String, maxMemory: Int? = nil) throws(SyntaxError) {
        try self.init(utf8: Array(pattern.utf8), maxMemory: maxMemory, check: .plain)
    }

    /// A pattern given as bytes, which need not be valid UTF-8 (a PromQL string may hold
    /// `\xff`): invalid UTF-8 is refused, as Go refuses it.
    public convenience init(utf8 pattern: [UInt8], maxMemory: Int? = nil) throws(SyntaxError) {
        try self.init(utf8: pattern, maxMemory: maxMemory, check: .plain)
    }

    init(utf8 pattern: [UInt8], maxMemory: Int?, check: SyntaxCheck) throws(SyntaxError) {
        let text = String(decoding: pattern, as: UTF8.self)
        if let reason = GoRegexSyntax.refusal(pattern, anchored: check == .anchored) {
            throw SyntaxError(pattern: text, reason: reason)
        }
        let memory = Int64(maxMemory ?? Self.defaultMaxMemory(patternLength: pattern.count))
        var error: UnsafeMutablePointer<CChar>?
        let compiled = pattern.withUnsafeBytes { lookout_re2_compile($0.baseAddress, $0.count, memory, &error) }
        guard let compiled else {
            let reason = error.map { String(cString: $0) } ?? "cannot compile"
            lookout_re2_free_error(error)
            throw SyntaxError(pattern: text, reason: reason)
        }
        let count = Int(lookout_re2_group_count(compiled))
        var names: [String?] = [nil]
        for i in 0..<count {
            let name = lookout_re2_group_name(compiled, Int32(i + 1)).map { String(cString: $0) }
            if let name, !GoRegexSyntax.isValidGroupName(name) {
                lookout_re2_free(compiled)
                throw SyntaxError(pattern: text, reason: "invalid named capture group: (?P<\(name)>")
            }
            names.append(name)
        }
        self.pattern = text
        self.handle = compiled
        self.groupCount = count
        self.groupNames = names
    }

    deinit { lookout_re2_free(handle) }

    // MARK: Matching

    /// Whether the whole text matches (Go: `^(?:pattern)$` finds a match).
    public func wholeMatch(_ text: String) -> Bool {
        withUTF8(text) { lookout_re2_match(handle, $0.baseAddress, $0.count, 0, LOOKOUT_RE2_ANCHOR_BOTH) }
    }

    /// Whether a match occurs anywhere in the text (Go: `MatchString`).
    public func search(_ text: String) -> Bool {
        withUTF8(text) { lookout_re2_match(handle, $0.baseAddress, $0.count, 0, LOOKOUT_RE2_UNANCHORED) }
    }

    /// The leftmost match and its groups (Go: `FindStringSubmatchIndex`).
    public func firstMatch(in text: String) -> RE2Match? {
        withUTF8(text) { match(in: $0, from: 0, groups: groupCount + 1) }
    }

    /// The leftmost match at or after byte `from` of `bytes`, and its groups.
    public func firstMatch(inUTF8 bytes: [UInt8], from: Int) -> RE2Match? {
        guard from <= bytes.count else { return nil }
        return bytes.withUnsafeBufferPointer { match(in: $0, from: from, groups: groupCount + 1) }
    }

    /// `template` with `$1`, `${1}`, `$name`, `${name}` replaced by the groups of `match`
    /// (a match of this regex in `text`), by the rules of Go's `Regexp.Expand`: a name is the
    /// longest run of letters, digits and `_` (`$1x` is the group named `1x`), a number is a
    /// group index, an unknown or unmatched group is empty, `$$` is `$`, and a `$` that starts
    /// no name is kept as it is.
    public func expand(_ template: String, match: RE2Match, in text: String) -> String {
        var out: [UInt8] = []
        withUTF8(text) { src in
            out.reserveCapacity(template.utf8.count)
            GoExpand.expand(Array(template.utf8), into: &out, source: src, groups: match.offsets, names: groupNames)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Every non-overlapping match in `text` replaced by `template` expanded as by `expand`
    /// (Go: `ReplaceAllString`; an empty match right after a match is not replaced).
    public func replacingAll(in text: String, with template: String) -> String {
        let t = Array(template.utf8)
        let expands = t.contains(UInt8(ascii: "$"))
        var out: [UInt8] = []
        withUTF8(text) { src in
            var lastEnd = 0
            var searchPos = 0
            while searchPos <= src.count {
                guard let m = match(in: src, from: searchPos, groups: expands ? groupCount + 1 : 1) else { break }
                let (start, end) = (m.offsets[0], m.offsets[1])
                out.append(contentsOf: src[lastEnd..<start])
                if end > lastEnd || start == 0 {
                    if expands {
                        GoExpand.expand(t, into: &out, source: src, groups: m.offsets, names: groupNames)
                    } else {
                        out.append(contentsOf: t)
                    }
                }
                lastEnd = end
                // Advance past this match, and at least one character.
                let width = searchPos < src.count ? GoExpand.utf8Width(src[searchPos]) : 0
                if searchPos + width > end {
                    searchPos += width
                } else if searchPos + 1 > end {
                    searchPos += 1
                } else {
                    searchPos = end
                }
            }
            out.append(contentsOf: src[lastEnd...])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// A match starting at or after byte `from` of `text` (the bytes before it are context for
    /// `^` and `\b`), with the first `groups` groups (at least 1: the whole match).
    func match(in text: UnsafeBufferPointer<UInt8>, from: Int, groups: Int) -> RE2Match? {
        var offsets = [Int](repeating: -1, count: 2 * groups)
        let found = offsets.withUnsafeMutableBufferPointer { o in
            lookout_re2_match_groups(
                handle, text.baseAddress, text.count, from, LOOKOUT_RE2_UNANCHORED, o.baseAddress, Int32(groups))
        }
        return found ? RE2Match(offsets: offsets) : nil
    }

    public var description: String { pattern }

    public static func == (a: RE2Regex, b: RE2Regex) -> Bool { UTF8Key(a.pattern) == UTF8Key(b.pattern) }
    public func hash(into h: inout Hasher) { h.combine(UTF8Key(pattern)) }
}

/// Where a match and its groups lie in the searched text: UTF-8 byte offsets.
public struct RE2Match: Sendable, Hashable {
    /// Begin and end of group 0 (the whole match), group 1, ...; -1, -1 for a group that
    /// took no part in the match.
    public let offsets: [Int]

    /// The byte range of the whole match.
    public var range: Range<Int> { offsets[0]..<offsets[1] }

    /// The byte range of group `i`; nil when it took no part or the regex has no such group.
    public subscript(i: Int) -> Range<Int>? {
        guard i >= 0, 2 * i + 1 < offsets.count, offsets[2 * i] >= 0 else { return nil }
        return offsets[2 * i]..<offsets[2 * i + 1]
    }

    /// The text of byte range `r` of `text` (a range of this match).
    public func text(_ r: Range<Int>, in text: String) -> String {
        let u = text.utf8
        return String(decoding: u[u.index(u.startIndex, offsetBy: r.lowerBound)..<u.index(u.startIndex, offsetBy: r.upperBound)], as: UTF8.self)
    }
}

/// Calls `body` with the UTF-8 bytes of `s`, without copying a native string.
@inline(__always)
func withUTF8<R>(_ s: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
    if let r = s.utf8.withContiguousStorageIfAvailable(body) { return r }
    var copy = s
    return copy.withUTF8(body)
}

/// Go's `Regexp.Expand` over bytes.
enum GoExpand {
    static func expand(
        _ t: [UInt8], into out: inout [UInt8], source: UnsafeBufferPointer<UInt8>, groups: [Int], names: [String?]
    ) {
        let dollar = UInt8(ascii: "$")
        var i = 0
        while let d = t[i...].firstIndex(of: dollar) {
            out.append(contentsOf: t[i..<d])
            i = d + 1
            if i < t.count && t[i] == dollar {
                out.append(dollar)
                i += 1
                continue
            }
            guard let (name, number, next) = extract(t, from: i) else {
                out.append(dollar)  // no name: the $ stays as it is
                continue
            }
            i = next
            if let number {
                if 2 * number + 1 < groups.count && groups[2 * number] >= 0 {
                    out.append(contentsOf: source[groups[2 * number]..<groups[2 * number + 1]])
                }
            } else {
                for (g, n) in names.enumerated() where n == name && 2 * g + 1 < groups.count && groups[2 * g] >= 0 {
                    out.append(contentsOf: source[groups[2 * g]..<groups[2 * g + 1]])
                    break
                }
            }
        }
        out.append(contentsOf: t[i...])
    }

    /// Go's `extract`: a name, or `{name}`, at `from` (after the `$`); the name is a group
    /// number when it is decimal digits without a leading zero, below 10^8.
    static func extract(_ t: [UInt8], from: Int) -> (name: String, number: Int?, next: Int)? {
        var i = from
        let brace = i < t.count && t[i] == UInt8(ascii: "{")
        if brace { i += 1 }
        let start = i
        while i < t.count {
            let width = utf8Width(t[i])
            guard i + width <= t.count, isNameCharacter(t[i..<i + width]) else { break }
            i += width
        }
        guard i > start else { return nil }
        let name = Array(t[start..<i])
        if brace {
            guard i < t.count && t[i] == UInt8(ascii: "}") else { return nil }
            i += 1
        }
        var number: Int? = 0
        for c in name {
            guard c >= 0x30 && c <= 0x39, let n = number, n < 100_000_000 else {
                number = nil
                break
            }
            number = n * 10 + Int(c - 0x30)
        }
        if name[0] == UInt8(ascii: "0") && name.count > 1 { number = nil }
        return (String(decoding: name, as: UTF8.self), number, i)
    }

    /// Whether the UTF-8 character `c` is a letter, a digit or `_` (Go's `unicode.IsLetter`,
    /// `unicode.IsDigit`).
    static func isNameCharacter(_ c: ArraySlice<UInt8>) -> Bool {
        let lead = c[c.startIndex]
        if lead < 0x80 {
            return lead == UInt8(ascii: "_") || (lead >= 0x30 && lead <= 0x39) || (lead | 0x20 >= 0x61 && lead | 0x20 <= 0x7A)
        }
        guard let s = String(decoding: c, as: UTF8.self).unicodeScalars.first else { return false }
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter, .decimalNumber:
            return true
        default:
            return false
        }
    }

    /// The length of the UTF-8 sequence a byte starts (1 for a byte that starts none, as Go
    /// steps over an invalid byte).
    static func utf8Width(_ lead: UInt8) -> Int {
        switch lead {
        case 0xF0...0xF7: return 4
        case 0xE0...0xEF: return 3
        case 0xC0...0xDF: return 2
        default: return 1
        }
    }
}
