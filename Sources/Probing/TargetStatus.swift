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

        public init(samples: Int, bodyBytes: Int, durationSeconds: Double = 0) {
            self.samples = samples
            self.bodyBytes = bodyBytes
            self.durationSeconds = durationSeconds
        }
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
                        "duration_seconds": .number(scrape.durationSeconds),
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

extension Prober.TargetState {
    var status: TargetStatus {
        let endpointStatuses = endpoints.map { e in
            EndpointStatus(
                endpoint: e.kind, url: redactingCredentials(e.settings.url),
                health: e.last.map { $0.success ? .up : .down } ?? .unknown, last: e.last, circuitOpen: e.breaker.isOpen,
                consecutiveFailures: e.breaker.consecutiveFailures, probes: e.probes, timeouts: e.timeouts,
                skippedOverlapping: e.skippedOverlapping, skippedCircuitOpen: e.skippedCircuitOpen,
                detailed: e.detailed?.json, detailedTruncated: e.detailed?.truncated ?? false)
        }
        let health: Health =
            endpointStatuses.contains { $0.health == .down }
            ? .down : (endpointStatuses.allSatisfy { $0.health == .up } && !endpointStatuses.isEmpty ? .up : .unknown)
        return TargetStatus(
            name: settings.name, interval: settings.interval, timeout: settings.timeout, health: health,
            endpoints: endpointStatuses,
            scrape: scrape.map { TargetStatus.ScrapeStatus(samples: $0.samples, bodyBytes: $0.bodyBytes, durationSeconds: $0.seconds) })
    }
}
