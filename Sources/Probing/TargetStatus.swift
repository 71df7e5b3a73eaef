import LookoutCore

public enum Health: String, Sendable, Hashable {
    case up, down, unknown
}

/// What /api/v1/targets shows of one target: an immutable copy taken under the lock.
public struct TargetStatus: Sendable {
    public var name: String
    public var interval: Duration
    public var timeout: Duration
    /// down when any endpoint's last probe failed; up when all succeeded; else unknown.
    public var health: Health
    public var endpoints: [EndpointStatus]
    /// The last scrape of the `metrics` endpoint, if there was one.
    public var scrape: ScrapeStatus?

    public struct ScrapeStatus: Sendable, Hashable {
        public var samples: Int
        public var bodyBytes: Int
        /// The request and the parsing of its body, in seconds.
        public var durationSeconds: Double
        /// Why the last body could not be parsed (its reason and line); nil when it was.
        public var error: String?

        public init(samples: Int, bodyBytes: Int, durationSeconds: Double = 0, error: String? = nil) {
            self.samples = samples
            self.bodyBytes = bodyBytes
            self.durationSeconds = durationSeconds
            self.error = error
        }

        /// The body parsed (`lookout_scrape_valid`).
        public var valid: Bool { error == nil }
    }

    public var json: JSON {
        var fields: [(String, JSON)] = [
            ("name", .string(name)),
            ("health", .string(health.rawValue)),
            ("interval", .string(PromDuration.format(interval))),
            ("timeout", .string(PromDuration.format(timeout))),
            ("endpoints", .array(endpoints.map(\.json))),
        ]
        if let scrape {
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
}

public struct EndpointStatus: Sendable {
    public var endpoint: EndpointKind
    /// The URL without user and password.
    public var url: String
    public var health: Health
    public var last: ProbeOutcome?
    public var circuitOpen: Bool
    public var consecutiveFailures: Int
    public var probes: Int
    public var timeouts: Int
    /// Ticks skipped because the previous probe of the endpoint was still running.
    public var skippedOverlapping: Int
    /// Ticks skipped because the circuit breaker was open.
    public var skippedCircuitOpen: Int
    /// The last body of a `detailed` endpoint: JSON when it parsed, else text.
    public var detailed: JSON?
    public var detailedTruncated: Bool
    /// The last answer read per component, for endpoints that read their body so.
    public var components: HealthBodyReading? = nil

    public var json: JSON {
        var fields: [(String, JSON)] = [
            ("endpoint", .string(endpoint.rawValue)),
            ("url", .string(url)),
            ("health", .string(health.rawValue)),
            ("circuit", .string(circuitOpen ? "open" : "closed")),
            ("consecutive_failures", .number(Double(consecutiveFailures))),
            ("probes", .number(Double(probes))),
            ("timeouts", .number(Double(timeouts))),
            ("skipped_overlapping", .number(Double(skippedOverlapping))),
            ("skipped_circuit_open", .number(Double(skippedCircuitOpen))),
            ("last_result", last.map(Self.json) ?? .null),
        ]
        if endpoint == .detailed {
            fields.append(("detailed", detailed ?? .null))
            if detailedTruncated { fields.append(("detailed_truncated", true)) }
        }
        if let components { fields.append(("components", Self.json(components))) }
        return .object(fields)
    }

    static func json(_ r: HealthBodyReading) -> JSON {
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

    static func json(_ o: ProbeOutcome) -> JSON {
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

/// `scheme://user:password@host/path` → `scheme://host/path`: credentials in a URL are
/// never shown.
public func redactingCredentials(_ url: String) -> String {
    guard let schemeEnd = url.firstRange(of: "://") else { return url }
    let rest = url[schemeEnd.upperBound...]
    let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
    guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return url }
    return String(url[..<schemeEnd.upperBound]) + String(rest[rest.index(after: at)...])
}

extension Prober.TargetState {
    var status: TargetStatus {
        let endpointStatuses = endpoints.map { e in
            EndpointStatus(
                endpoint: e.kind, url: redactingCredentials(e.settings.url),
                health: e.last.map { $0.success ? .up : .down } ?? .unknown, last: e.last, circuitOpen: e.breaker.isOpen,
                consecutiveFailures: e.breaker.consecutiveFailures, probes: e.probes, timeouts: e.timeouts,
                skippedOverlapping: e.skippedOverlapping, skippedCircuitOpen: e.skippedCircuitOpen,
                detailed: e.detailed?.json, detailedTruncated: e.detailed?.truncated ?? false, components: e.health)
        }
        let health: Health =
            endpointStatuses.contains { $0.health == .down }
            ? .down : (endpointStatuses.allSatisfy { $0.health == .up } && !endpointStatuses.isEmpty ? .up : .unknown)
        return TargetStatus(
            name: settings.name, interval: settings.interval, timeout: settings.timeout, health: health,
            endpoints: endpointStatuses,
            scrape: scrape)
    }
}
