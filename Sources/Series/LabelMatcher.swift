import GoFormat
import LookoutCore

/// A label matcher: `name op "value"` with Prometheus' and Alertmanager's four operators.
/// Regexes match the whole value; a missing label matches as "". PromQL's parser builds
/// them from selectors (`{severity=~"warning|info"}`); `init(parsing:)` reads Alertmanager's
/// matcher syntax (inhibit rules).
public struct LabelMatcher: Sendable, Hashable, CustomStringConvertible {
    public enum Op: String, Sendable, Hashable {
        case equal = "="
        case notEqual = "!="
        case regexMatch = "=~"
        case regexNoMatch = "!~"
    }

    /// A matcher in Alertmanager's syntax that cannot be read.
    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public let text: String
        public let reason: String
        public var description: String { "invalid matcher \"\(text)\": \(reason)" }
    }

    public let name: String
    public let op: Op
    public let value: String
    /// The compiled regex for `=~` and `!~` (anchored at both ends, as in Prometheus).
    public let regex: AnchoredRegex?

    public init(name: String, op: Op, value: String) throws(AnchoredRegex.SyntaxError) {
        self.name = name
        self.op = op
        self.value = value
        switch op {
        case .regexMatch, .regexNoMatch: regex = try AnchoredRegex(value)
        case .equal, .notEqual: regex = nil
        }
    }

    /// Reads a matcher in Alertmanager's syntax: `severity="critical"`, `severity!="info"`,
    /// `severity=~"warning|info"`, `target!~"test-.*"`; an unquoted value (`severity=critical`)
    /// is accepted too. In a quoted value `\n`, `\t`, `\"` and `\\` are escapes; any other
    /// backslash stays (regexes keep `\.` and `\d`).
    public init(parsing text: String) throws(ParseError) {
        let b = Array(text.utf8)
        func fail(_ reason: String) -> ParseError { ParseError(text: text, reason: reason) }
        var i = 0
        func skipSpace() { while i < b.count, b[i] == 32 || b[i] == 9 { i += 1 } }
        skipSpace()
        let nameStart = i
        while i < b.count, b[i] == 95 || (b[i] >= 48 && b[i] <= 57) || (b[i] | 0x20 >= 97 && b[i] | 0x20 <= 122) {
            i += 1
        }
        let name = String(decoding: b[nameStart..<i], as: UTF8.self)
        guard !name.isEmpty else { throw fail("expected a label name") }
        skipSpace()
        let op: Op
        func at(_ s: String) -> Bool { b[i...].starts(with: s.utf8) }
        if at("=~") {
            op = .regexMatch
            i += 2
        } else if at("!~") {
            op = .regexNoMatch
            i += 2
        } else if at("!=") {
            op = .notEqual
            i += 2
        } else if at("=") {
            op = .equal
            i += 1
        } else {
            throw fail("expected one of = != =~ !~ after \"\(name)\"")
        }
        skipSpace()
        let value: String
        if i < b.count, b[i] == UInt8(ascii: "\"") {
            do {
                let literal = try GoStringLiteral.read(b, at: i, escapes: .alertmanager)
                value = literal.value
                i = literal.end
            } catch {
                throw fail("unterminated quoted value")
            }
            skipSpace()
            guard i == b.count else { throw fail("unexpected text after the value") }
        } else {
            var end = b.count
            while end > i, b[end - 1] == 32 || b[end - 1] == 9 { end -= 1 }
            guard !b[i..<end].contains(UInt8(ascii: "\"")) else { throw fail("unbalanced quote in value") }
            value = String(decoding: b[i..<end], as: UTF8.self)
        }
        guard MetricNames.isValidLabelName(name) else { throw fail("\"\(name)\" is not a valid label name") }
        do {
            try self.init(name: name, op: op, value: value)
        } catch {
            throw fail(error.description)
        }
    }

    /// Whether the matcher accepts `v` (a missing label has the value "").
    @inlinable
    public func matches(_ v: String) -> Bool {
        switch op {
        case .equal: return v == value
        case .notEqual: return v != value
        case .regexMatch: return regex!.matches(v)
        case .regexNoMatch: return !regex!.matches(v)
        }
    }

    @inlinable
    public func matches(_ labels: Labels) -> Bool { matches(labels[name] ?? "") }

    /// Whether this matcher accepts the empty string, i.e. series without the label.
    public var matchesEmpty: Bool { matches("") }

    /// `name="value"`, the value quoted as Go quotes it (as Prometheus and Alertmanager print matchers).
    public var description: String { "\(name)\(op.rawValue)\(goQuoted(value))" }

    public static func == (a: LabelMatcher, b: LabelMatcher) -> Bool {
        a.name == b.name && a.op == b.op && a.value == b.value
    }

    public func hash(into h: inout Hasher) {
        h.combine(name)
        h.combine(op)
        h.combine(value)
    }
}

extension Array where Element == LabelMatcher {
    /// True when every matcher accepts the label set.
    @inlinable
    public func allMatch(_ labels: Labels) -> Bool {
        for m in self where !m.matches(labels) { return false }
        return true
    }
}
