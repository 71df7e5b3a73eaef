import HTTPClient
import LookoutCore

/// Why a probe failed: the `reason` label of `lookout_probe_failures_total`.
public enum FailureReason: String, Sendable, Hashable, CaseIterable {
    case timeout, connect, dns, tls
    /// The status was not an expected one.
    case status
    /// The body check failed, or a scraped body did not parse.
    case body
    /// The body (or a scrape's samples) exceeded the target's limit.
    case limit
    /// Another transport failure: a reset mid-body, an answer that is not HTTP.
    case other
}

/// The verdict people see: DESIGN's thresholds, the same the default alert rules use.
public enum Verdict: String, Sendable, Hashable, Comparable {
    case ok, warning, critical

    /// Slower than this is a warning.
    public static let warningSeconds = 2.0
    /// Slower than this, or a timeout, is critical.
    public static let criticalSeconds = 5.0

    /// critical for a failure, a timeout or more than 5 s; warning for more than 2 s; else ok.
    public init(success: Bool, timedOut: Bool, totalSeconds: Double) {
        if !success || timedOut || totalSeconds > Self.criticalSeconds {
            self = .critical
        } else if totalSeconds > Self.warningSeconds {
            self = .warning
        } else {
            self = .ok
        }
    }

    public static func < (a: Self, b: Self) -> Bool {
        let order: [Verdict] = [.ok, .warning, .critical]
        return order.firstIndex(of: a)! < order.firstIndex(of: b)!
    }
}

/// The result of one probe, as recorded, exposed and shown.
public struct ProbeOutcome: Sendable, Hashable {
    /// When the probe started (wall clock).
    public var time: WallTime
    /// HTTP status, 0 when no answer arrived.
    public var status: Int
    public var timings: PhaseTimings
    public var reusedConnection: Bool
    public var success: Bool
    public var timedOut: Bool
    public var reason: FailureReason?
    /// What went wrong, in words: libcurl's message, the unexpected status, the failed body check.
    public var error: String?
    public var verdict: Verdict
    /// Decoded body bytes received.
    public var bodyBytes: Int

    public init(
        time: WallTime, status: Int, timings: PhaseTimings, reusedConnection: Bool = false, success: Bool,
        timedOut: Bool = false, reason: FailureReason? = nil, error: String? = nil, bodyBytes: Int = 0
    ) {
        self.time = time
        self.status = status
        self.timings = timings
        self.reusedConnection = reusedConnection
        self.success = success
        self.timedOut = timedOut
        self.reason = reason
        self.error = error
        self.bodyBytes = bodyBytes
        self.verdict = Verdict(success: success, timedOut: timedOut, totalSeconds: timings.total)
    }

    /// Marks the probe failed (keeping its timings and status).
    public mutating func fail(_ reason: FailureReason, _ message: String) {
        success = false
        self.reason = reason
        error = message
        timedOut = reason == .timeout
        verdict = Verdict(success: false, timedOut: timedOut, totalSeconds: timings.total)
    }
}

/// Turns an HTTP result into a probe outcome: transport errors first, then the status,
/// then the body check. Pure, so every rule is tested without a server.
public enum ProbeEvaluation {
    public static func evaluate(_ result: HTTPResult, endpoint: EndpointSettings, at time: WallTime) -> ProbeOutcome {
        var o = ProbeOutcome(
            time: time, status: result.status, timings: result.timings, reusedConnection: result.reusedConnection,
            success: true, bodyBytes: result.body.count)
        if let e = result.error {
            o.fail(reason(for: e.kind), e.message)
            return o
        }
        guard endpoint.statusIsExpected(result.status) else {
            let expected =
                endpoint.expectedStatuses.isEmpty ? "2xx" : endpoint.expectedStatuses.map(String.init).joined(separator: ", ")
            o.fail(.status, "status \(result.status), expected \(expected)")
            return o
        }
        if let check = endpoint.bodyCheck, let problem = checkBody(result.body, check) {
            o.fail(.body, problem)
        }
        return o
    }

    public static func reason(for kind: HTTPErrorKind) -> FailureReason {
        switch kind {
        case .timeout: return .timeout
        case .connect: return .connect
        case .dns: return .dns
        case .tls: return .tls
        case .limit: return .limit
        case .cancelled, .other: return .other
        }
    }

    /// nil when the body passes, else what is wrong with it.
    public static func checkBody(_ body: [UInt8], _ check: BodyCheck) -> String? {
        switch check {
        case .regex(let pattern):
            let text = String(decoding: body, as: UTF8.self)
            return pattern.matches(text) ? nil : "body does not match /\(pattern.pattern)/"
        case .jsonField(let path, let expected):
            let json: JSON
            do {
                json = try JSON(parsing: body)
            } catch {
                return "body is not JSON: \(error)"
            }
            guard let field = lookup(json, path: path) else { return "JSON field \(path) is missing" }
            guard let text = field.scalarText else { return "JSON field \(path) is not a scalar" }
            return text == expected ? nil : "JSON field \(path) is \"\(text)\", expected \"\(expected)\""
        }
    }

    /// `a.b.0.c`: object keys, or array indexes where the value is an array.
    static func lookup(_ json: JSON, path: String) -> JSON? {
        var current = json
        for part in path.split(separator: ".", omittingEmptySubsequences: false) {
            if let value = current[String(part)] {
                current = value
            } else if let i = Int(part), let value = current[i] {
                current = value
            } else {
                return nil
            }
        }
        return current
    }
}
