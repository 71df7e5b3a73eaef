import HTTPClient
import LookoutCore
import Testing
import TestSupport

@testable import Probing

/// 200 endpoints that each take 1 s, probed at once. The two cases run one after the other
/// (each puts 200 threads into the test server).
@Suite(.serialized) struct ConcurrencyTimingTests {
    @Test func manyConcurrentSlowRequestsTakeAboutOneSecond() async throws {
        let server = try TestServer()
        let client = HTTPClient()
        defer { client.shutdown() }
        func round() async -> (wall: Double, results: [HTTPResult]) {
            let start = SystemClock().now
            let results = await withTaskGroup(of: HTTPResult.self) { group in
                for i in 0..<200 {
                    group.addTask { await client.execute(HTTPClientRequest(url: server.url("/delay/1?i=\(i)"))) }
                }
                var all: [HTTPResult] = []
                for await r in group { all.append(r) }
                return all
            }
            return ((SystemClock().now - start).seconds, results)
        }
        // Cold: 200 new connections (and 200 new threads in the test server).
        let cold = await round()
        // Warm: the 200 connections kept alive are reused.
        let warm = await round()
        print("200 concurrent requests to a 1 s endpoint: \(cold.wall) s cold, \(warm.wall) s over kept-alive connections")
        for r in [cold, warm] {
            #expect(r.results.count == 200)
            #expect(r.results.allSatisfy { $0.status == 200 }, "\(r.results.compactMap(\.error).prefix(3))")
            #expect(r.results.allSatisfy { $0.timings.total >= 0.99 && $0.timings.total < 2 })
        }
        // Cold includes the test server starting 200 threads while other suites run; generous.
        #expect(cold.wall < 5, "cold round took \(cold.wall) s")
        #expect(warm.wall < 2, "warm round took \(warm.wall) s")
        let reused = warm.results.filter(\.reusedConnection).count
        #expect(reused == 200, "\(reused) of 200 reused")
        #expect(warm.results.allSatisfy { $0.timings.connect == 0 })
    }

    @Test func twoHundredSlowTargetsAreProbedConcurrently() async throws {
        let server = try TestServer()
        let client = HTTPClient()
        defer { client.shutdown() }
        let clock = ManualClock()
        let targets = (0..<200).map { i in Probes.target("t\(i)", [.live: server.url("/delay/1?t=\(i)")], interval: .seconds(15), timeout: .seconds(5)) }
        let prober = Prober(targets: targets, client: client, clock: clock)
        let task = await Probes.start(prober, clock)
        let start = SystemClock().now
        await Probes.tick(clock, .seconds(1))
        #expect(await waitUntil { prober.hasCompletedFirstRound })
        let wall = (SystemClock().now - start).seconds
        print("200 targets with a 1 s endpoint, one round: \(wall) s wall")
        #expect(wall < 3, "one round took \(wall) s")
        let statuses = prober.targetsStatus()
        #expect(statuses.count == 200)
        #expect(statuses.allSatisfy { $0.health == .up })
        #expect(statuses.allSatisfy { abs(($0.endpoints[0].last?.timings.total ?? 0) - 1) < 0.5 })
        #expect(await waitUntil { Probes.family(prober.probeMetrics, "lookout_probe_success")?.metrics.count == 200 })
        await Probes.stop(task)
    }

}
