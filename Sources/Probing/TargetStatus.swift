import Config
import LookoutCore

public enum Health: String, Sendable, Hashable {
    case up, down, unknown
}

/// What the prober shows of one target (/api/v1/targets, the status page): an immutable
/// copy taken under the lock.
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
        /// Samples skipped since the start because their series was already in the body.
        public var duplicateSamplesTotal: Int

        public init(
            samples: Int, bodyBytes: Int, durationSeconds: Double = 0, error: String? = nil, duplicateSamplesTotal: Int = 0
        ) {
            self.samples = samples
            self.bodyBytes = bodyBytes
            self.durationSeconds = durationSeconds
            self.error = error
            self.duplicateSamplesTotal = duplicateSamplesTotal
        }

        /// The body parsed (`lookout_scrape_valid`).
        public var valid: Bool { error == nil }
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
}

extension Prober.TargetState {
    var status: TargetStatus {
        let endpointStatuses = endpoints.map { e in
            EndpointStatus(
                endpoint: e.kind, url: HTTPURL.redactingCredentials(e.settings.url),
                health: e.last.map { $0.success ? .up : .down } ?? .unknown, last: e.last, circuitOpen: e.breaker.isOpen,
                consecutiveFailures: e.breaker.consecutiveFailures, probes: e.probes, timeouts: e.timeouts,
                skippedOverlapping: e.skippedOverlapping, skippedCircuitOpen: e.skippedCircuitOpen,
                detailed: e.detailed?.json, detailedTruncated: e.detailed?.truncated ?? false, components: e.health)
        }
        let health: Health =
            endpointStatuses.contains { $0.health == .down }
            ? .down : (endpointStatuses.allSatisfy { $0.health == .up } && !endpointStatuses.isEmpty ? .up : .unknown)
        return TargetStatus(
            name: settings.name, interval: settings.interval, timeout: settings.http.timeout, health: health,
            endpoints: endpointStatuses,
            scrape: scrape)
    }
}
