import LookoutCore
import Probing

/// `/api/v1/targets`: `{"status":"success","data":{"targets":[...]}}`, made from the
/// prober's typed status. URLs come without credentials; headers and secrets are not shown.
enum TargetsAPI {
    static func json(_ targets: [TargetStatus]) -> JSON {
        ["status": "success", "data": ["targets": .array(targets.map { target($0) })]]
    }

    static func target(_ t: TargetStatus) -> JSON {
        var fields: [(String, JSON)] = [
            ("name", .string(t.name)),
            ("health", .string(t.health.rawValue)),
            ("interval", .string(PromDuration.format(t.interval))),
            ("timeout", .string(PromDuration.format(t.timeout))),
            ("endpoints", .array(t.endpoints.map { endpoint($0) })),
        ]
        if let scrape = t.scrape {
            fields.append(
                (
                    "scrape",
                    [
                        "samples": .number(Double(scrape.samples)), "body_bytes": .number(Double(scrape.bodyBytes)),
                        "duration_seconds": .number(scrape.durationSeconds), "valid": .bool(scrape.valid),
                        "error": scrape.error.map { .string($0) } ?? .null,
                    ]
                ))
        }
        return .object(fields)
    }

    static func endpoint(_ e: EndpointStatus) -> JSON {
        var fields: [(String, JSON)] = [
            ("endpoint", .string(e.endpoint.rawValue)),
            ("url", .string(e.url)),
            ("health", .string(e.health.rawValue)),
            ("circuit", .string(e.circuitOpen ? "open" : "closed")),
            ("consecutive_failures", .number(Double(e.consecutiveFailures))),
            ("probes", .number(Double(e.probes))),
            ("timeouts", .number(Double(e.timeouts))),
            ("skipped_overlapping", .number(Double(e.skippedOverlapping))),
            ("skipped_circuit_open", .number(Double(e.skippedCircuitOpen))),
            ("last_result", e.last.map { outcome($0) } ?? .null),
        ]
        if e.endpoint == .detailed {
            fields.append(("detailed", e.detailed ?? .null))
            if e.detailedTruncated { fields.append(("detailed_truncated", true)) }
        }
        if let components = e.components { fields.append(("components", reading(components))) }
        return .object(fields)
    }

    static func reading(_ r: HealthBodyReading) -> JSON {
        var fields: [(String, JSON)] = []
        if let report = r.report {
            fields.append(("format", .string(report.format.rawValue)))
            fields.append(("status", report.status.map { .string($0) } ?? .null))
            fields.append(
                (
                    "components",
                    .array(
                        report.components.map { c in
                            .object([
                                ("name", .string(c.name)), ("status", .string(c.status)), ("up", .number(c.up)),
                                ("duration_seconds", c.durationSeconds.map { .number($0) } ?? .null),
                            ])
                        })
                ))
            fields.append(("dropped_components", .number(Double(report.droppedComponents))))
        }
        if let error = r.error { fields.append(("error", .string(error))) }
        if let s = r.sequential {
            fields.append(("sequential", .bool(s.isSequential)))
            fields.append(("sequential_explanation", .string(s.explanation)))
        }
        return .object(fields)
    }

    static func outcome(_ o: ProbeOutcome) -> JSON {
        let t = o.timings
        return [
            "time": .string(o.time.rfc3339),
            "status": .number(Double(o.status)),
            "success": .bool(o.success),
            "verdict": .string(o.verdict.rawValue),
            "reason": o.reason.map { .string($0.rawValue) } ?? .null,
            "timed_out": .bool(o.timedOut),
            "error": o.error.map { .string($0) } ?? .null,
            "reused_connection": .bool(o.reusedConnection),
            "body_bytes": .number(Double(o.bodyBytes)),
            "phases": [
                "resolve": .number(t.resolve), "connect": .number(t.connect), "tls": .number(t.tls),
                "processing": .number(t.processing), "transfer": .number(t.transfer), "total": .number(t.total),
            ],
        ]
    }
}
