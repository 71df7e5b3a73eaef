/// Splits template text into text and actions, parses each action's pipeline and nests
/// `if`/`range`/`with` blocks, checking variables as Go does (declared before use, scoped
/// to their block).
struct TemplateParser {
    typealias Error = GoTemplate.Error
    typealias Node = GoTemplate.Node

    /// How deep blocks and parentheses may nest.
    static let maxDepth = 100

    let b: [UInt8]
    var i = 0
    /// Variables in scope, innermost last.
    var declared: [String] = GoTemplate.predefined
    /// Inside `range` (for `break` and `continue`).
    var rangeDepth = 0
    /// Whether `.` is still the template's data (outside `range` and `with`): only then can
    /// a field name be checked before execution.
    var dotIsData = true
    var depth = 0

    init(_ bytes: [UInt8]) { b = bytes }

    enum Stop {
        case eof
        case end
        /// `{{ else }}`, or `{{ else if` (the `if` is next).
        case elseBranch(isIf: Bool)
    }

    func isSpace(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 10 || c == 13 }
    func isAlnum(_ c: UInt8) -> Bool { (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c == 95 || (c >= 48 && c <= 57) || c >= 0x80 }

    mutating func parse() throws(Error) -> [Node] {
        let (nodes, stop) = try list()
        switch stop {
        case .eof: return nodes
        case .end: throw Error(message: "unexpected {{end}}", offset: i)
        case .elseBranch: throw Error(message: "unexpected {{else}}", offset: i)
        }
    }

    /// Text and actions up to the end of the text or an `{{ end }}` / `{{ else }}`.
    mutating func list() throws(Error) -> ([Node], Stop) {
        var nodes: [Node] = []
        var text: [UInt8] = []
        func flush() {
            if !text.isEmpty { nodes.append(.text(String(decoding: text, as: UTF8.self))) }
            text = []
        }
        while i < b.count {
            guard b[i] == UInt8(ascii: "{"), i + 1 < b.count, b[i + 1] == UInt8(ascii: "{") else {
                text.append(b[i])
                i += 1
                continue
            }
            let start = i
            i += 2
            // `{{- ` trims the whitespace before the action.
            if i + 1 < b.count, b[i] == UInt8(ascii: "-"), isSpace(b[i + 1]) {
                while let l = text.last, isSpace(l) { text.removeLast() }
                i += 1
            }
            flush()
            skipSpace()
            // A comment: {{/* ... */}}
            if i + 1 < b.count, b[i] == UInt8(ascii: "/"), b[i + 1] == UInt8(ascii: "*") {
                guard let end = find("*/", from: i + 2) else { throw Error(message: "unclosed comment", offset: start) }
                i = end + 2
                try closeAction(start)
                continue
            }
            let wordStart = i
            switch word() {
            case "end":
                try closeAction(start)
                return (nodes, .end)
            case "else":
                skipSpace()
                let save = i
                if word() == "if" { return (nodes, .elseBranch(isIf: true)) }
                i = save
                try closeAction(start)
                return (nodes, .elseBranch(isIf: false))
            case "if": nodes.append(.control(try control(.ifNode, start: start)))
            case "range": nodes.append(.control(try control(.rangeNode, start: start)))
            case "with": nodes.append(.control(try control(.withNode, start: start)))
            case "break", "continue":
                let w = String(decoding: b[wordStart..<i], as: UTF8.self)
                guard rangeDepth > 0 else { throw Error(message: "{{\(w)}} outside {{range}}", offset: wordStart) }
                try closeAction(start)
                nodes.append(w == "break" ? .breakLoop(offset: wordStart) : .continueLoop(offset: wordStart))
            case "define", "template", "block":
                let w = String(decoding: b[wordStart..<i], as: UTF8.self)
                throw Error(message: "\"\(w)\" is not supported by lookout's templates", offset: wordStart)
            default:
                i = wordStart
                let p = try pipeline(start: start, inParens: false, allowDeclare: 1)
                try closeAction(start)
                nodes.append(.action(p))
            }
        }
        flush()
        return (nodes, .eof)
    }

    /// `if`, `range` or `with` after its keyword, through its `{{ end }}`.
    mutating func control(_ kind: GoTemplate.Control.Kind, start: Int) throws(Error) -> GoTemplate.Control {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maxDepth else { throw Error(message: "template nesting too deep", offset: start) }
        let scope = declared.count
        defer { declared.removeLast(declared.count - scope) }
        let pipe = try pipeline(start: start, inParens: false, allowDeclare: kind == .rangeNode ? 2 : 1)
        try closeAction(start)
        let savedDot = dotIsData
        if kind != .ifNode { dotIsData = false }
        if kind == .rangeNode { rangeDepth += 1 }
        let (body, stop) = try list()
        if kind == .rangeNode { rangeDepth -= 1 }
        dotIsData = savedDot
        var elseBody: [Node]?
        switch stop {
        case .eof: throw Error(message: "unexpected EOF", offset: b.count)
        case .end: break
        case .elseBranch(let isIf):
            if isIf {
                // `{{ else if x }}` is `{{ else }}{{ if x }}...{{ end }}` sharing one `{{ end }}`.
                elseBody = [.control(try control(.ifNode, start: i))]
            } else {
                let (e, stop2) = try list()
                guard case .end = stop2 else {
                    if case .eof = stop2 { throw Error(message: "unexpected EOF", offset: b.count) }
                    throw Error(message: "expected end; found {{else}}", offset: i)
                }
                elseBody = e
            }
        }
        return GoTemplate.Control(kind: kind, pipe: pipe, body: body, elseBody: elseBody, offset: start)
    }

    /// The next word (letters, digits, `_`), consumed; "" when there is none.
    mutating func word() -> String {
        let s = i
        while i < b.count, isAlnum(b[i]) { i += 1 }
        return String(decoding: b[s..<i], as: UTF8.self)
    }

    func find(_ s: String, from: Int) -> Int? {
        let pat = Array(s.utf8)
        var k = from
        while k + pat.count <= b.count {
            if b[k..<(k + pat.count)].elementsEqual(pat) { return k }
            k += 1
        }
        return nil
    }

    mutating func skipSpace() {
        while i < b.count, isSpace(b[i]) { i += 1 }
    }

    /// Consumes `}}`, or ` -}}` and the whitespace after it.
    mutating func closeAction(_ start: Int) throws(Error) {
        skipSpace()
        if i + 2 < b.count, b[i] == UInt8(ascii: "-"), b[i + 1] == UInt8(ascii: "}"), b[i + 2] == UInt8(ascii: "}") {
            i += 3
            skipSpace()
            return
        }
        guard i + 1 < b.count, b[i] == UInt8(ascii: "}"), b[i + 1] == UInt8(ascii: "}") else {
            if i >= b.count { throw Error(message: "unclosed action", offset: start) }
            throw Error(message: "unexpected \"\(String(decoding: [b[i]], as: UTF8.self))\" in action", offset: i)
        }
        i += 2
    }

    func atActionEnd() -> Bool {
        guard i < b.count else { return true }
        if b[i] == UInt8(ascii: "}"), i + 1 < b.count, b[i + 1] == UInt8(ascii: "}") { return true }
        if b[i] == UInt8(ascii: "-"), i + 2 < b.count, b[i + 1] == UInt8(ascii: "}"), b[i + 2] == UInt8(ascii: "}") { return true }
        return false
    }

    /// `$x := ...`, `$x = ...`, `$i, $e := ...` (range): the variables, and whether it assigns.
    mutating func declaration(allow: Int) throws(Error) -> ([String], Bool)? {
        guard i < b.count, b[i] == UInt8(ascii: "$") else { return nil }
        let save = i
        var names: [String] = []
        while true {
            let at = i
            guard i < b.count, b[i] == UInt8(ascii: "$") else { break }
            names.append(variableName())
            skipSpace()
            if i + 1 < b.count, b[i] == UInt8(ascii: ":"), b[i + 1] == UInt8(ascii: "=") {
                i += 2
                guard names.count <= allow else { throw Error(message: "too many declarations", offset: save) }
                return (names, false)
            }
            if i < b.count, b[i] == UInt8(ascii: "="), !(i + 1 < b.count && b[i + 1] == UInt8(ascii: "=")) {
                i += 1
                guard names.count <= allow else { throw Error(message: "too many declarations", offset: save) }
                for n in names where !declared.contains(n) {
                    throw Error(message: "undefined variable \"\(n)\"", offset: at)
                }
                return (names, true)
            }
            if allow > 1, names.count == 1, i < b.count, b[i] == UInt8(ascii: ",") {
                i += 1
                skipSpace()
                continue
            }
            break
        }
        i = save
        return nil
    }

    mutating func pipeline(start: Int, inParens: Bool, allowDeclare: Int) throws(Error) -> GoTemplate.Pipeline {
        skipSpace()
        let offset = i
        var declare: [String] = []
        var isAssign = false
        if allowDeclare > 0, let (names, assign) = try declaration(allow: allowDeclare) {
            declare = names
            isAssign = assign
        }
        var commands: [GoTemplate.Command] = []
        while true {
            skipSpace()
            let cmdOffset = i
            var args: [GoTemplate.Operand] = []
            while true {
                skipSpace()
                if atActionEnd() || (i < b.count && (b[i] == UInt8(ascii: "|") || b[i] == UInt8(ascii: ")"))) { break }
                args.append(try operand())
            }
            if args.isEmpty {
                if i >= b.count { throw Error(message: "unclosed action", offset: start) }
                throw Error(
                    message: commands.isEmpty && declare.isEmpty ? "missing value for command" : "missing command in pipeline",
                    offset: cmdOffset)
            }
            if case .function = args[0] {
            } else if case .nilValue = args[0] {
                throw Error(message: "nil is not a command", offset: cmdOffset)
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
        if !isAssign { declared += declare }
        return GoTemplate.Pipeline(declare: declare, isAssign: isAssign, commands: commands, offset: offset)
    }

    mutating func variableName() -> String {
        let s = i
        i += 1
        while i < b.count, isAlnum(b[i]) { i += 1 }
        return String(decoding: b[s..<i], as: UTF8.self)
    }

    mutating func fieldChain() -> [String] {
        var fields: [String] = []
        while i < b.count, b[i] == UInt8(ascii: "."), i + 1 < b.count, isAlnum(b[i + 1]) {
            i += 1
            fields.append(word())
        }
        return fields
    }

    mutating func operand() throws(Error) -> GoTemplate.Operand {
        let start = i
        let c = b[i]
        switch c {
        case UInt8(ascii: "$"):
            let name = variableName()
            guard declared.contains(name) else { throw Error(message: "undefined variable \"\(name)\"", offset: start) }
            return .variable(name, fields: fieldChain(), offset: start)
        case UInt8(ascii: "."):
            if i + 1 < b.count, isAlnum(b[i + 1]), !(b[i + 1] >= 48 && b[i + 1] <= 57) {
                let fields = fieldChain()
                if dotIsData, let f = fields.first, !["Labels", "Value", "ExternalLabels", "ExternalURL"].contains(f) {
                    throw Error(
                        message: "unknown field \".\(f)\": templates can read .Labels, .Value, .ExternalLabels and .ExternalURL",
                        offset: start)
                }
                return .dot(fields: fields, offset: start)
            }
            if i + 1 < b.count, b[i + 1] >= 48 && b[i + 1] <= 57 { return try number() }
            i += 1
            return .dot(fields: [], offset: start)
        case UInt8(ascii: "\""), UInt8(ascii: "`"):
            let s = try string()
            return .string(s, quoted: String(decoding: b[start..<i], as: UTF8.self), offset: start)
        case UInt8(ascii: "("):
            depth += 1
            defer { depth -= 1 }
            guard depth <= Self.maxDepth else { throw Error(message: "template nesting too deep", offset: start) }
            i += 1
            let p = try pipeline(start: start, inParens: true, allowDeclare: 1)
            i += 1
            return .pipeline(p, fields: fieldChain())
        case UInt8(ascii: "'"):
            throw Error(message: "character constants are not supported by lookout's templates", offset: start)
        default:
            break
        }
        if (c >= 48 && c <= 57) || c == UInt8(ascii: "-") || c == UInt8(ascii: "+") {
            return try number()
        }
        if isAlnum(c) {
            let w = word()
            switch w {
            case "true": return .bool(true)
            case "false": return .bool(false)
            case "nil": return .nilValue
            case "if", "else", "end", "range", "with", "define", "template", "block", "break", "continue":
                throw Error(message: "unexpected <\(w)> in command", offset: start)
            default: break
            }
            if GoTemplate.supportedFunctions.contains(w) { return .function(w) }
            if GoTemplate.knownFunctions.contains(w) {
                throw Error(message: "template function \"\(w)\" is not supported by lookout", offset: start)
            }
            throw Error(message: "function \"\(w)\" not defined", offset: start)
        }
        throw Error(message: "unexpected \"\(String(decoding: [c], as: UTF8.self))\" in command", offset: start)
    }

    mutating func number() throws(Error) -> GoTemplate.Operand {
        let start = i
        if i < b.count, b[i] == UInt8(ascii: "-") || b[i] == UInt8(ascii: "+") { i += 1 }
        while i < b.count,
            isAlnum(b[i]) || b[i] == UInt8(ascii: ".")
                || ((b[i] == UInt8(ascii: "-") || b[i] == UInt8(ascii: "+")) && (b[i - 1] | 0x20) == UInt8(ascii: "e"))
        {
            i += 1
        }
        let s = String(decoding: b[start..<i], as: UTF8.self)
        var digits = Substring(s)
        var negative = false
        if digits.hasPrefix("-") || digits.hasPrefix("+") {
            negative = digits.hasPrefix("-")
            digits = digits.dropFirst()
        }
        if let v = Int64(digits.filter { $0 != "_" }) { return .int(negative ? -v : v, text: s) }
        if digits.lowercased().hasPrefix("0x"), let v = Int64(digits.dropFirst(2), radix: 16) { return .int(negative ? -v : v, text: s) }
        if let v = GoFloat.parse(s), !s.lowercased().contains("inf"), !s.lowercased().contains("nan") { return .float(v, text: s) }
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
