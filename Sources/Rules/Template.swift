import Exposition
import PromQL

/// The part of Go's text/template that alert labels and annotations use: actions that
/// print a pipeline (`{{ $labels.target }}`, `{{ $value | humanizeDuration }}`,
/// `{{ printf "%.2f" $value }}`), variables (`$labels`, `$value`, `$externalLabels`,
/// `$externalURL`, `.Labels`, `.Value`, and ones declared with `:=`), trim markers and
/// comments; functions `humanize`, `humanizeDuration`, `humanizePercentage`, `printf`.
/// Anything else (`if`, `range`, other functions) is rejected when the rule file loads.
public struct AlertTemplate: Sendable {
    public struct Error: Swift.Error, Sendable, CustomStringConvertible {
        public var message: String
        /// UTF-8 offset in the template text.
        public var offset: Int
        public var description: String { message }
    }

    /// What a template can read.
    public struct Data: Sendable {
        public var labels: Labels
        public var externalLabels: Labels
        public var externalURL: String
        public var value: Double

        public init(labels: Labels, externalLabels: Labels = .empty, externalURL: String = "", value: Double) {
            self.labels = labels
            self.externalLabels = externalLabels
            self.externalURL = externalURL
            self.value = value
        }

        public init(labels: [String: String], externalLabels: [String: String] = [:], externalURL: String = "", value: Double) {
            self.init(labels: Labels(labels), externalLabels: Labels(externalLabels), externalURL: externalURL, value: value)
        }
    }

    indirect enum Node: Sendable {
        case text(String)
        case action(Pipeline)
    }

    struct Pipeline: Sendable {
        var declare: String?
        var commands: [Command]
        var offset: Int
    }

    struct Command: Sendable {
        var args: [Operand]
        var offset: Int
    }

    indirect enum Operand: Sendable {
        case function(String)
        case variable(String, fields: [String])
        case dot(fields: [String])
        case string(String)
        case float(Double)
        case int(Int64)
        case bool(Bool)
        case pipeline(Pipeline, fields: [String])
    }

    let nodes: [Node]
    public let text: String

    /// True when the text has no actions (expanding it returns it unchanged).
    public var isConstant: Bool { !nodes.contains { if case .action = $0 { return true } else { return false } } }

    static let supportedFunctions: Set<String> = ["humanize", "humanizeDuration", "humanizePercentage", "printf"]
    /// Functions Go's templates or Prometheus provide; named in the error as unsupported.
    static let knownFunctions: Set<String> = [
        "and", "call", "html", "index", "slice", "js", "len", "not", "or", "print", "println", "urlquery", "eq", "ge",
        "gt", "le", "lt", "ne", "query", "first", "label", "value", "strvalue", "args", "reReplaceAll", "safeHtml",
        "match", "title", "toUpper", "toLower", "graphLink", "tableLink", "sortByLabel", "humanize1024",
        "humanizeTimestamp", "toTime", "toDuration", "pathPrefix", "externalURL", "parseDuration", "stripPort",
        "stripDomain", "now",
    ]
    static let predefined: Set<String> = ["$", "$labels", "$externalLabels", "$externalURL", "$value"]

    public init(_ text: String) throws(Error) {
        self.text = text
        var p = TemplateParser(Array(text.utf8))
        nodes = try p.parse()
    }

    /// A template that expands to `text` as it is (recording rules' labels).
    public init(literalText: String) {
        text = literalText
        nodes = [.text(literalText)]
    }

    /// Expands the template; an execution error gives Prometheus' `<error expanding template: ...>`.
    public func expand(_ data: Data) -> String {
        if nodes.count == 1, case .text(let s) = nodes[0] { return s }
        if nodes.isEmpty { return "" }
        do {
            return try execute(data)
        } catch {
            return "<error expanding template: \(error.message)>"
        }
    }

    func execute(_ data: Data) throws(Error) -> String {
        var vars: [String: TValue] = [
            "$": .data, "$labels": .map(data.labels), "$externalLabels": .map(data.externalLabels),
            "$externalURL": .string(data.externalURL), "$value": .float(data.value),
        ]
        var out = ""
        for n in nodes {
            switch n {
            case .text(let s): out += s
            case .action(let p):
                let v = try eval(p, data, &vars)
                if p.declare == nil { out += v.printed(data) }
            }
        }
        return out
    }

    private func eval(_ p: Pipeline, _ data: Data, _ vars: inout [String: TValue]) throws(Error) -> TValue {
        var piped: TValue?
        for c in p.commands {
            piped = try eval(c, piped, data, &vars)
        }
        let v = piped ?? .none
        if let d = p.declare { vars[d] = v }
        return v
    }

    private func eval(_ c: Command, _ piped: TValue?, _ data: Data, _ vars: inout [String: TValue]) throws(Error) -> TValue {
        if case .function(let name) = c.args[0] {
            var args: [TValue] = []
            for a in c.args.dropFirst() { args.append(try operand(a, data, &vars, c.offset)) }
            if let piped { args.append(piped) }
            return try TemplateFunctions.call(name, args, offset: c.offset)
        }
        if c.args.count > 1 || piped != nil {
            throw Error(message: "can't give argument to non-function \(c.args[0].source)", offset: c.offset)
        }
        return try operand(c.args[0], data, &vars, c.offset)
    }

    private func operand(_ o: Operand, _ data: Data, _ vars: inout [String: TValue], _ offset: Int) throws(Error) -> TValue {
        switch o {
        case .function(let name):
            return try TemplateFunctions.call(name, [], offset: offset)
        case .string(let s): return .string(s)
        case .float(let f): return .float(f)
        case .int(let i): return .int(i)
        case .bool(let b): return .bool(b)
        case .variable(let name, let fields):
            guard let v = vars[name] else { throw Error(message: "undefined variable \"\(name)\"", offset: offset) }
            return try field(v, fields, data, offset)
        case .dot(let fields):
            return try field(.data, fields, data, offset)
        case .pipeline(let p, let fields):
            return try field(try eval(p, data, &vars), fields, data, offset)
        }
    }

    private func field(_ v: TValue, _ fields: [String], _ data: Data, _ offset: Int) throws(Error) -> TValue {
        var v = v
        for f in fields {
            switch v {
            case .data:
                switch f {
                case "Labels": v = .map(data.labels)
                case "ExternalLabels": v = .map(data.externalLabels)
                case "ExternalURL": v = .string(data.externalURL)
                case "Value": v = .float(data.value)
                default: throw Error(message: "can't evaluate field \(f) in type template.tmplData", offset: offset)
                }
            case .map(let m):
                // Prometheus runs templates with missingkey=zero: a missing label is "".
                v = .string(m[f] ?? "")
            default:
                throw Error(message: "can't evaluate field \(f) in type \(v.goType)", offset: offset)
            }
        }
        return v
    }
}

/// A value inside a template: the types Go would see.
enum TValue {
    case string(String)
    case float(Double)
    case int(Int64)
    case bool(Bool)
    case map(Labels)
    case data
    case none

    var goType: String {
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

    /// What `{{ x }}` prints (Go's `fmt.Print`).
    func printed(_ data: AlertTemplate.Data) -> String {
        switch self {
        case .string(let s): return s
        case .float(let f): return GoFloat.formatG(f)
        case .int(let i): return String(i)
        case .bool(let b): return b ? "true" : "false"
        case .map(let m): return Self.printMap(m)
        case .data:
            return "{\(Self.printMap(data.labels)) \(Self.printMap(data.externalLabels)) \(data.externalURL) \(GoFloat.formatG(data.value))}"
        case .none: return "<no value>"
        }
    }

    /// Go prints maps with their keys sorted: `map[a:1 b:2]`.
    static func printMap(_ m: Labels) -> String {
        "map[" + m.map { "\($0.name):\($0.value)" }.joined(separator: " ") + "]"
    }
}

extension AlertTemplate.Operand {
    var source: String {
        switch self {
        case .function(let n): return n
        case .variable(let n, let f): return ([n] + f).joined(separator: ".")
        case .dot(let f): return f.isEmpty ? "." : "." + f.joined(separator: ".")
        case .string(let s): return "\"\(s)\""
        case .float(let f): return GoFloat.formatG(f)
        case .int(let i): return String(i)
        case .bool(let b): return b ? "true" : "false"
        case .pipeline: return "(...)"
        }
    }
}

/// Splits template text into text and actions and parses each action's pipeline.
private struct TemplateParser {
    typealias Error = AlertTemplate.Error
    let b: [UInt8]
    var i = 0
    var declared: Set<String> = AlertTemplate.predefined

    init(_ bytes: [UInt8]) { b = bytes }

    func isSpace(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 10 || c == 13 }
    func isAlnum(_ c: UInt8) -> Bool { (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c == 95 || (c >= 48 && c <= 57) }

    mutating func parse() throws(Error) -> [AlertTemplate.Node] {
        var nodes: [AlertTemplate.Node] = []
        var text: [UInt8] = []
        while i < b.count {
            if b[i] == UInt8(ascii: "{"), i + 1 < b.count, b[i + 1] == UInt8(ascii: "{") {
                let start = i
                i += 2
                // `{{- ` trims the whitespace before the action.
                if i + 1 < b.count, b[i] == UInt8(ascii: "-"), isSpace(b[i + 1]) {
                    while let l = text.last, isSpace(l) { text.removeLast() }
                    i += 1
                }
                if !text.isEmpty {
                    nodes.append(.text(String(decoding: text, as: UTF8.self)))
                    text = []
                }
                skipSpace()
                // A comment: {{/* ... */}}
                if i + 1 < b.count, b[i] == UInt8(ascii: "/"), b[i + 1] == UInt8(ascii: "*") {
                    guard let end = find("*/", from: i + 2) else { throw Error(message: "unclosed comment", offset: start) }
                    i = end + 2
                    skipSpace()
                    if try closeAction(start) { trimFollowingSpace() }
                    continue
                }
                let p = try pipeline(start: start, inParens: false)
                if try closeAction(start) { trimFollowingSpace() }
                nodes.append(.action(p))
                continue
            }
            text.append(b[i])
            i += 1
        }
        if !text.isEmpty { nodes.append(.text(String(decoding: text, as: UTF8.self))) }
        return nodes
    }

    func find(_ s: String, from: Int) -> Int? {
        let pat = Array(s.utf8)
        var k = from
        while k + pat.count <= b.count {
            if Array(b[k..<(k + pat.count)]) == pat { return k }
            k += 1
        }
        return nil
    }

    mutating func skipSpace() {
        while i < b.count, isSpace(b[i]) { i += 1 }
    }

    mutating func trimFollowingSpace() {
        while i < b.count, isSpace(b[i]) { i += 1 }
    }

    /// Consumes `}}` or ` -}}`; returns true for the trimming form.
    mutating func closeAction(_ start: Int) throws(Error) -> Bool {
        skipSpace()
        if i + 2 < b.count, b[i] == UInt8(ascii: "-"), b[i + 1] == UInt8(ascii: "}"), b[i + 2] == UInt8(ascii: "}") {
            i += 3
            return true
        }
        guard i + 1 < b.count, b[i] == UInt8(ascii: "}"), b[i + 1] == UInt8(ascii: "}") else {
            if i >= b.count { throw Error(message: "unclosed action", offset: start) }
            throw Error(message: "unexpected \"\(String(decoding: [b[i]], as: UTF8.self))\" in action", offset: i)
        }
        i += 2
        return false
    }

    func atActionEnd() -> Bool {
        guard i < b.count else { return true }
        if b[i] == UInt8(ascii: "}"), i + 1 < b.count, b[i + 1] == UInt8(ascii: "}") { return true }
        if b[i] == UInt8(ascii: "-"), i + 2 < b.count, b[i + 1] == UInt8(ascii: "}"), b[i + 2] == UInt8(ascii: "}") { return true }
        return false
    }

    mutating func pipeline(start: Int, inParens: Bool) throws(Error) -> AlertTemplate.Pipeline {
        skipSpace()
        let offset = i
        var declare: String?
        // `$x := ...`
        if i < b.count, b[i] == UInt8(ascii: "$") {
            let save = i
            let name = variableName()
            skipSpace()
            if i + 1 < b.count, b[i] == UInt8(ascii: ":"), b[i + 1] == UInt8(ascii: "=") {
                i += 2
                declare = name
            } else if i < b.count, b[i] == UInt8(ascii: "="), !(i + 1 < b.count && b[i + 1] == UInt8(ascii: "=")) {
                throw Error(message: "assignment to variables is not supported by lookout's templates", offset: save)
            } else {
                i = save
            }
        }
        var commands: [AlertTemplate.Command] = []
        while true {
            skipSpace()
            let cmdOffset = i
            var args: [AlertTemplate.Operand] = []
            while true {
                skipSpace()
                if atActionEnd() || (i < b.count && (b[i] == UInt8(ascii: "|") || b[i] == UInt8(ascii: ")"))) { break }
                args.append(try operand(isFirst: args.isEmpty))
            }
            if args.isEmpty {
                if i >= b.count { throw Error(message: "unclosed action", offset: start) }
                throw Error(message: commands.isEmpty && declare == nil ? "missing value for command" : "missing command in pipeline", offset: cmdOffset)
            }
            if case .function = args[0] {
            } else if args.count > 1 {
                throw Error(message: "can't give argument to non-function \(args[0].source)", offset: cmdOffset)
            }
            commands.append(AlertTemplate.Command(args: args, offset: cmdOffset))
            if i < b.count, b[i] == UInt8(ascii: "|") {
                i += 1
                continue
            }
            break
        }
        if inParens {
            guard i < b.count, b[i] == UInt8(ascii: ")") else { throw Error(message: "unclosed left paren", offset: start) }
        } else if i < b.count, b[i] == UInt8(ascii: ")") {
            throw Error(message: "unexpected right paren", offset: i)
        }
        if let declare { declared.insert(declare) }
        return AlertTemplate.Pipeline(declare: declare, commands: commands, offset: offset)
    }

    mutating func variableName() -> String {
        let s = i
        i += 1
        while i < b.count, isAlnum(b[i]) { i += 1 }
        return String(decoding: b[s..<i], as: UTF8.self)
    }

    mutating func fieldChain() throws(Error) -> [String] {
        var fields: [String] = []
        while i < b.count, b[i] == UInt8(ascii: "."), i + 1 < b.count, isAlnum(b[i + 1]) {
            i += 1
            let s = i
            while i < b.count, isAlnum(b[i]) { i += 1 }
            fields.append(String(decoding: b[s..<i], as: UTF8.self))
        }
        return fields
    }

    mutating func operand(isFirst: Bool) throws(Error) -> AlertTemplate.Operand {
        let start = i
        let c = b[i]
        switch c {
        case UInt8(ascii: "$"):
            let name = variableName()
            guard declared.contains(name) else { throw Error(message: "undefined variable \"\(name)\"", offset: start) }
            return .variable(name, fields: try fieldChain())
        case UInt8(ascii: "."):
            if i + 1 < b.count, isAlnum(b[i + 1]), !(b[i + 1] >= 48 && b[i + 1] <= 57) {
                let fields = try fieldChain()
                if let f = fields.first, !["Labels", "Value", "ExternalLabels", "ExternalURL"].contains(f) {
                    throw Error(message: "unknown field \".\(f)\": templates can read .Labels, .Value, .ExternalLabels and .ExternalURL", offset: start)
                }
                return .dot(fields: fields)
            }
            if i + 1 < b.count, b[i + 1] >= 48 && b[i + 1] <= 57 { return try number() }
            i += 1
            return .dot(fields: [])
        case UInt8(ascii: "\""), UInt8(ascii: "`"):
            return .string(try string())
        case UInt8(ascii: "("):
            i += 1
            let p = try pipeline(start: start, inParens: true)
            i += 1
            return .pipeline(p, fields: try fieldChain())
        case UInt8(ascii: "'"):
            throw Error(message: "character constants are not supported by lookout's templates", offset: start)
        default:
            break
        }
        if (c >= 48 && c <= 57) || c == UInt8(ascii: "-") || c == UInt8(ascii: "+") {
            return try number()
        }
        if isAlnum(c) {
            while i < b.count, isAlnum(b[i]) { i += 1 }
            let word = String(decoding: b[start..<i], as: UTF8.self)
            switch word {
            case "true": return .bool(true)
            case "false": return .bool(false)
            case "if", "else", "end", "range", "with", "define", "template", "block", "break", "continue", "nil":
                throw Error(message: "\"\(word)\" is not supported by lookout's templates", offset: start)
            default: break
            }
            if AlertTemplate.supportedFunctions.contains(word) { return .function(word) }
            if AlertTemplate.knownFunctions.contains(word) {
                throw Error(message: "template function \"\(word)\" is not supported by lookout (only humanize, humanizeDuration, humanizePercentage, printf)", offset: start)
            }
            throw Error(message: "function \"\(word)\" not defined", offset: start)
        }
        throw Error(message: "unexpected \"\(String(decoding: [c], as: UTF8.self))\" in command", offset: start)
    }

    mutating func number() throws(Error) -> AlertTemplate.Operand {
        let start = i
        if i < b.count, b[i] == UInt8(ascii: "-") || b[i] == UInt8(ascii: "+") { i += 1 }
        while i < b.count, isAlnum(b[i]) || b[i] == UInt8(ascii: ".") || ((b[i] == UInt8(ascii: "-") || b[i] == UInt8(ascii: "+")) && (b[i - 1] | 0x20) == UInt8(ascii: "e")) {
            i += 1
        }
        let s = String(decoding: b[start..<i], as: UTF8.self)
        var digits = Substring(s)
        var negative = false
        if digits.hasPrefix("-") || digits.hasPrefix("+") {
            negative = digits.hasPrefix("-")
            digits = digits.dropFirst()
        }
        if let v = Int64(digits.filter { $0 != "_" }) { return .int(negative ? -v : v) }
        if digits.lowercased().hasPrefix("0x"), let v = Int64(digits.dropFirst(2), radix: 16) { return .int(negative ? -v : v) }
        if let v = GoFloat.parse(s), !s.lowercased().contains("inf"), !s.lowercased().contains("nan") { return .float(v) }
        throw Error(message: "bad number syntax: \"\(s)\"", offset: start)
    }

    mutating func string() throws(Error) -> String {
        let start = i
        let quote = b[i]
        i += 1
        var out: [UInt8] = []
        while i < b.count {
            let c = b[i]
            if c == quote {
                i += 1
                return String(decoding: out, as: UTF8.self)
            }
            if quote == UInt8(ascii: "\"") && c == UInt8(ascii: "\\") && i + 1 < b.count {
                i += 1
                switch b[i] {
                case UInt8(ascii: "n"): out.append(10)
                case UInt8(ascii: "t"): out.append(9)
                case UInt8(ascii: "r"): out.append(13)
                case UInt8(ascii: "\\"): out.append(92)
                case UInt8(ascii: "\""): out.append(34)
                default: throw Error(message: "unknown escape sequence in string", offset: i - 1)
                }
                i += 1
                continue
            }
            if quote == UInt8(ascii: "\"") && c == 10 { break }
            out.append(c)
            i += 1
        }
        throw Error(message: "unterminated quoted string", offset: start)
    }
}

/// Prometheus' template functions of the subset.
enum TemplateFunctions {
    static func call(_ name: String, _ args: [TValue], offset: Int) throws(AlertTemplate.Error) -> TValue {
        func fail(_ m: String) -> AlertTemplate.Error { AlertTemplate.Error(message: "error calling \(name): \(m)", offset: offset) }
        if name == "printf" {
            guard case .string(let format)? = args.first else {
                if args.isEmpty { throw AlertTemplate.Error(message: "wrong number of args for printf: want at least 1 got 0", offset: offset) }
                throw AlertTemplate.Error(message: "wrong type for value; expected string; got \(args[0].goType)", offset: offset)
            }
            return .string(GoPrintf.format(format, Array(args.dropFirst())))
        }
        guard args.count == 1 else {
            throw AlertTemplate.Error(message: "wrong number of args for \(name): want 1 got \(args.count)", offset: offset)
        }
        let v: Double
        switch args[0] {
        case .float(let f): v = f
        case .int(let i): v = Double(i)
        case .string(let s):
            guard let f = GoFloat.parse(s) else { throw fail("strconv.ParseFloat: parsing \"\(s)\": invalid syntax") }
            v = f
        default: throw fail("can't convert \(args[0].goType) to float")
        }
        switch name {
        case "humanize": return .string(Humanize.humanize(v))
        case "humanizeDuration": return .string(Humanize.duration(v))
        default: return .string(Humanize.percentage(v))
        }
    }
}

/// Prometheus' humanize functions.
public enum Humanize {
    /// `humanize`: SI prefixes, 4 significant digits: 1234 → 1.234k, 0.005 → 5m.
    public static func humanize(_ value: Double) -> String {
        var v = value
        if v == 0 || v.isNaN || v.isInfinite { return GoFloat.formatG(v, precision: 4) }
        if Swift.abs(v) >= 1 {
            var prefix = ""
            for p in ["k", "M", "G", "T", "P", "E", "Z", "Y"] {
                if Swift.abs(v) < 1000 { break }
                prefix = p
                v /= 1000
            }
            return GoFloat.formatG(v, precision: 4) + prefix
        }
        var prefix = ""
        for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
            if Swift.abs(v) >= 1 { break }
            prefix = p
            v *= 1000
        }
        return GoFloat.formatG(v, precision: 4) + prefix
    }

    /// `humanizeDuration`: seconds as `1d 2h 3m 4s`, or `1.5s`, `250ms`.
    public static func duration(_ value: Double) -> String {
        var v = value
        if v.isNaN || v.isInfinite { return GoFloat.formatG(v, precision: 4) }
        if v == 0 { return GoFloat.formatG(v, precision: 4) + "s" }
        if Swift.abs(v) >= 1 {
            var sign = ""
            if v < 0 {
                sign = "-"
                v = -v
            }
            // Go's int64(v) on amd64: out-of-range values become the minimum int64.
            let d = v < 9.223372036854775807e18 ? Int64(v) : Int64.min
            let seconds = d % 60, minutes = (d / 60) % 60, hours = (d / 3600) % 24, days = d / 86400
            if days != 0 { return "\(sign)\(days)d \(hours)h \(minutes)m \(seconds)s" }
            if hours != 0 { return "\(sign)\(hours)h \(minutes)m \(seconds)s" }
            if minutes != 0 { return "\(sign)\(minutes)m \(seconds)s" }
            return "\(sign)\(GoFloat.formatG(v, precision: 4))s"
        }
        var prefix = ""
        for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
            if Swift.abs(v) >= 1 { break }
            prefix = p
            v *= 1000
        }
        return GoFloat.formatG(v, precision: 4) + prefix + "s"
    }

    /// `humanizePercentage`: 0.1234 → 12.34%.
    public static func percentage(_ value: Double) -> String {
        GoFloat.formatG(value * 100, precision: 4) + "%"
    }
}
