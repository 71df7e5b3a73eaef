import HTTPClient
import LookoutCore
import Testing

@testable import Probing

@Suite struct ProbeEvaluationTests {
    let time = WallTime(secondsSinceEpoch: 1_790_000_000)

    func result(status: Int = 200, body: String = "", total: Double = 0.1, error: HTTPError? = nil) -> HTTPResult {
        HTTPResult(
            status: status, body: Array(body.utf8), timings: PhaseTimings(processing: total, total: total), error: error)
    }

    @Test func statusRules() {
        let plain = EndpointSettings(url: "http://x/")
        #expect(ProbeEvaluation.evaluate(result(status: 200), endpoint: plain, at: time).success)
        #expect(ProbeEvaluation.evaluate(result(status: 204), endpoint: plain, at: time).success)
        let failed = ProbeEvaluation.evaluate(result(status: 503), endpoint: plain, at: time)
        #expect(!failed.success)
        #expect(failed.reason == .status)
        #expect(failed.error == "status 503, expected 2xx")
        #expect(failed.verdict == .critical)
        #expect(!failed.timedOut)
        let redirect = ProbeEvaluation.evaluate(result(status: 301), endpoint: plain, at: time)
        #expect(redirect.reason == .status)

        let custom = EndpointSettings(url: "http://x/", expectedStatuses: [200, 401])
        #expect(ProbeEvaluation.evaluate(result(status: 401), endpoint: custom, at: time).success)
        let c = ProbeEvaluation.evaluate(result(status: 204), endpoint: custom, at: time)
        #expect(c.reason == .status)
        #expect(c.error == "status 204, expected 200, 401")
    }

    @Test func transportErrorsMapToReasons() {
        let e = EndpointSettings(url: "http://x/")
        let cases: [(HTTPErrorKind, FailureReason)] = [
            (.timeout, .timeout), (.connect, .connect), (.dns, .dns), (.tls, .tls), (.limit, .limit), (.other, .other),
        ]
        for (kind, reason) in cases {
            let o = ProbeEvaluation.evaluate(
                result(status: 0, total: 1, error: HTTPError(kind: kind, code: 7, message: "m")), endpoint: e, at: time)
            #expect(!o.success)
            #expect(o.reason == reason)
            #expect(o.error == "m")
            #expect(o.timedOut == (kind == .timeout))
            #expect(o.verdict == .critical)
        }
    }

    @Test func verdicts() {
        let e = EndpointSettings(url: "http://x/")
        #expect(ProbeEvaluation.evaluate(result(total: 1.9), endpoint: e, at: time).verdict == .ok)
        #expect(ProbeEvaluation.evaluate(result(total: 2.0), endpoint: e, at: time).verdict == .ok)
        #expect(ProbeEvaluation.evaluate(result(total: 2.1), endpoint: e, at: time).verdict == .warning)
        #expect(ProbeEvaluation.evaluate(result(total: 5.0), endpoint: e, at: time).verdict == .warning)
        #expect(ProbeEvaluation.evaluate(result(total: 5.2), endpoint: e, at: time).verdict == .critical)
        let slowButOK = ProbeEvaluation.evaluate(result(total: 5.2), endpoint: e, at: time)
        #expect(slowButOK.success)
        #expect(Verdict.ok < Verdict.warning && Verdict.warning < Verdict.critical)
    }

    @Test func bodyRegex() throws {
        let e = EndpointSettings(url: "http://x/", bodyCheck: .regex(try BodyPattern("\"status\"\\s*:\\s*\"(UP|OK)\"")))
        #expect(ProbeEvaluation.evaluate(result(body: "{\"status\": \"UP\", \"x\": 1}"), endpoint: e, at: time).success)
        let o = ProbeEvaluation.evaluate(result(body: "{\"status\": \"DOWN\"}"), endpoint: e, at: time)
        #expect(o.reason == .body)
        #expect(o.error?.hasPrefix("body does not match") == true)
        // The status is checked first.
        #expect(ProbeEvaluation.evaluate(result(status: 500, body: "\"status\":\"UP\""), endpoint: e, at: time).reason == .status)
    }

    @Test func jsonField() {
        let e = EndpointSettings(url: "http://x/", bodyCheck: .jsonField(path: "status", equals: "UP"))
        #expect(ProbeEvaluation.evaluate(result(body: #"{"status":"UP"}"#), endpoint: e, at: time).success)
        let down = ProbeEvaluation.evaluate(result(body: #"{"status":"DOWN"}"#), endpoint: e, at: time)
        #expect(down.reason == .body)
        #expect(down.error == #"JSON field status is "DOWN", expected "UP""#)
        let missing = ProbeEvaluation.evaluate(result(body: #"{"state":"UP"}"#), endpoint: e, at: time)
        #expect(missing.error == "JSON field status is missing")
        let notJSON = ProbeEvaluation.evaluate(result(body: "UP"), endpoint: e, at: time)
        #expect(notJSON.reason == .body)
        #expect(notJSON.error?.hasPrefix("body is not JSON") == true)

        let nested = EndpointSettings(url: "http://x/", bodyCheck: .jsonField(path: "checks.1.healthy", equals: "true"))
        #expect(
            ProbeEvaluation.evaluate(
                result(body: #"{"checks":[{"healthy":false},{"healthy":true}]}"#), endpoint: nested, at: time
            ).success)
        #expect(
            !ProbeEvaluation.evaluate(result(body: #"{"checks":[{"healthy":true}]}"#), endpoint: nested, at: time).success)
        let number = EndpointSettings(url: "http://x/", bodyCheck: .jsonField(path: "db.ok", equals: "1"))
        #expect(ProbeEvaluation.evaluate(result(body: #"{"db":{"ok":1}}"#), endpoint: number, at: time).success)
    }

    @Test func phasesFromCurlMarks() {
        // Fresh TLS connection: 1 ms DNS, 2 ms connect, 5 ms TLS, 100 ms server, 10 ms body.
        let t = PhaseTimings(namelookup: 1000, connect: 3000, appconnect: 8000, pretransfer: 8100, starttransfer: 108_000, total: 118_000)
        #expect(t.resolve == 0.001)
        #expect(t.connect == 0.002)
        #expect(t.tls == 0.005)
        #expect(t.processing == 0.1)
        #expect(abs(t.transfer - 0.01) < 1e-12)
        #expect(t.total == 0.118)
        // Plain HTTP (appconnect 0).
        let plain = PhaseTimings(namelookup: 10, connect: 100, appconnect: 0, pretransfer: 120, starttransfer: 3_000_000, total: 3_000_500)
        #expect(plain.tls == 0)
        #expect(abs(plain.processing - 2.9999) < 1e-9)
        // No answer (a hang cut at 1 s): everything after connect is processing.
        let hang = PhaseTimings(namelookup: 10, connect: 100, appconnect: 0, pretransfer: 120, starttransfer: 0, total: 1_000_000)
        #expect(hang.transfer == 0)
        #expect(abs(hang.processing - 0.9999) < 1e-9)
        // Refused: no connect mark.
        let refused = PhaseTimings(namelookup: 10, connect: 0, appconnect: 0, pretransfer: 0, starttransfer: 0, total: 200)
        #expect(refused.connect == 0)
        #expect(refused.total == 0.0002)
        for p in [t, plain, hang, refused] {
            #expect(abs(p.resolve + p.connect + p.tls + p.processing + p.transfer - p.total) < 1e-9)
            #expect([p.resolve, p.connect, p.tls, p.processing, p.transfer].allSatisfy { $0 >= 0 })
        }
    }

    @Test func detailedBodyIsJSONOrText() {
        #expect(DetailedBody(Array(#"{"db":{"status":"UP"}}"#.utf8)).json == ["db": ["status": "UP"]])
        #expect(DetailedBody(Array("all good".utf8)).json == "all good")
        let big = DetailedBody([UInt8](repeating: UInt8(ascii: "a"), count: 100_000))
        #expect(big.truncated)
        #expect(big.json.stringValue?.utf8.count == DetailedBody.limit)
    }
}
