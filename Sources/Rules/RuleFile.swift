import Config
import GoFormat
import LookoutCore
import PromQL
import Series

/// One rule of a Prometheus rule file, validated and with its expression parsed.
public struct RuleDefinition: Sendable {
    public enum Kind: String, Sendable { case alerting, recording }

    public var kind: Kind
    /// `alert:` or `record:`.
    public var name: String
    public var exprText: String
    public var expr: Expr
    /// `for:`: how long the condition must hold before the alert fires.
    public var holdDuration: Duration
    public var keepFiringFor: Duration
    public var labels: [(name: String, template: GoTemplate)]
    public var annotations: [(name: String, template: GoTemplate)]
    /// The queries the templates give `query` as string literals, parsed when the file loaded.
    public var templateQueries: [String: Expr] = [:]
    public var location: SourceLocation

    /// The rule's expression and its templates' queries: what the history must keep for it.
    public var expressions: [Expr] { [expr] + templateQueries.values }
}

/// A `groups:` entry.
public struct RuleGroupDefinition: Sendable {
    public var name: String
    public var file: String
    /// nil: the engine's default interval.
    public var interval: Duration?
    /// 0: no limit on the number of alerts or series a rule may produce.
    public var limit: Int
    public var rules: [RuleDefinition]
    public var location: SourceLocation
}

/// Reads Prometheus rule files strictly: unknown keys, bad durations, invalid names,
/// PromQL lookout does not evaluate (native histograms), rules that read further back than
/// `maxLookback` and unsupported template constructs are errors that name the file, line,
/// column and the rule.
public enum RuleFileLoader {
    /// Parses one rule file's text; returns the groups that are valid and every problem found.
    /// `maxLookback`: the longest history a rule may need (nil: no limit, as in promtool).
    public static func parse(
        text: String, file: String, maxLookback: Duration? = RuleSettings.defaultMaxLookback
    ) -> (groups: [RuleGroupDefinition], diagnostics: [Diagnostic]) {
        let doc = YAMLDocument(text: text, file: file)
        var groups: [RuleGroupDefinition] = []
        var extra: [Diagnostic] = []
        if let root = doc.root, !root.isNull {
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { Array($0.unicodeScalars) }
            var loader = Loader(doc: doc, lines: lines, maxLookback: maxLookback)
            groups = loader.groups(root)
            extra = loader.diagnostics
        }
        var all = doc.diagnostics + extra
        all.sort { ($0.location?.line ?? 0, $0.location?.column ?? 0) < ($1.location?.line ?? 0, $1.location?.column ?? 0) }
        return (groups, all)
    }

    /// Reads and parses rule files.
    public static func load(
        files: [String], maxLookback: Duration? = RuleSettings.defaultMaxLookback
    ) -> (groups: [RuleGroupDefinition], diagnostics: [Diagnostic]) {
        var groups: [RuleGroupDefinition] = []
        var diagnostics: [Diagnostic] = []
        for f in files {
            let text: String
            do {
                text = try FileIO.readText(f)
            } catch {
                diagnostics.append(Diagnostic("cannot read rule file: \(error)", file: f))
                continue
            }
            let r = parse(text: text, file: f, maxLookback: maxLookback)
            groups += r.groups
            diagnostics += r.diagnostics
        }
        return (groups, diagnostics)
    }

    private struct Loader {
        let doc: YAMLDocument
        let lines: [[Unicode.Scalar]]
        let maxLookback: Duration?
        var diagnostics: [Diagnostic] = []

        init(doc: YAMLDocument, lines: [[Unicode.Scalar]], maxLookback: Duration?) {
            self.doc = doc
            self.lines = lines
            self.maxLookback = maxLookback
        }

        mutating func error(_ message: String, at location: SourceLocation) {
            diagnostics.append(Diagnostic(message, at: location))
        }

        mutating func groups(_ root: YAMLValue) -> [RuleGroupDefinition] {
            guard let top = root.mapping("rule file", allowedKeys: ["groups"]) else { return [] }
            guard let list = top["groups"]?.sequence("groups") else { return [] }
            var out: [RuleGroupDefinition] = []
            var names: Set<String> = []
            for g in list {
                let label = g.peek("name")?.scalarString.map { "group \"\($0)\"" } ?? "group"
                guard let m = g.mapping(label, allowedKeys: ["name", "interval", "limit", "rules"]) else { continue }
                guard let nameValue = m.required("name"), let name = nameValue.string("group name") else { continue }
                if name.isEmpty {
                    error("group name should not be empty", at: nameValue.location)
                    continue
                }
                if !names.insert(name).inserted {
                    error("groupname: \"\(name)\" is repeated in the same file", at: nameValue.location)
                    continue
                }
                var interval: Duration?
                if let v = m["interval"] {
                    interval = v.duration("\(label): interval")
                    if interval == .zero { interval = nil }
                }
                var limit = 0
                if let v = m["limit"] { limit = v.int("\(label): limit", range: 0...Int.max) ?? 0 }
                var rules: [RuleDefinition] = []
                for (i, r) in (m["rules"]?.sequence("\(label): rules") ?? []).enumerated() {
                    if let rule = rule(r, group: name, index: i) { rules.append(rule) }
                }
                out.append(RuleGroupDefinition(name: name, file: doc.file, interval: interval, limit: limit, rules: rules, location: g.location))
            }
            return out
        }

        static let ruleKeys = ["alert", "record", "expr", "for", "keep_firing_for", "labels", "annotations"]

        mutating func rule(_ v: YAMLValue, group: String, index: Int) -> RuleDefinition? {
            let alertName = v.peek("alert")?.scalarString
            let recordName = v.peek("record")?.scalarString
            let label: String
            if let n = alertName ?? recordName {
                label = "group \"\(group)\", rule \"\(n)\""
            } else {
                label = "group \"\(group)\", rule #\(index + 1)"
            }
            let before = doc.diagnostics.count + diagnostics.count
            guard let m = v.mapping(label, allowedKeys: Self.ruleKeys) else { return nil }
            let kind: RuleDefinition.Kind
            let name: String
            switch (m["alert"], m["record"]) {
            case (.some, .some):
                error("\(label): only one of 'record' and 'alert' must be set", at: m.location)
                return nil
            case (.none, .none):
                error("\(label): one of 'record' or 'alert' must be set", at: m.location)
                return nil
            case (.some(let a), .none):
                guard let s = a.string("\(label): alert") else { return nil }
                kind = .alerting
                name = s
                if s.isEmpty { error("\(label): alert name must not be empty", at: a.location) }
            case (.none, .some(let r)):
                guard let s = r.string("\(label): record") else { return nil }
                kind = .recording
                name = s
                if !MetricNames.isValidMetricName(s) { error("\(label): invalid recording rule name: \(s)", at: r.location) }
            }
            var expr: Expr?
            var exprText = ""
            if let e = m["expr"], let text = e.string("\(label): expr") {
                exprText = text
                if text.trimmingSpaces().isEmpty {
                    error("\(label): field 'expr' must be set in rule", at: e.location)
                } else {
                    do {
                        let parsed = try PromQLParser.parse(text)
                        if parsed.type != .vector && parsed.type != .scalar {
                            error("\(label): the expression must give an instant vector or a scalar, not a \(parsed.type.rawValue)", at: e.location)
                        } else if let problem = lookbackProblem(parsed) {
                            error("\(label): \(problem.message)", at: position(in: e, offset: problem.offset))
                        } else {
                            expr = parsed
                        }
                    } catch {
                        let what = error.unsupported ? "unsupported PromQL" : "could not parse expression"
                        self.error("\(label): \(what): \(error.message)", at: position(in: e, offset: error.range.start))
                    }
                }
            } else if m["expr"] == nil {
                error("\(label): field 'expr' must be set in rule", at: m.location)
            }
            var hold = Duration.zero
            var keep = Duration.zero
            if let f = m["for"] {
                if kind == .recording { error("\(label): invalid field 'for' in recording rule", at: f.location) }
                hold = f.duration("\(label): for") ?? .zero
            }
            if let k = m["keep_firing_for"] {
                if kind == .recording { error("\(label): invalid field 'keep_firing_for' in recording rule", at: k.location) }
                keep = k.duration("\(label): keep_firing_for") ?? .zero
            }
            var labels: [(name: String, template: GoTemplate)] = []
            var queries: [String: Expr] = [:]
            if let lv = m["labels"] {
                labels = templates(lv, what: "label", rule: label, templated: kind == .alerting, queries: &queries)
            }
            var annotations: [(name: String, template: GoTemplate)] = []
            if let av = m["annotations"] {
                if kind == .recording { error("\(label): invalid field 'annotations' in recording rule", at: av.location) }
                annotations = templates(av, what: "annotation", rule: label, templated: true, queries: &queries)
            }
            guard let expr, doc.diagnostics.count + diagnostics.count == before else { return nil }
            return RuleDefinition(
                kind: kind, name: name, exprText: exprText, expr: expr, holdDuration: hold, keepFiringFor: keep,
                labels: labels, annotations: annotations, templateQueries: queries, location: m.location)
        }

        /// Why the history cannot answer the expression within `maxLookback`, and where.
        func lookbackProblem(_ expr: Expr) -> (message: String, offset: Int)? {
            guard let cap = maxLookback, let need = expr.longestRetention() else { return nil }
            let limit = "rules.max_lookback (\(PromDuration.format(cap)))"
            guard let ms = need.milliseconds else {
                return ("reads at a fixed time (@ <timestamp>), so it needs an unbounded history, beyond \(limit)", need.range.start)
            }
            guard ms > cap.milliseconds else { return nil }
            return ("needs \(PromDuration.format(milliseconds: ms)) of history, more than \(limit)", need.range.start)
        }

        /// A rule's labels or annotations; the queries their templates give `query` as literals
        /// are parsed into `queries` (a bad one is an error at its position).
        mutating func templates(
            _ v: YAMLValue, what: String, rule: String, templated: Bool, queries: inout [String: Expr]
        ) -> [(name: String, template: GoTemplate)] {
            guard let pairs = v.stringMap("\(rule): \(what)s") else { return [] }
            var out: [(name: String, template: GoTemplate)] = []
            for (key, value, keyLocation) in pairs {
                if !MetricNames.isValidLabelName(key) || (what == "label" && key == "__name__") {
                    error("\(rule): invalid \(what) name: \(key)", at: keyLocation)
                    continue
                }
                let valueNode = v.peek(key)
                if !templated {
                    // Recording rules' labels are not templates: the text is the value.
                    out.append((key, GoTemplate(literalText: value)))
                    continue
                }
                let template: GoTemplate
                do {
                    template = try GoTemplate(value)
                } catch {
                    let at = valueNode.map { position(in: $0, offset: error.offset) } ?? keyLocation
                    self.error("\(rule): \(what) \"\(key)\": template: \(error.message)", at: at)
                    continue
                }
                out.append((key, template))
                for (query, offset) in template.queryLiterals where queries[query] == nil {
                    // The query's own offsets count from inside the literal's opening quote.
                    func at(_ inner: Int) -> SourceLocation {
                        valueNode.map { position(in: $0, offset: offset + 1 + inner) } ?? keyLocation
                    }
                    let context = "\(rule): \(what) \"\(key)\": query \(goQuoted(query))"
                    do {
                        let parsed = try PromQLParser.parse(query)
                        if parsed.type != .vector && parsed.type != .scalar {
                            error("\(context): the expression must give an instant vector or a scalar, not a \(parsed.type.rawValue)", at: at(0))
                        } else if let problem = lookbackProblem(parsed) {
                            error("\(context): \(problem.message)", at: at(problem.offset))
                        } else {
                            queries[query] = parsed
                        }
                    } catch {
                        let whatError = error.unsupported ? "unsupported PromQL" : "could not parse expression"
                        self.error("\(context): \(whatError): \(error.message)", at: at(error.range.start))
                    }
                }
            }
            return out
        }

        /// The file position of a UTF-8 offset inside a scalar's value: the scalar's start
        /// plus the offset, following the scalar's lines for multi-line and block styles.
        func position(in value: YAMLValue, offset: Int) -> SourceLocation {
            let start = value.location
            guard let text = value.scalarString, let style = value.scalarStyle else { return start }
            // Offsets count UTF-8 bytes; columns count Unicode scalars.
            let prefix = String(decoding: Array(text.utf8.prefix(offset)), as: UTF8.self)
            let target = prefix.unicodeScalars.count
            struct Segment {
                var line: Int  // 1-based
                var column: Int  // 1-based
                var valueStart: Int
            }
            var segments: [Segment] = []
            let block = style == .literal || style == .folded
            let quoted = style == .singleQuoted || style == .doubleQuoted
            var line = start.line
            var valueStart = 0
            let total = text.unicodeScalars.count
            if !block {
                segments.append(Segment(line: line, column: start.column + (quoted ? 1 : 0), valueStart: 0))
                if line - 1 < lines.count {
                    let rest = lines[line - 1].count - (start.column - 1 + (quoted ? 1 : 0))
                    valueStart = max(0, rest) + 1
                }
                line += 1
            } else {
                line += 1
            }
            var indent: Int?
            while valueStart <= total, line - 1 < lines.count {
                let content = lines[line - 1]
                let leading = content.prefix { $0 == " " || $0 == "\t" }.count
                if block {
                    if indent == nil, leading < content.count { indent = leading }
                    let ind = min(indent ?? leading, content.count)
                    segments.append(Segment(line: line, column: ind + 1, valueStart: valueStart))
                    valueStart += content.count - ind + 1
                } else {
                    segments.append(Segment(line: line, column: leading + 1, valueStart: valueStart))
                    valueStart += content.count - leading + 1
                }
                line += 1
                if segments.count > 10_000 { break }
            }
            guard let seg = segments.last(where: { $0.valueStart <= target }) else { return start }
            return SourceLocation(file: start.file, line: seg.line, column: seg.column + target - seg.valueStart)
        }
    }
}

