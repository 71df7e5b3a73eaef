import Exposition
import LookoutCore

/// A label matcher in Alertmanager's syntax: `severity="critical"`, `severity!="info"`,
/// `severity=~"warning|info"`, `target!~"test-.*"`; an unquoted value (`severity=critical`)
/// is accepted too. Regexes match the whole value. A missing label matches as "".
public struct LabelMatcher: Sendable, Hashable, CustomStringConvertible {
    public enum Op: String, Sendable, Hashable {
        case equal = "=", notEqual = "!=", regex = "=~", notRegex = "!~"
    }

    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public let text: String
        public let reason: String
        public var description: String { "invalid matcher \"\(text)\": \(reason)" }
    }

    public let name: String
    public let op: Op
    public let value: String
    private let regex: AnchoredRegex?

    public init(name: String, op: Op, value: String) throws(ParseError) {
        guard MetricNames.isValidLabelName(name) else {
            throw ParseError(text: "\(name)\(op.rawValue)\(value)", reason: "\"\(name)\" is not a valid label name")
        }
        self.name = name
        self.op = op
        self.value = value
        if op == .regex || op == .notRegex {
            do {
                regex = try AnchoredRegex(value)
            } catch {
                throw ParseError(text: "\(name)\(op.rawValue)\(value)", reason: error.description)
            }
        } else {
            regex = nil
        }
    }

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
        func at(_ s: String) -> Bool { Array(b[i...]).starts(with: Array(s.utf8)) }
        if at("=~") {
            op = .regex
            i += 2
        } else if at("!~") {
            op = .notRegex
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
        var value: [UInt8] = []
        if i < b.count, b[i] == UInt8(ascii: "\"") {
            i += 1
            var closed = false
            while i < b.count {
                let c = b[i]
                if c == UInt8(ascii: "\"") {
                    closed = true
                    i += 1
                    break
                }
                if c == UInt8(ascii: "\\"), i + 1 < b.count {
                    i += 1
                    switch b[i] {
                    case UInt8(ascii: "n"): value.append(10)
                    case UInt8(ascii: "t"): value.append(9)
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"): value.append(b[i])
                    default:
                        // Regexes keep their escapes (`\.`, `\d`).
                        value.append(UInt8(ascii: "\\"))
                        value.append(b[i])
                    }
                    i += 1
                    continue
                }
                value.append(c)
                i += 1
            }
            guard closed else { throw fail("unterminated quoted value") }
            skipSpace()
            guard i == b.count else { throw fail("unexpected text after the value") }
        } else {
            var end = b.count
            while end > i, b[end - 1] == 32 || b[end - 1] == 9 { end -= 1 }
            value = Array(b[i..<end])
            if value.contains(UInt8(ascii: "\"")) { throw fail("unbalanced quote in value") }
        }
        try self.init(name: name, op: op, value: String(decoding: value, as: UTF8.self))
    }

    public func matches(_ labels: Labels) -> Bool {
        let v = labels[name] ?? ""
        switch op {
        case .equal: return v == value
        case .notEqual: return v != value
        case .regex: return regex!.matches(v)
        case .notRegex: return !regex!.matches(v)
        }
    }

    /// The matcher as written in a config, value quoted.
    public var description: String {
        var out: [UInt8] = []
        JSON.writeString(value, to: &out)
        return name + op.rawValue + String(decoding: out, as: UTF8.self)
    }

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
    func allMatch(_ labels: Labels) -> Bool { allSatisfy { $0.matches(labels) } }
}

/// Decides whether an alert is muted by the inhibit rules, given the alerts firing now.
/// The same decision as Alertmanager's inhibitor: a source alert must be firing, have the
/// same values (missing counts as empty) for every `equal` label, and, when the muted alert
/// matches both sides of a rule, must not itself match the target side (so two critical
/// alerts of one rule never mute each other).
public struct Inhibitor: Sendable {
    public let rules: [InhibitRule]

    public init(rules: [InhibitRule]) { self.rules = rules }

    public func isMuted(_ labels: Labels, firing: some Sequence<NotifiableAlert>) -> Bool {
        for rule in rules where rule.targetMatchers.allMatch(labels) {
            let twoSided = rule.sourceMatchers.allMatch(labels)
            for source in firing where !source.isResolved && rule.sourceMatchers.allMatch(source.labels) {
                if !rule.equal.allSatisfy({ (source.labels[$0] ?? "") == (labels[$0] ?? "") }) { continue }
                if twoSided && rule.targetMatchers.allMatch(source.labels) { continue }
                return true
            }
        }
        return false
    }
}
