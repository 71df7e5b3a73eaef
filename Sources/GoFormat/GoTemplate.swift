/// Go's text/template as Prometheus runs it for alert labels and annotations: text and
/// actions, `if` / `else if` / `else`, `range` (with `else`, `break`, `continue`), `with`,
/// variables (`$labels`, `$value`, `$externalLabels`, `$externalURL`, `$`, `:=` and `=`),
/// pipelines, parentheses, field chains, trim markers and comments; Go's builtins `and`,
/// `or`, `not`, `eq`, `ne`, `lt`, `le`, `gt`, `ge`, `len`, `index`, `print`, `printf`,
/// `println`, and Prometheus' template functions (`humanize*`, `query`, `first`, `label`,
/// `value`, `sortByLabel`, `reReplaceAll`, `match`, `title`, ...; see `TemplateFunctions`).
/// `define`, `template`, `block` and `html`/`js`/`urlquery`/`slice`/`call` are refused when
/// the template is parsed (a rule file loads). Expansion is bounded: a template that does
/// too much work or writes too much fails with an error text instead of holding up the round.
public struct GoTemplate: Sendable {
    public struct Error: Swift.Error, Sendable, CustomStringConvertible {
        public var message: String
        /// UTF-8 offset in the template text.
        public var offset: Int
        /// Go's text of the node the error is about (an execution error's `at <...>`).
        public var context: String?
        public var description: String { message }

        public init(message: String, offset: Int, context: String? = nil) {
            self.message = message
            self.offset = offset
            self.context = context
        }
    }

    /// A failed `query`: its message, as Prometheus' query function would give it.
    public struct QueryError: Swift.Error, Sendable {
        public var message: String
        public init(_ message: String) { self.message = message }
    }

    /// What a template can read: Prometheus' data for alert labels and annotations.
    public struct Data {
        public var labels: any TemplateStringMap
        public var externalLabels: any TemplateStringMap
        public var externalURL: String
        public var value: Double
        /// `query`: evaluates PromQL at the alert's evaluation time (nil: `query` fails).
        public var query: ((String) throws(QueryError) -> [TemplateSample])?
        /// The template's name in execution errors (Prometheus: `__alert_NAME`); nil gives
        /// the short form without a location.
        public var name: String?
        /// Bytes Prometheus puts before the text on its first line (its variable definitions),
        /// counted in execution errors' columns.
        public var firstLineOffset = 0

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

    /// The work one expansion may do: steps (actions, commands, iterations; a query counts
    /// for 1,000 plus one per sample of its result) and bytes of output.
    public struct Limits: Sendable {
        public var steps = 100_000
        public var outputBytes = 1 << 20
        public init() {}
    }

    indirect enum Node: Sendable {
        case text(String)
        case action(Pipeline)
        case control(Control)
        case breakLoop(offset: Int)
        case continueLoop(offset: Int)
    }

    struct Control: Sendable {
        enum Kind: String, Sendable { case ifNode = "if", rangeNode = "range", withNode = "with" }
        var kind: Kind
        var pipe: Pipeline
        var body: [Node]
        var elseBody: [Node]?
        var offset: Int
    }

    struct Pipeline: Sendable {
        var declare: [String]
        /// `$x = ...` rather than `$x := ...`.
        var isAssign: Bool
        var commands: [Command]
        var offset: Int
    }

    struct Command: Sendable {
        var args: [Operand]
        var offset: Int
    }

    indirect enum Operand: Sendable {
        case function(String)
        case variable(String, fields: [String], offset: Int)
        case dot(fields: [String], offset: Int)
        /// The value, the literal as written and where.
        case string(String, quoted: String, offset: Int)
        case float(Double, text: String)
        case int(Int64, text: String)
        case bool(Bool)
        case nilValue
        case pipeline(Pipeline, fields: [String])
    }

    let nodes: [Node]
    public let text: String

    /// True when the text has no actions (expanding it returns it unchanged).
    public var isConstant: Bool { !nodes.contains { if case .text = $0 { return false } else { return true } } }

    /// Go's builtins and Prometheus' functions lookout runs.
    static let supportedFunctions: Set<String> = [
        "and", "or", "not", "eq", "ne", "lt", "le", "gt", "ge", "len", "index", "print", "printf", "println",
        "humanize", "humanize1024", "humanizeDuration", "humanizePercentage", "humanizeTimestamp", "toTime",
        "parseDuration", "title", "toUpper", "toLower", "match", "reReplaceAll", "safeHtml", "args", "query",
        "first", "label", "value", "strvalue", "sortByLabel", "externalURL", "pathPrefix", "graphLink",
        "tableLink", "stripPort", "stripDomain",
    ]
    /// Functions Go's templates provide that lookout does not; named in the error as unsupported.
    static let knownFunctions: Set<String> = ["call", "html", "slice", "js", "urlquery"]
    static let predefined: [String] = ["$", "$labels", "$externalLabels", "$externalURL", "$value"]

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
    public func expand(_ data: Data, limits: Limits = Limits()) -> String {
        if nodes.count == 1, case .text(let s) = nodes[0] { return s }
        if nodes.isEmpty { return "" }
        do {
            return try execute(data, limits: limits)
        } catch {
            return "<error expanding template: \(describe(error, data))>"
        }
    }

    func execute(_ data: Data, limits: Limits = Limits()) throws(Error) -> String {
        let exec = TemplateExecutor(data: data, limits: limits)
        try exec.run(nodes)
        return exec.output
    }

    /// Prometheus' text of an execution error: `error executing template NAME: template:
    /// NAME:LINE:COL: executing "NAME" at <NODE>: MESSAGE` (Go's column counts from 0).
    func describe(_ error: Error, _ data: Data) -> String {
        guard let name = data.name else { return error.message }
        let before = Array(text.utf8.prefix(error.offset))
        let line = 1 + before.count(where: { $0 == 10 })
        let column: Int
        if let nl = before.lastIndex(of: 10) {
            column = before.count - nl - 1
        } else {
            column = data.firstLineOffset + before.count
        }
        guard let context = error.context else {
            return "error executing template \(name): template: \(name): \(error.message)"
        }
        return "error executing template \(name): template: \(name):\(line):\(column): executing \"\(name)\" at <\(context)>: \(error.message)"
    }

    /// The string literals given to `query` (`query "up"`, `"up" | query`) with their UTF-8
    /// offsets: known before any evaluation, so they can be parsed when the rule loads.
    public var queryLiterals: [(query: String, offset: Int)] { queryUses.literals }

    /// Whether `query` is called with anything but a string literal (a query only known
    /// when the template runs, which may read any series).
    public var hasNonLiteralQuery: Bool { queryUses.nonLiteral }

    private var queryUses: (literals: [(query: String, offset: Int)], nonLiteral: Bool) {
        var out: [(query: String, offset: Int)] = []
        var nonLiteral = false
        func pipeline(_ p: Pipeline) {
            for (i, c) in p.commands.enumerated() {
                for (j, a) in c.args.enumerated() {
                    guard case .function("query") = a else { continue }
                    if j == 0, c.args.count == 2, case .string(let s, _, let at) = c.args[1] {
                        out.append((s, at))
                    } else if j == 0, c.args.count == 1, i > 0, p.commands[i - 1].args.count == 1,
                        case .string(let s, _, let at) = p.commands[i - 1].args[0]
                    {
                        out.append((s, at))
                    } else {
                        nonLiteral = true
                    }
                }
                for a in c.args { if case .pipeline(let inner, _) = a { pipeline(inner) } }
            }
        }
        func walk(_ nodes: [Node]) {
            for n in nodes {
                switch n {
                case .action(let p): pipeline(p)
                case .control(let c):
                    pipeline(c.pipe)
                    walk(c.body)
                    if let e = c.elseBody { walk(e) }
                case .text, .breakLoop, .continueLoop: break
                }
            }
        }
        walk(nodes)
        return (out, nonLiteral)
    }
}

extension GoTemplate.Operand {
    /// Go's `String()` of the node.
    var source: String {
        switch self {
        case .function(let n): return n
        case .variable(let n, let f, _): return ([n] + f).joined(separator: ".")
        case .dot(let f, _): return f.isEmpty ? "." : "." + f.joined(separator: ".")
        case .string(_, let q, _): return q
        case .float(_, let t), .int(_, let t): return t
        case .bool(let b): return b ? "true" : "false"
        case .nilValue: return "nil"
        case .pipeline(let p, let f): return "(" + p.source + ")" + f.map { "." + $0 }.joined()
        }
    }
}

extension GoTemplate.Pipeline {
    var source: String {
        var s = ""
        if !declare.isEmpty { s = declare.joined(separator: ", ") + (isAssign ? " = " : " := ") }
        return s + commands.map(\.source).joined(separator: " | ")
    }
}

extension GoTemplate.Command {
    var source: String { args.map(\.source).joined(separator: " ") }
}
