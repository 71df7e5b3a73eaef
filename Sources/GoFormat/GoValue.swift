import LookoutCore

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

extension TemplateStringMap {
    /// The keys in increasing order.
    var sortedKeys: [String] {
        var out: [String] = []
        forEachInKeyOrder { k, _ in out.append(k) }
        return out
    }

    var count: Int { sortedKeys.count }
}

/// One element of a query's result as templates see it (Prometheus' `*template.sample`):
/// `.Labels` (with `__name__`) and `.Value`.
public struct TemplateSample: Sendable {
    public var labels: any TemplateStringMap
    public var value: Double

    public init(labels: some TemplateStringMap, value: Double) {
        self.labels = labels
        self.value = value
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
    /// `*template.sample`.
    case sample(TemplateSample)
    /// `template.queryResult`: what `query` returns.
    case samples([TemplateSample])
    /// `map[string]interface{}`: what `args` returns.
    case args([String: GoValue])
    /// `*time.Time` (`toTime`), milliseconds since the epoch, UTC.
    case time(Int64)
    case none

    public var goType: String {
        switch self {
        case .string: return "string"
        case .float: return "float64"
        case .int: return "int"
        case .bool: return "bool"
        case .map: return "map[string]string"
        case .data: return "template.tmplData"
        case .sample: return "*template.sample"
        case .samples: return "template.queryResult"
        case .args: return "map[string]interface {}"
        case .time: return "*time.Time"
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
        case .sample(let s):
            // A template prints what a pointer points to; fmt prints the pointer as `&{...}`.
            return (data == nil ? "&" : "") + "{\(Self.printMap(s.labels)) \(GoFloat.formatG(s.value))}"
        case .samples(let list):
            return "[" + list.map { GoValue.sample($0).printed() }.joined(separator: " ") + "]"
        case .args(let m):
            return "map[" + m.keys.sorted().map { "\($0):\(m[$0]!.printed())" }.joined(separator: " ") + "]"
        case .time(let ms): return GoTime.format(milliseconds: ms)
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

    /// Go templates' truth: false, 0, nil and empty strings, maps and slices are false.
    var isTrue: Bool {
        switch self {
        case .string(let s): return !s.isEmpty
        case .float(let f): return f != 0
        case .int(let i): return i != 0
        case .bool(let b): return b
        case .map(let m): return m.count > 0
        case .samples(let l): return !l.isEmpty
        case .args(let m): return !m.isEmpty
        case .data, .sample, .time: return true
        case .none: return false
        }
    }
}

/// Go's `time.Time.String()` of a UTC time: `2006-01-02 15:04:05.999 +0000 UTC`.
enum GoTime {
    static func format(milliseconds ms: Int64) -> String {
        let days = ms >= 0 ? ms / 86_400_000 : (ms - 86_399_999) / 86_400_000
        let msOfDay = ms - days * 86_400_000
        let (year, month, day) = CivilDate.from(daysSinceEpoch: days)
        let h = msOfDay / 3_600_000, m = msOfDay / 60_000 % 60, s = msOfDay / 1000 % 60
        var fraction = ""
        if msOfDay % 1000 != 0 {
            fraction = "." + pad(msOfDay % 1000, 3)
            while fraction.hasSuffix("0") { fraction.removeLast() }
        }
        let y = year < 0 ? "-" + pad(-year, 4) : pad(year, 4)
        return "\(y)-\(pad(month, 2))-\(pad(day, 2)) \(pad(h, 2)):\(pad(m, 2)):\(pad(s, 2))\(fraction) +0000 UTC"
    }

    private static func pad(_ v: Int64, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}
