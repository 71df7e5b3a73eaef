/// Go's text/template as Prometheus runs it for alert labels and annotations. The part
/// implemented so far: actions that print a pipeline (`{{ $labels.target }}`,
/// `{{ $value | humanizeDuration }}`, `{{ printf "%.2f" $value }}`), variables (`$labels`,
/// `$value`, `$externalLabels`, `$externalURL`, `.Labels`, `.Value`, and ones declared with
/// `:=`), string literals as Go reads them, trim markers and comments; functions `humanize`,
/// `humanizeDuration`, `humanizePercentage`, `printf`. Anything else (`if`, `range`, other
/// functions) is rejected when the template is parsed (a rule file loads).
public struct GoTemplate: Sendable {
    public struct Error: Swift.Error, Sendable, CustomStringConvertible {
        public var message: String
        /// UTF-8 offset in the template text.
        public var offset: Int
        public var description: String { message }
    }

    /// What a template can read: Prometheus' data for alert labels and annotations.
    public struct Data: Sendable {
        public var labels: any TemplateStringMap
        public var externalLabels: any TemplateStringMap
        public var externalURL: String
        public var value: Double

        public init(
            labels: some TemplateStringMap, externalLabels: some TemplateStringMap, externalURL: String = "",
            value: Double
        ) {
            self.labels = labels
            self.externalLabels = externalLabels
            self.externalURL = externalURL
            self.value = value
        }

        public init(labels: [String: String], externalLabels: [String: String] = [:], externalURL: String = "", value: Double) {
            self.labels = labels
            self.externalLabels = externalLabels
            self.externalURL = externalURL
            self.value = value
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
        var vars: [String: GoValue] = [
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

    private func eval(_ p: Pipeline, _ data: Data, _ vars: inout [String: GoValue]) throws(Error) -> GoValue {
        var piped: GoValue?
        for c in p.commands {
            piped = try eval(c, piped, data, &vars)
        }
        let v = piped ?? .none
        if let d = p.declare { vars[d] = v }
        return v
    }

    private func eval(_ c: Command, _ piped: GoValue?, _ data: Data, _ vars: inout [String: GoValue]) throws(Error) -> GoValue {
        if case .function(let name) = c.args[0] {
            var args: [GoValue] = []
            for a in c.args.dropFirst() { args.append(try operand(a, data, &vars, c.offset)) }
            if let piped { args.append(piped) }
            return try TemplateFunctions.call(name, args, offset: c.offset)
        }
        if c.args.count > 1 || piped != nil {
            throw Error(message: "can't give argument to non-function \(c.args[0].source)", offset: c.offset)
        }
        return try operand(c.args[0], data, &vars, c.offset)
    }

    private func operand(_ o: Operand, _ data: Data, _ vars: inout [String: GoValue], _ offset: Int) throws(Error) -> GoValue {
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

    private func field(_ v: GoValue, _ fields: [String], _ data: Data, _ offset: Int) throws(Error) -> GoValue {
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

extension GoTemplate.Operand {
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
    typealias Error = GoTemplate.Error
    let b: [UInt8]
    var i = 0
    var declared: Set<String> = GoTemplate.predefined

    init(_ bytes: [UInt8]) { b = bytes }

    func isSpace(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 10 || c == 13 }
    func isAlnum(_ c: UInt8) -> Bool { (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c == 95 || (c >= 48 && c <= 57) }

    mutating func parse() throws(Error) -> [GoTemplate.Node] {
        var nodes: [GoTemplate.Node] = []
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

    mutating func pipeline(start: Int, inParens: Bool) throws(Error) -> GoTemplate.Pipeline {
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
        var commands: [GoTemplate.Command] = []
        while true {
            skipSpace()
            let cmdOffset = i
            var args: [GoTemplate.Operand] = []
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
            commands.append(GoTemplate.Command(args: args, offset: cmdOffset))
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
        return GoTemplate.Pipeline(declare: declare, commands: commands, offset: offset)
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

    mutating func operand(isFirst: Bool) throws(Error) -> GoTemplate.Operand {
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
            if GoTemplate.supportedFunctions.contains(word) { return .function(word) }
            if GoTemplate.knownFunctions.contains(word) {
                throw Error(message: "template function \"\(word)\" is not supported by lookout (only humanize, humanizeDuration, humanizePercentage, printf)", offset: start)
            }
            throw Error(message: "function \"\(word)\" not defined", offset: start)
        }
        throw Error(message: "unexpected \"\(String(decoding: [c], as: UTF8.self))\" in command", offset: start)
    }

    mutating func number() throws(Error) -> GoTemplate.Operand {
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
        do {
            let (value, end) = try GoStringLiteral.read(b, at: i)
            i = end
            return value
        } catch {
            if error.kind == .unterminated { throw Error(message: error.message, offset: error.start) }
            throw Error(message: "\(error.message) in string", offset: error.start)
        }
    }
}

/// Prometheus' template functions of the subset.
enum TemplateFunctions {
    static func call(_ name: String, _ args: [GoValue], offset: Int) throws(GoTemplate.Error) -> GoValue {
        func fail(_ m: String) -> GoTemplate.Error { GoTemplate.Error(message: "error calling \(name): \(m)", offset: offset) }
        if name == "printf" {
            guard case .string(let format)? = args.first else {
                if args.isEmpty { throw GoTemplate.Error(message: "wrong number of args for printf: want at least 1 got 0", offset: offset) }
                throw GoTemplate.Error(message: "wrong type for value; expected string; got \(args[0].goType)", offset: offset)
            }
            return .string(GoPrintf.format(format, Array(args.dropFirst())))
        }
        guard args.count == 1 else {
            throw GoTemplate.Error(message: "wrong number of args for \(name): want 1 got \(args.count)", offset: offset)
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
