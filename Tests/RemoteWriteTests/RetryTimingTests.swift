import Config
import LookoutCore
import Series
import TestSupport
import Testing

@testable import RemoteWrite

/// Waits the queue makes on a receiver's word.
@Suite(.serialized) struct RemoteWriteRetryTimingTests {
    @Test func aTooManyRequestsAnswerIsRetriedAfterItsRetryAfter() async throws {
        let server = try TestServer()
        server.set("/write", status: 429, body: "slow down", headers: ["Retry-After": "2"])
        let dir = TemporaryDirectory()
        let url = server.url("/write")
        // min_backoff 10ms: without Retry-After the second attempt would follow within 10 ms.
        let running = RunningWriter(settings(url: url, wal: dir.path + "/wal"), families: RemoteWriterTests.families)
        #expect(await eventually(10) { server.received("/write").count >= 3 })
        server.set("/write", status: 200)
        #expect(await eventually(10) { (running.endpoint(url)?.sent ?? 0) > 0 })
        await running.stop()
        let times = server.received("/write").map(\.time)
        let gaps = zip(times, times.dropFirst()).map { $1 - $0 }
        // Every attempt after a 429 waited the 2 s the receiver asked for (and not much more).
        for gap in gaps.prefix(2) {
            #expect(gap >= 1.95 && gap < 3.5, "gaps between attempts: \(gaps)")
        }
        let e = try #require(running.endpoint(url))
        #expect(e.retried >= 4)
        #expect(e.dropped == 0)
    }
}
