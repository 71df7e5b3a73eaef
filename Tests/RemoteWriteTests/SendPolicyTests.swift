import Config
import Testing

@testable import RemoteWrite

@Suite struct SendPolicyTests {
    @Test func successResetsAndFourHundredsDrop() {
        var p = SendPolicy(minBackoff: .milliseconds(30), maxBackoff: .seconds(5))
        #expect(p.verdict(status: 200, retryAfter: nil) == .sent)
        #expect(p.verdict(status: 204, retryAfter: nil) == .sent)
        for status in [400, 401, 403, 404, 409, 413] {
            #expect(p.verdict(status: status, retryAfter: nil) == .drop, "status \(status)")
        }
    }

    @Test func serverErrorsBackOffExponentiallyUpToTheMaximum() {
        var p = SendPolicy(minBackoff: .milliseconds(30), maxBackoff: .milliseconds(200))
        let waits = (0..<6).map { _ in p.verdict(status: 503, retryAfter: nil) }
        #expect(
            waits == [
                .retry(after: .milliseconds(30)), .retry(after: .milliseconds(60)), .retry(after: .milliseconds(120)),
                .retry(after: .milliseconds(200)), .retry(after: .milliseconds(200)), .retry(after: .milliseconds(200)),
            ])
        // No answer at all (connection refused, timeout) is retried like a 5xx.
        #expect(p.verdict(status: 0, retryAfter: nil) == .retry(after: .milliseconds(200)))
        #expect(p.verdict(status: 200, retryAfter: nil) == .sent)
        #expect(p.verdict(status: 500, retryAfter: nil) == .retry(after: .milliseconds(30)))
    }

    @Test func retryAfterIsHonoured() {
        var p = SendPolicy(minBackoff: .milliseconds(30), maxBackoff: .seconds(5), maxRetryAfter: .seconds(60))
        #expect(p.verdict(status: 429, retryAfter: "7") == .retry(after: .seconds(7)))
        #expect(p.verdict(status: 503, retryAfter: " 2 ") == .retry(after: .seconds(2)))
        #expect(p.verdict(status: 429, retryAfter: "3600") == .retry(after: .seconds(60)))
        // The date form and garbage fall back to the backoff.
        if case .retry(let after) = p.verdict(status: 429, retryAfter: "Wed, 21 Oct 2015 07:28:00 GMT") {
            #expect(after < .seconds(1))
        } else {
            Issue.record("429 must be retried")
        }
        // A 4xx with Retry-After other than 429 is still dropped.
        #expect(p.verdict(status: 400, retryAfter: "5") == .drop)
    }
}
