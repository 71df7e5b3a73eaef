import GoFormat
import LookoutCore
import PromQL
import Series

public enum RuleHealth: String, Sendable {
    case unknown, ok, err
}

/// What rule evaluation needs besides the rules: where to read and write series and the
/// alert templates' external data.
struct EvaluationContext {
    let history: History
    let evaluator: Evaluator
    let externalLabels: Labels
    let externalURL: String
    let clock: any AgentClock
}

/// A rule being evaluated: its definition, its alerts (alerting rules) and its health.
final class RuleRuntime {
    let definition: RuleDefinition
    var machine: AlertStateMachine
    var health = RuleHealth.unknown
    var lastError = ""
    var lastEvaluation: WallTime?
    var evaluationDuration: Duration = .zero
    /// Series this rule wrote at its last successful evaluation (staleness markers follow
    /// when they are not written again).
    var seriesInPreviousEval: Set<Labels> = []
    let generatorURLPath: String
    /// The expression as Prometheus prints it (the rules API).
    let query: String
    /// The evaluation cache's keys of the expression's parts, printed once.
    let keys: SubexpressionKeys
    /// The rules API's labels and annotations (their template text), made once.
    let labelTexts: [(String, String)]
    let annotationTexts: [(String, String)]
    /// The `lookout_alerts` series an alerting rule shows at zero: its own severity's, when
    /// that is literal, pending and firing (so dashboards show 0, not "no data").
    let zeroAlertSeries: [Labels]

    init(_ definition: RuleDefinition) {
        self.definition = definition
        machine = AlertStateMachine(holdDuration: definition.holdDuration, keepFiringFor: definition.keepFiringFor)
        query = definition.expr.description
        keys = SubexpressionKeys(definition.expr)
        labelTexts = definition.labels.map { ($0.name, $0.template.text) }
        annotationTexts = definition.annotations.map { ($0.name, $0.template.text) }
        if definition.kind == .alerting, let sev = labelTexts.first(where: { $0.0 == "severity" })?.1, !sev.contains("{{") {
            zeroAlertSeries = ["pending", "firing"].map { ["alertname": definition.name, "severity": sev, "state": $0] }
        } else {
            zeroAlertSeries = []
        }
        generatorURLPath = "/graph?g0.expr=" + URLQuery.escape(query) + "&g0.tab=1"
    }

    /// Name plus static labels: a reload carries state over between rules with the same key
    /// in a group with the same file and name (Prometheus' `CopyState`).
    var stateKey: String {
        definition.kind.rawValue + "\u{0}" + definition.name + "\u{0}"
            + definition.labels.map { "\($0.name)=\($0.template.text)" }.joined(separator: "\u{0}")
    }
}

final class RuleGroupRuntime {
    let definition: RuleGroupDefinition
    let interval: Duration
    var rules: [RuleRuntime]
    var lastEvaluation: WallTime?
    var evaluationDuration: Duration = .zero
    var nextEvaluation: WallTime?
    var failures = 0

    init(_ definition: RuleGroupDefinition, defaultInterval: Duration) {
        self.definition = definition
        interval = definition.interval ?? defaultInterval
        rules = definition.rules.map(RuleRuntime.init)
    }

    var key: String { definition.file + "\u{0}" + definition.name }

    /// Evaluates every rule in order at `ts`, as Prometheus' `Group.Eval` does: a rule's
    /// results are written before the next rule runs; a failing rule keeps its previous
    /// alerts and writes nothing.
    func evaluate(at ts: WallTime, _ ctx: EvaluationContext) {
        let groupStart = ctx.clock.now
        let t = ts.millisecondsSinceEpoch
        for rule in rules {
            let start = ctx.clock.now
            defer {
                rule.evaluationDuration = ctx.clock.now - start
                rule.lastEvaluation = ts
            }
            let output: [Sample]
            do {
                output = try evaluate(rule, at: ts, ctx)
            } catch {
                rule.health = .err
                rule.lastError = error.message
                failures += 1
                continue
            }
            rule.health = .ok
            rule.lastError = ""
            var written = Set<Labels>(minimumCapacity: output.count)
            for s in output {
                if ctx.history.append(s.labels, t, s.value) { written.insert(s.labels) }
            }
            for old in rule.seriesInPreviousEval where !written.contains(old) {
                ctx.history.append(old, t, StaleNaN.value)
            }
            rule.seriesInPreviousEval = written
        }
        lastEvaluation = ts
        evaluationDuration = ctx.clock.now - groupStart
    }

    /// The samples the rule writes: a recording rule's result under its name and labels, or
    /// an alerting rule's `ALERTS` and `ALERTS_FOR_STATE` series.
    private func evaluate(_ rule: RuleRuntime, at ts: WallTime, _ ctx: EvaluationContext) throws(EvalError) -> [Sample] {
        let def = rule.definition
        let result = try ctx.evaluator.query(def.expr, at: ts.millisecondsSinceEpoch, keys: rule.keys)
        switch def.kind {
        case .recording:
            var out: [Sample] = []
            out.reserveCapacity(result.count)
            var seen = Set<Labels>(minimumCapacity: result.count)
            for s in result {
                var labels = s.labels.setting("__name__", def.name)
                for l in def.labels { labels.set(l.name, l.template.text) }
                guard seen.insert(labels).inserted else {
                    throw EvalError("vector contains metrics with the same labelset after applying rule labels")
                }
                out.append(Sample(labels: labels, value: s.value))
            }
            if definition.limit > 0 && out.count > definition.limit {
                throw EvalError("exceeded limit of \(definition.limit) with \(out.count) series")
            }
            return out
        case .alerting:
            var elements: [AlertStateMachine.Element] = []
            elements.reserveCapacity(result.count)
            let query = Self.templateQuery(def, at: ts.millisecondsSinceEpoch, ctx)
            for s in result {
                var data = GoTemplate.Data(
                    labels: s.labels, externalLabels: ctx.externalLabels, externalURL: ctx.externalURL, value: s.value)
                data.query = query
                data.name = "__alert_" + def.name
                data.firstLineOffset = Self.templatePrefixLength
                var labels = s.labels.droppingMetricName
                for l in def.labels { labels.set(l.name, l.template.expand(data)) }
                labels.set("alertname", def.name)
                let annotations = Labels(sorted: def.annotations.map { Label(name: $0.name, value: $0.template.expand(data)) }
                    .sorted { $0.name < $1.name })
                elements.append(AlertStateMachine.Element(labels: labels, annotations: annotations, value: s.value))
            }
            let active = try rule.machine.apply(elements, at: ts, limit: definition.limit)
            var out: [Sample] = []
            out.reserveCapacity(active.count * 2)
            for a in active {
                var l = a.labels.setting("__name__", "ALERTS")
                l.set("alertstate", a.state.rawValue)
                out.append(Sample(labels: l, value: 1))
                out.append(Sample(labels: a.labels.setting("__name__", "ALERTS_FOR_STATE"), value: Double(a.activeAt.millisecondsSinceEpoch / 1000)))
            }
            return out
        }
    }
}

extension RuleGroupRuntime {
    /// Prometheus runs alert templates after its definitions of `$labels`, `$externalLabels`,
    /// `$externalURL` and `$value` on the same line: execution errors count their bytes.
    static let templatePrefixLength =
        "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}".utf8.count

    /// Templates' `query`: PromQL over the rules' history at the rule's evaluation time; the
    /// literal queries parsed when the rule loaded, others when they run.
    static func templateQuery(
        _ def: RuleDefinition, at t: Int64, _ ctx: EvaluationContext
    ) -> (String) throws(GoTemplate.QueryError) -> [TemplateSample] {
        let evaluator = ctx.evaluator
        return { (text: String) throws(GoTemplate.QueryError) -> [TemplateSample] in
            let expr: Expr
            if let e = def.templateQueries[text] {
                expr = e
            } else {
                do throws(ParseError) {
                    expr = try PromQLParser.parse(text)
                } catch {
                    throw GoTemplate.QueryError("\(Self.lineColumn(text, error.range.start)): parse error: \(error.message)")
                }
            }
            do throws(EvalError) {
                return try evaluator.query(expr, at: t).map { TemplateSample(labels: $0.labels, value: $0.value) }
            } catch {
                throw GoTemplate.QueryError(error.message)
            }
        }
    }

    /// `LINE:COL` (1-based) of a UTF-8 offset, as Prometheus' parse errors give positions.
    static func lineColumn(_ text: String, _ offset: Int) -> String {
        let before = Array(text.utf8.prefix(offset))
        let line = 1 + before.count(where: { $0 == 10 })
        let column = before.count - (before.lastIndex(of: 10).map { $0 + 1 } ?? 0) + 1
        return "\(line):\(column)"
    }
}

/// `url.QueryEscape` (generator URLs, links of the status page).
public enum URLQuery {
    public static func escape(_ s: String) -> String { GoURL.queryEscape(s) }
}
