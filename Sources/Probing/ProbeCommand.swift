import Config
import GoFormat
import HTTPClient
import LookoutCore

/// `lookout probe URL [--timeout 5s]`: one probe now, its phases, status and verdict.
public enum ProbeCommand {
    /// Exit codes: 0 ok, 1 warning (over 2 s), 2 critical (over 5 s, timeout, or failure).
    /// A URL that is not http:// or https:// is a usage error (exit 2, no request made).
    public static func run(
        url: String, timeout: Duration = .seconds(5), connectTimeout: Duration = .seconds(2), client: HTTPClient? = nil,
        clock: any AgentClock = SystemClock()
    ) async -> (output: String, exitCode: Int32) {
        guard HTTPURL(url) != nil else {
            return ("lookout probe: the URL must start with http:// or https://, found \"\(HTTPURL.redactingCredentials(url))\"\n", 2)
        }
        guard timeout > .zero else {
            return ("lookout probe: --timeout must be greater than 0\n", 2)
        }
        let owned = client == nil ? HTTPClient(maxCachedConnections: 4) : nil
        defer { owned?.shutdown() }
        let http = client ?? owned!
        let wall = clock.wallNow
        let result = await http.execute(
            HTTPClientRequest(url: url, timeout: timeout, connectTimeout: min(connectTimeout, timeout)))
        let outcome = ProbeEvaluation.evaluate(result, endpoint: EndpointSettings(url: url), at: wall)
        return (format(url: url, outcome: outcome, timeout: timeout), exitCode(outcome.verdict))
    }

    public static func exitCode(_ verdict: Verdict) -> Int32 {
        switch verdict {
        case .ok: return 0
        case .warning: return 1
        case .critical: return 2
        }
    }

    /// The report: one line per phase in milliseconds, the status, the verdict and why.
    public static func format(url: String, outcome o: ProbeOutcome, timeout: Duration) -> String {
        var out = "probe \(HTTPURL.redactingCredentials(url))\n"
        for (phase, seconds) in o.timings.labeled {
            let name = phase.padding(to: 12)
            out += "  \(name)\(milliseconds(seconds).leftPadding(to: 10)) ms\n"
        }
        out += "status      \(o.status == 0 ? "none" : String(o.status))\n"
        if let reason = o.reason {
            out += "error       \(reason.rawValue): \(o.error ?? "")\n"
        }
        let why: String
        switch o.verdict {
        case .ok:
            why = "answered in \(seconds(o.timings.total)) s"
        case .warning:
            why = "slow: \(seconds(o.timings.total)) s, over \(seconds(Verdict.warningSeconds)) s"
        case .critical:
            if o.timedOut {
                why = "timed out after \(seconds(o.timings.total)) s (timeout \(PromDuration.format(timeout)))"
            } else if !o.success {
                why = "failed: \(o.reason?.rawValue ?? "error")"
            } else {
                why = "very slow: \(seconds(o.timings.total)) s, over \(seconds(Verdict.criticalSeconds)) s"
            }
        }
        out += "verdict     \(o.verdict.rawValue) (\(why))\n"
        return out
    }

    /// Milliseconds with 3 decimals, e.g. `3002.417`.
    static func milliseconds(_ seconds: Double) -> String { fixed(seconds * 1000, decimals: 3) }

    static func seconds(_ seconds: Double) -> String { fixed(seconds, decimals: 3) }

    static func fixed(_ value: Double, decimals: Int) -> String {
        GoFloat.formatFixed(value, verb: "f", precision: decimals)
    }
}

extension String {
    fileprivate func padding(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }

    fileprivate func leftPadding(to width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
