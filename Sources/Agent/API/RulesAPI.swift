import GoFormat
import LookoutCore
import Rules

/// `/api/v1/rules` and `/api/v1/alerts` in Prometheus' shapes, made from the rule engine's
/// typed snapshots (`groups`, `alerts`) as of its last evaluation.
enum RulesAPI {
    /// What Go's zero `time.Time` prints: a rule or group never evaluated.
    static let zeroTime = "0001-01-01T00:00:00Z"

    /// `{"status":"success","data":{"alerts":[...]}}`: pending and firing alerts of all rules.
    static func alerts(_ alerts: [RuleAlert]) -> JSON {
        .object([("status", "success"), ("data", .object([("alerts", .array(alerts.map(alert)))]))])
    }

    /// `{"status":"success","data":{"groups":[...]}}`: every group with its rules.
    static func rules(_ groups: [GroupStatus]) -> JSON {
        .object([("status", "success"), ("data", .object([("groups", .array(groups.map(group)))]))])
    }

    static func group(_ g: GroupStatus) -> JSON {
        .object([
            ("name", .string(g.name)),
            ("file", .string(g.file)),
            ("rules", .array(g.rules.map(rule))),
            ("interval", .number(g.interval.seconds)),
            ("limit", .number(Double(g.limit))),
            ("evaluationTime", .number(g.evaluationDuration.seconds)),
            ("lastEvaluation", .string(g.lastEvaluation?.rfc3339 ?? zeroTime)),
        ])
    }

    static func rule(_ r: RuleStatus) -> JSON {
        let last = JSON.string(r.lastEvaluation?.rfc3339 ?? zeroTime)
        switch r.kind {
        case .alerting:
            return .object([
                ("state", .string(r.state.rawValue)),
                ("name", .string(r.name)),
                ("query", .string(r.query)),
                ("duration", .number(r.holdDuration.seconds)),
                ("keepFiringFor", .number(r.keepFiringFor.seconds)),
                ("labels", .labels(r.labels)),
                ("annotations", .labels(r.annotations)),
                ("alerts", .array(r.alerts.map(alert))),
                ("health", .string(r.health.rawValue)),
                ("lastError", .string(r.lastError)),
                ("evaluationTime", .number(r.evaluationDuration.seconds)),
                ("lastEvaluation", last),
                ("type", "alerting"),
            ])
        case .recording:
            return .object([
                ("name", .string(r.name)),
                ("query", .string(r.query)),
                ("labels", .labels(r.labels)),
                ("health", .string(r.health.rawValue)),
                ("lastError", .string(r.lastError)),
                ("evaluationTime", .number(r.evaluationDuration.seconds)),
                ("lastEvaluation", last),
                ("type", "recording"),
            ])
        }
    }

    static func alert(_ a: RuleAlert) -> JSON {
        var o: [(String, JSON)] = [
            ("labels", .labels(a.labels.map { ($0.name, $0.value) })),
            ("annotations", .labels(a.annotations.map { ($0.name, $0.value) })),
            ("state", .string(a.state.rawValue)),
            ("activeAt", .string(a.activeAt.rfc3339)),
        ]
        if let k = a.keepFiringSince { o.append(("keepFiringSince", .string(k.rfc3339))) }
        o.append(("value", .string(GoFloat.formatE(a.value))))
        return .object(o)
    }
}
