/// A map of strings as a template sees it: read by key (`{{ $labels.target }}`, a missing key
/// is "") and printed in key order (`map[a:1 b:2]`). Label sets conform where they are defined.
public protocol TemplateStringMap: Sendable {
    subscript(_ key: String) -> String? { get }
    /// Calls `body` with every key and its value, keys in increasing order.
    func forEachInKeyOrder(_ body: (String, String) -> Void)
}

extension Dictionary: TemplateStringMap where Key == String, Value == String {
    public func forEachInKeyOrder(_ body: (String, String) -> Void) {
        for key in keys.sorted() { body(key, self[key]!) }
    }
}

/// A value inside a template or an argument of `printf`: the types Go would see.
public enum GoValue: Sendable {
    case string(String)
    case float(Double)
    case int(Int64)
    case bool(Bool)
    case map(any TemplateStringMap)
    /// The template's data (`.`), Prometheus' `tmplData`.
    case data
    case none

    public var goType: String {
        switch self {
        case .string: return "string"
        case .float: return "float64"
        case .int: return "int"
        case .bool: return "bool"
        case .map: return "map[string]string"
        case .data: return "template.tmplData"
        case .none: return "<nil>"
        }
    }

    /// What Go prints for the value: `{{ x }}` in a template, with the template's `data`;
    /// `fmt`'s `%v` without (no data to show, and nothing is `<nil>`, not `<no value>`).
    func printed(_ data: GoTemplate.Data? = nil) -> String {
        switch self {
        case .string(let s): return s
        case .float(let f): return GoFloat.formatG(f)
        case .int(let i): return String(i)
        case .bool(let b): return b ? "true" : "false"
        case .map(let m): return Self.printMap(m)
        case .data:
            guard let data else { return "{...}" }
            return "{\(Self.printMap(data.labels)) \(Self.printMap(data.externalLabels)) \(data.externalURL) \(GoFloat.formatG(data.value))}"
        case .none: return data == nil ? "<nil>" : "<no value>"
        }
    }

    /// Go prints maps with their keys sorted: `map[a:1 b:2]`.
    static func printMap(_ m: any TemplateStringMap) -> String {
        var out = "map["
        var first = true
        m.forEachInKeyOrder { key, value in
            if !first { out += " " }
            first = false
            out += key + ":" + value
        }
        return out + "]"
    }
}
