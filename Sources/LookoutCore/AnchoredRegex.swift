/// A regular expression matched against a whole string, as Prometheus does for label
/// matchers (`^(?:pattern)$`, Go's RE2 syntax), and the config's regexes. Compiled by RE2
/// (`RE2Regex`): linear time, and refused exactly where promtool refuses it, including the
/// pattern on its own not parsing (`a)|(b`) as Prometheus' matchers require.
///
/// Common shapes (a literal, `.*`, `.+`, `a|b|c`, `prefix.*`) are matched without running
/// RE2, byte for byte as RE2 would: `.` matches neither `\n` nor part of a character, and
/// literals compare UTF-8 bytes (not Swift's canonical equivalence).
public final class AnchoredRegex: Sendable, Hashable, CustomStringConvertible {
    public typealias SyntaxError = RE2Regex.SyntaxError

    private enum Shortcut: Sendable {
        case anyLine  // .*
        case nonEmptyLine  // .+
        case literal(String)  // abc
        case literals(Set<UTF8Key>)  // a|b|c
        case prefix(String)  // abc.*
    }

    public let pattern: String
    /// The pattern compiled unanchored: for `search` and `firstMatch`, and for `matches` when no
    /// shortcut applies.
    public let regex: RE2Regex
    private let shortcut: Shortcut?
    /// The alternatives when the pattern has no metacharacters: one literal or a set of them.
    public let literalSet: Set<String>?

    public convenience init(_ pattern: String) throws(SyntaxError) {
        try self.init(utf8: Array(pattern.utf8))
    }

    /// A pattern given as bytes, which need not be valid UTF-8: invalid UTF-8 is refused.
    public init(utf8 bytes: [UInt8]) throws(SyntaxError) {
        let pattern = String(decoding: bytes, as: UTF8.self)
        self.pattern = pattern
        let alternatives = Self.literalAlternatives(pattern)
        literalSet = alternatives.map(Set.init)
        regex = try RE2Regex(utf8: bytes, maxMemory: nil, check: .anchored)
        let u = pattern.utf8
        if u.elementsEqual(".*".utf8) {
            shortcut = .anyLine
        } else if u.elementsEqual(".+".utf8) {
            shortcut = .nonEmptyLine
        } else if let alternatives {
            shortcut = alternatives.count == 1 ? .literal(alternatives[0]) : .literals(Set(alternatives.map(UTF8Key.init)))
        } else if u.count > 2, u.suffix(2).elementsEqual(".*".utf8),
            let lit = Self.literalAlternatives(String(decoding: u.dropLast(2), as: UTF8.self)), lit.count == 1
        {
            shortcut = .prefix(lit[0])
        } else {
            shortcut = nil
        }
    }

    /// Whether the pattern matches all of `s`.
    public func matches(_ s: String) -> Bool {
        switch shortcut {
        case .anyLine: return !s.utf8.contains(newline)
        case .nonEmptyLine: return !s.isEmpty && !s.utf8.contains(newline)
        case .literal(let l): return s.utf8.count == l.utf8.count && s.utf8.elementsEqual(l.utf8)
        case .literals(let set): return set.contains(UTF8Key(s))
        case .prefix(let p):
            let u = s.utf8
            return u.starts(with: p.utf8) && !u.dropFirst(p.utf8.count).contains(newline)
        case nil: return regex.wholeMatch(s)
        }
    }

    /// Whether the pattern matches somewhere in `s` (a search, as `pgrep` does).
    public func search(_ s: String) -> Bool { regex.search(s) }

    /// The leftmost match in `s` and its groups.
    public func firstMatch(in s: String) -> RE2Match? { regex.firstMatch(in: s) }

    /// Whether the pattern matches the empty string (relevant to PromQL matcher semantics).
    public var matchesEmpty: Bool { matches("") }

    /// Whether `matches` decides without running RE2 (the pattern has one of the common shapes).
    public var hasShortcut: Bool { shortcut != nil }

    public var description: String { pattern }

    /// `abc`, `a|b|c` when none of the parts has a regex metacharacter.
    static func literalAlternatives(_ pattern: String) -> [String]? {
        let meta: Set<UInt8> = Set("\\.+*?()[]{}^$".utf8)
        if pattern.utf8.contains(where: { meta.contains($0) }) { return nil }
        return pattern.utf8.split(separator: UInt8(ascii: "|"), omittingEmptySubsequences: false).map {
            String(decoding: $0, as: UTF8.self)
        }
    }

    public static func == (a: AnchoredRegex, b: AnchoredRegex) -> Bool { UTF8Key(a.pattern) == UTF8Key(b.pattern) }
    public func hash(into h: inout Hasher) { h.combine(UTF8Key(pattern)) }
}

private let newline = UInt8(ascii: "\n")

/// A string hashed and compared by its UTF-8 bytes, as RE2 compares (Swift's `==` treats
/// canonically equivalent strings, `"é"` and `"e\u{301}"`, as equal).
struct UTF8Key: Hashable, Sendable {
    let s: String
    init(_ s: String) { self.s = s }
    static func == (a: UTF8Key, b: UTF8Key) -> Bool { a.s.utf8.count == b.s.utf8.count && a.s.utf8.elementsEqual(b.s.utf8) }
    func hash(into h: inout Hasher) { withUTF8(s) { h.combine(bytes: UnsafeRawBufferPointer($0)) } }
}
