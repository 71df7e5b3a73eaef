/// A regular expression matched against a whole string, as Prometheus does for
/// label matchers, `relabel` and the config's regexes. Common shapes (a literal,
/// `.*`, `.+`, `a|b|c`, `prefix.*`) are matched without the regex engine.
public final class AnchoredRegex: @unchecked Sendable, CustomStringConvertible {
    // @unchecked: `Regex` is an immutable value; `AnyRegexOutput` only lacks the annotation.

    public struct SyntaxError: Error, CustomStringConvertible, Sendable {
        public let pattern: String
        public let reason: String
        public var description: String { "invalid regex \"\(pattern)\": \(reason)" }
    }

    private enum Matcher {
        case any  // .*
        case nonEmpty  // .+
        case literals(Set<String>)  // a|b|c
        case prefix(String)  // abc.*
        case regex(Regex<AnyRegexOutput>)
    }

    public let pattern: String
    private let matcher: Matcher

    public init(_ pattern: String) throws(SyntaxError) {
        self.pattern = pattern
        if pattern == ".*" {
            matcher = .any
        } else if pattern == ".+" {
            matcher = .nonEmpty
        } else if let alternatives = Self.literalAlternatives(pattern) {
            matcher = .literals(Set(alternatives))
        } else if pattern.hasSuffix(".*"), let lit = Self.literalAlternatives(String(pattern.dropLast(2))),
            lit.count == 1
        {
            matcher = .prefix(lit[0])
        } else {
            do {
                matcher = .regex(try Regex("^(?:" + pattern + ")$"))
            } catch {
                throw SyntaxError(pattern: pattern, reason: "\(error)")
            }
        }
    }

    public func matches(_ s: String) -> Bool {
        switch matcher {
        case .any: return true
        case .nonEmpty: return !s.isEmpty
        case .literals(let set): return set.contains(s)
        case .prefix(let p): return s.hasPrefix(p)
        case .regex(let r): return (try? r.wholeMatch(in: s)) != nil
        }
    }

    /// Whether the pattern matches the empty string (relevant to PromQL matcher semantics).
    public var matchesEmpty: Bool { matches("") }

    /// Whether this pattern has no metacharacters and is one literal (or a set of alternatives).
    public var literalSet: Set<String>? {
        if case .literals(let s) = matcher { return s }
        return nil
    }

    public var description: String { pattern }

    /// `abc`, `a|b|c` when none of the parts has a regex metacharacter.
    static func literalAlternatives(_ pattern: String) -> [String]? {
        let meta: Set<Character> = ["\\", ".", "+", "*", "?", "(", ")", "[", "]", "{", "}", "^", "$"]
        if pattern.contains(where: { meta.contains($0) }) { return nil }
        return pattern.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
    }
}

extension AnchoredRegex: Hashable {
    public static func == (a: AnchoredRegex, b: AnchoredRegex) -> Bool { a.pattern == b.pattern }
    public func hash(into h: inout Hasher) { h.combine(pattern) }
}
