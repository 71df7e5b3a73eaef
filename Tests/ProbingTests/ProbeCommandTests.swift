import HTTPClient
import LookoutCore
import Testing
import TestSupport

@testable import Probing

@Suite struct ProbeCommandTimingTests {
    @Test func verdictsAndExitCodes() async throws {
        let server = try TestServer()
        async let fast = ProbeCommand.run(url: server.url("/ok"))
        async let slow = ProbeCommand.run(url: server.url("/delay/2.3"))
        async let hang = ProbeCommand.run(url: server.url("/hang"), timeout: .seconds(1))
        async let failing = ProbeCommand.run(url: server.url("/status/503"))
        async let refused = ProbeCommand.run(url: "http://127.0.0.1:\(Net.freePort())/health")
        let (f, s, h, e, r) = await (fast, slow, hang, failing, refused)

        #expect(f.exitCode == 0)
        let lines = f.output.split(separator: "\n").map(String.init)
        #expect(lines.first == "probe \(server.url("/ok"))")
        for phase in ["resolve", "connect", "tls", "processing", "transfer", "total"] {
            #expect(lines.contains { $0.hasPrefix("  \(phase) ") && $0.hasSuffix(" ms") }, "\(phase) in \(f.output)")
        }
        #expect(lines.contains("status      200"))
        #expect(lines.last?.hasPrefix("verdict     ok (answered in 0.") == true, "\(f.output)")

        #expect(s.exitCode == 1, "\(s.output)")
        #expect(s.output.contains("status      200"))
        #expect(s.output.contains("verdict     warning (slow: 2.3"), "\(s.output)")

        #expect(h.exitCode == 2)
        #expect(h.output.contains("status      none"))
        #expect(h.output.contains("error       timeout: "))
        #expect(h.output.contains("verdict     critical (timed out after 1.0"), "\(h.output)")
        #expect(h.output.contains("(timeout 1s)"))

        #expect(e.exitCode == 2)
        #expect(e.output.contains("status      503"))
        #expect(e.output.contains("error       status: status 503, expected 2xx"))
        #expect(e.output.contains("verdict     critical (failed: status)"))

        #expect(r.exitCode == 2)
        #expect(r.output.contains("error       connect: "))
    }

    @Test func usageErrors() async {
        let bad = await ProbeCommand.run(url: "localhost:8000/health")
        #expect(bad.exitCode == 2)
        #expect(bad.output == "lookout probe: the URL must start with http:// or https://, found \"localhost:8000/health\"\n")
        let zero = await ProbeCommand.run(url: "http://localhost/", timeout: .zero)
        #expect(zero.exitCode == 2)
    }

    @Test func formatsAVerySlowAnswerAsCritical() {
        let o = ProbeOutcome(
            time: WallTime(secondsSinceEpoch: 0), status: 200,
            timings: PhaseTimings(resolve: 0.0001, connect: 0.0002, processing: 5.5, transfer: 0.1, total: 5.6003), success: true)
        let text = ProbeCommand.format(url: "http://u:p@h/x", outcome: o, timeout: .seconds(10))
        #expect(
            text == """
                probe http://h/x
                  resolve          0.100 ms
                  connect          0.200 ms
                  tls              0.000 ms
                  processing    5500.000 ms
                  transfer       100.000 ms
                  total         5600.300 ms
                status      200
                verdict     critical (very slow: 5.600 s, over 5.000 s)

                """)
        #expect(ProbeCommand.exitCode(o.verdict) == 2)
    }
}
