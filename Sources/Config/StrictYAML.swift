import LookoutCore

/// Reads YAML the way Prometheus reads its configuration: strictly. Unknown keys,
/// duplicate keys and wrong types are errors that name the file, line and column.
/// Problems are collected in the document so a loader can report all of them at once.
public final class YAMLDocument {
    public let file: String
    public private(set) var diagnostics: [Diagnostic] = []
    /// The root node. Values are made on access: a value refers to its document, so the
    /// document must not hold values, or the two would keep each other alive.
    private var rootNode: YAMLNode?

    /// The root value, or nil for an empty document.
    public var root: YAMLValue? { rootNode.map { YAMLValue(node: $0, document: self) } }

    /// Parses `text`. A syntax error is recorded as a diagnostic (and `root` is nil).
    public init(text: String, file: String) {
        self.file = file
        do {
            rootNode = try YAML.parse(text)
        } catch {
            diagnostics.append(
                Diagnostic(
                    "YAML syntax error: \(error.message)",
                    at: SourceLocation(file: file, line: error.mark.line, column: error.mark.column)))
        }
    }

    public func error(_ message: String, at location: SourceLocation?) {
        diagnostics.append(Diagnostic(message, at: location))
    }

    /// Throws all collected diagnostics, if any.
    public func check() throws(Diagnostics) {
        if !diagnostics.isEmpty { throw Diagnostics(diagnostics) }
    }
}

/// A node of a `YAMLDocument` with typed, error-reporting accessors. Each accessor returns
/// nil after recording a diagnostic when the value does not have the expected shape.
public struct YAMLValue {
    public let node: YAMLNode
    public let document: YAMLDocument

    init(node: YAMLNode, document: YAMLDocument) {
        self.node = node
        self.document = document
    }

    public var location: SourceLocation {
        let mark = node.mark
        return SourceLocation(file: document.file, line: mark.line, column: mark.column)
    }

    public func error(_ message: String) {
        document.error(message, at: location)
    }

    /// How a scalar is written in the file (nil for mappings and lists). Loaders use it to
    /// turn an offset inside a scalar's value into a file position.
    public enum ScalarStyle: Sendable { case plain, singleQuoted, doubleQuoted, literal, folded }

    public var scalarStyle: ScalarStyle? {
        guard case let .scalar(s) = node else { return nil }
        switch s.style {
        case .singleQuoted: return .singleQuoted
        case .doubleQuoted: return .doubleQuoted
        case .literal: return .literal
        case .folded: return .folded
        case .plain: return .plain
        }
    }

    /// The value for `key` when this is a mapping, without checking anything: lets a loader
    /// name a thing (a rule by its `alert:`) in the errors it then finds while validating it.
    public func peek(_ key: String) -> YAMLValue? {
        guard case let .mapping(m, _) = node else { return nil }
        for (k, v) in m {
            if case let .scalar(ks) = k, ks.string == key { return YAMLValue(node: v, document: document) }
        }
        return nil
    }

    /// The text of a scalar; nil (and no error recorded) for anything else.
    public var scalarString: String? {
        if case let .scalar(s) = node { return s.string }
        return nil
    }

    /// True for `null`, `~` or an empty scalar.
    public var isNull: Bool {
        guard case let .scalar(s) = node else { return false }
        return s.style == .plain && ["", "~", "null", "Null", "NULL"].contains(s.string)
    }

    private var kind: String {
        switch node {
        case .scalar: return "a scalar"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        }
    }

    /// The value as a mapping whose keys must all be in `allowedKeys`.
    public func mapping(_ what: String, allowedKeys: [String]) -> YAMLMapping? {
        guard case let .mapping(m, _) = node else {
            error("\(what) must be a mapping, found \(kind)")
            return nil
        }
        var entries: [(key: String, keyLocation: SourceLocation, value: YAMLValue)] = []
        // (Duplicate keys never get here: the YAML reader rejects them.)
        for (k, v) in m {
            let keyValue = YAMLValue(node: k, document: document)
            guard case let .scalar(ks) = k else {
                keyValue.error("\(what): keys must be strings")
                continue
            }
            let key = ks.string
            if !allowedKeys.contains(key) {
                let suggestion = Self.closest(to: key, in: allowedKeys).map { " (did you mean \"\($0)\"?)" } ?? ""
                keyValue.error("unknown key \"\(key)\" in \(what)\(suggestion)")
                continue
            }
            entries.append((key, keyValue.location, YAMLValue(node: v, document: document)))
        }
        return YAMLMapping(what: what, location: location, entries: entries, document: document)
    }

    /// The value as a mapping from string keys to string values (labels, headers).
    public func stringMap(_ what: String) -> [(key: String, value: String, location: SourceLocation)]? {
        guard case let .mapping(m, _) = node else {
            error("\(what) must be a mapping, found \(kind)")
            return nil
        }
        var out: [(String, String, SourceLocation)] = []
        for (k, v) in m {
            let keyValue = YAMLValue(node: k, document: document)
            guard case let .scalar(ks) = k else {
                keyValue.error("\(what): keys must be strings")
                continue
            }
            let value = YAMLValue(node: v, document: document)
            guard let s = value.string("\(what).\(ks.string)") else { continue }
            out.append((ks.string, s, keyValue.location))
        }
        return out
    }

    public func sequence(_ what: String) -> [YAMLValue]? {
        if isNull { return [] }
        guard case let .sequence(s, _) = node else {
            error("\(what) must be a list, found \(kind)")
            return nil
        }
        return s.map { YAMLValue(node: $0, document: document) }
    }

    public func string(_ what: String) -> String? {
        guard case let .scalar(s) = node else {
            error("\(what) must be a string, found \(kind)")
            return nil
        }
        return s.string
    }

    /// A string that must be one of `allowed` (an enumeration's raw values).
    public func choice(_ what: String, _ allowed: [String]) -> String? {
        guard let v = string(what) else { return nil }
        guard allowed.contains(v) else {
            error("\(what) must be one of \(allowed.joined(separator: ", ")), found \"\(v)\"")
            return nil
        }
        return v
    }

    public func stringList(_ what: String) -> [String]? {
        guard let items = sequence(what) else { return nil }
        var out: [String] = []
        for item in items {
            guard let s = item.string("\(what) item") else { return nil }
            out.append(s)
        }
        return out
    }

    public func bool(_ what: String) -> Bool? {
        guard case let .scalar(s) = node else {
            error("\(what) must be true or false, found \(kind)")
            return nil
        }
        switch s.string {
        case "true", "True", "TRUE": return true
        case "false", "False", "FALSE": return false
        default:
            error("\(what) must be true or false, found \"\(s.string)\"")
            return nil
        }
    }

    public func int(_ what: String, range: ClosedRange<Int>? = nil) -> Int? {
        guard case let .scalar(s) = node, let v = Int(s.string.replacingUnderscores()) else {
            error("\(what) must be an integer, found \(describeScalar)")
            return nil
        }
        if let range, !range.contains(v) {
            error("\(what) must be between \(range.lowerBound) and \(range.upperBound), found \(v)")
            return nil
        }
        return v
    }

    public func double(_ what: String, range: ClosedRange<Double>? = nil) -> Double? {
        guard case let .scalar(s) = node, let v = Double(s.string) else {
            error("\(what) must be a number, found \(describeScalar)")
            return nil
        }
        if let range, !range.contains(v) {
            error("\(what) must be between \(range.lowerBound) and \(range.upperBound), found \(s.string)")
            return nil
        }
        return v
    }

    /// A Prometheus duration (`500ms`, `15s`, `1m30s`).
    public func duration(_ what: String, positive: Bool = false) -> Duration? {
        guard let text = string(what) else { return nil }
        do {
            let d = try PromDuration.parse(text)
            if positive && d <= .zero {
                error("\(what) must be greater than 0, found \"\(text)\"")
                return nil
            }
            return d
        } catch {
            self.error("\(what): \(error)")
            return nil
        }
    }

    /// A size (`10MiB`, `512KiB`, `1000`).
    public func byteSize(_ what: String) -> Int? {
        guard let text = string(what) else { return nil }
        do {
            return try ByteSize.parse(text)
        } catch {
            self.error("\(what): \(error)")
            return nil
        }
    }

    /// A regular expression in RE2 syntax, anchored at both ends like Prometheus' regexes.
    public func regex(_ what: String) -> AnchoredRegex? {
        guard let text = string(what) else { return nil }
        do {
            return try AnchoredRegex(text)
        } catch {
            self.error("\(what): \(error)")
            return nil
        }
    }

    private var describeScalar: String {
        if case let .scalar(s) = node { return "\"\(s.string)\"" }
        return kind
    }

    static func closest(to key: String, in candidates: [String]) -> String? {
        var best: (String, Int)?
        for c in candidates {
            let d = editDistance(key, c)
            if d <= max(2, key.count / 3), best == nil || d < best!.1 { best = (c, d) }
        }
        return best?.0
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8), b = Array(b.utf8)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var prev = Array(0...b.count)
        var cur = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            cur[0] = i
            for j in 1...b.count {
                cur[j] = Swift.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&prev, &cur)
        }
        return prev[b.count]
    }
}

/// A mapping whose keys were checked against the allowed set.
public struct YAMLMapping {
    public let what: String
    public let location: SourceLocation
    public let entries: [(key: String, keyLocation: SourceLocation, value: YAMLValue)]
    let document: YAMLDocument

    public subscript(key: String) -> YAMLValue? {
        guard let e = entries.first(where: { $0.key == key }), !e.value.isNull else { return nil }
        return e.value
    }

    public func contains(_ key: String) -> Bool { entries.contains { $0.key == key } }

    /// The value for a required key; records "missing key" when absent.
    public func required(_ key: String) -> YAMLValue? {
        guard let v = self[key] else {
            document.error("\(what): missing required key \"\(key)\"", at: location)
            return nil
        }
        return v
    }

    public func error(_ message: String) {
        document.error(message, at: location)
    }
}

extension String {
    fileprivate func replacingUnderscores() -> String {
        contains("_") ? String(filter { $0 != "_" }) : self
    }
}
