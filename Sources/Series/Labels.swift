import GoFormat

/// A label set: name/value pairs sorted by name, names unique. The metric name is not
/// part of it in the exposition model; PromQL puts it in as `__name__`.
public struct Labels: Hashable, Sendable, RandomAccessCollection, CustomStringConvertible {
    public typealias Element = Label
    public private(set) var pairs: [Label]

    public static let empty = Labels()

    public init() { pairs = [] }

    /// Builds a label set from pairs in any order; a later duplicate name wins.
    public init(_ pairs: [(String, String)]) {
        var ls = pairs.map { Label(name: $0.0, value: $0.1) }
        ls.sort { $0.name < $1.name }
        var out: [Label] = []
        out.reserveCapacity(ls.count)
        for l in ls {
            if let last = out.last, last.name == l.name { out[out.count - 1] = l } else { out.append(l) }
        }
        self.pairs = out
    }

    public init(_ dict: [String: String]) {
        self.pairs = dict.map { Label(name: $0.key, value: $0.value) }.sorted { $0.name < $1.name }
    }

    /// Trusts that `sorted` is sorted by name without duplicates.
    public init(sorted: [Label]) {
        self.pairs = sorted
    }

    // Inlinable: label sets are read in the inner loops of rule evaluation.
    @inlinable public var startIndex: Int { pairs.startIndex }
    @inlinable public var endIndex: Int { pairs.endIndex }
    @inlinable public subscript(position: Int) -> Label { pairs[position] }

    @inlinable
    public subscript(name: String) -> String? {
        // Small sets: a linear scan beats binary search.
        for l in pairs where l.name == name { return l.value }
        return nil
    }

    /// The set with `name` set to `value` (replacing any value it had).
    public func setting(_ name: String, _ value: String) -> Labels {
        var copy = self
        copy.set(name, value)
        return copy
    }

    public mutating func set(_ name: String, _ value: String) {
        var i = 0
        while i < pairs.count, pairs[i].name < name { i += 1 }
        if i < pairs.count, pairs[i].name == name {
            pairs[i].value = value
        } else {
            pairs.insert(Label(name: name, value: value), at: i)
        }
    }

    public func removing(_ name: String) -> Labels {
        Labels(sorted: pairs.filter { $0.name != name })
    }

    public func removing(_ names: Set<String>) -> Labels {
        Labels(sorted: pairs.filter { !names.contains($0.name) })
    }

    public func keeping(_ names: Set<String>) -> Labels {
        Labels(sorted: pairs.filter { names.contains($0.name) })
    }

    /// `{a="1", b="2"}` with Prometheus' escaping.
    public var description: String {
        "{" + pairs.map { "\($0.name)=\"\(LabelEscaping.escape($0.value))\"" }.joined(separator: ", ") + "}"
    }
}

public struct Label: Hashable, Sendable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// Templates read label sets as Go maps: `{{ $labels.target }}`, printed `map[a:1 b:2]`.
extension Labels: TemplateStringMap {
    public func forEachInKeyOrder(_ body: (String, String) -> Void) {
        for l in pairs { body(l.name, l.value) }
    }
}

extension Labels: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral elements: (String, String)...) {
        self.init(elements)
    }
}

public enum LabelEscaping {
    /// Escapes a label value for the text formats: `\` → `\\`, `"` → `\"`, newline → `\n`.
    public static func escape(_ s: String) -> String {
        guard s.utf8.contains(where: { $0 == 92 || $0 == 34 || $0 == 10 }) else { return s }
        var out = ""
        out.reserveCapacity(s.utf8.count + 4)
        for ch in s.unicodeScalars {
            switch ch {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out
    }
}

/// Valid metric and label names, as the data model defines them.
public enum MetricNames {
    /// `[a-zA-Z_:][a-zA-Z0-9_:]*`
    public static func isValidMetricName(_ s: String) -> Bool {
        var first = true
        for b in s.utf8 {
            let ok = (b >= 97 && b <= 122) || (b >= 65 && b <= 90) || b == 95 || b == 58 || (!first && b >= 48 && b <= 57)
            if !ok { return false }
            first = false
        }
        return !first
    }

    /// `[a-zA-Z_][a-zA-Z0-9_]*`
    public static func isValidLabelName(_ s: String) -> Bool {
        var first = true
        for b in s.utf8 {
            let ok = (b >= 97 && b <= 122) || (b >= 65 && b <= 90) || b == 95 || (!first && b >= 48 && b <= 57)
            if !ok { return false }
            first = false
        }
        return !first
    }
}
