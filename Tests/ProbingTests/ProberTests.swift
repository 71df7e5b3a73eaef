import Config
import HTTPClient
import LookoutCore
import Series
import Testing
import TestSupport

@testable import Probing

/// Helpers shared by the prober tests.
enum Probes {
    static func target(
        _ name: String, metrics: String? = nil, _ health: [EndpointKind: String] = [:], interval: Duration = .seconds(10),
        timeout: Duration = .seconds(2)
    ) -> TargetSettings {
        var t = TargetSettings(name: name)
        t.metrics = metrics
        for (k, url) in health { t.health[k] = EndpointSettings(url: url) }
        t.interval = interval
        t.http.timeout = timeout
        t.http.connectTimeout = min(timeout, .seconds(2))
        return t
    }

    /// The value of one series (a plain value, or a histogram's count).
    /// The scraped series as the registry exposes them.
    static func scraped(_ prober: Prober) -> [MetricFamily] {
        Registry(scraped: [prober.scrapedMetrics]).gather()
    }

    static func value(_ source: any MetricsSource, _ name: String, _ labels: [String: String]) -> Double? {
        for f in source.collect() where f.name == name {
            for m in f.metrics where m.labels.count == labels.count && labels.allSatisfy({ m.labels[$0.key] == $0.value }) {
                switch m.value {
                case .single(let v): return v
                case .histogram(let h): return h.count
                case .summary(let s): return s.count
                }
            }
        }
        return nil
    }

    static func family(_ source: any MetricsSource, _ name: String) -> MetricFamily? {
        source.collect().first { $0.name == name }
    }

    static func endpoint(_ prober: Prober, _ target: String, _ kind: EndpointKind) -> EndpointStatus? {
        prober.targetsStatus().first { $0.name == target }?.endpoints.first { $0.endpoint == kind }
    }

    /// Starts `prober.run()`; the returned task is cancelled by `stop`.
    static func start(_ prober: Prober, _ clock: ManualClock) async -> Task<Void, any Error> {
        let task = Task { try await prober.run() }
        await clock.waitForSleepers(1)
        return task
    }

    static func stop(_ task: Task<Void, any Error>) async {
        task.cancel()
        let result = await task.result
        // Stopping by cancellation is the service's normal end: run() returns.
        if case .failure(let e) = result { Issue.record("run() threw \(e)") }
    }

    /// Applies `update` and waits until the scheduler has gone back to sleep with the new schedule.
    static func update(_ prober: Prober, _ clock: ManualClock, _ targets: [TargetSettings]) async {
        let before = clock.sleepsStarted
        prober.update(targets: targets)
        _ = await waitUntil(timeout: .seconds(5), every: .milliseconds(1)) {
            clock.sleepsStarted > before && clock.sleeperCount == 1
        }
    }

    /// Advances the clock and waits until the scheduler sleeps again (it has started the due probes).
    static func tick(_ clock: ManualClock, _ d: Duration) async {
        clock.advance(by: d)
        await clock.waitForSleepers(1)
    }
}

@Suite struct ProberTests {
    @Test func probesEveryIntervalAndPublishesMetrics() async throws {
        let server = try TestServer()
        let client = HTTPClient()
        defer { client.shutdown() }
        let clock = ManualClock()
        let prober = Prober(
            targets: [Probes.target("api", [.live: server.url("/ok"), .ready: server.url("/status/202")])], client: client,
            clock: clock)
        let task = await Probes.start(prober, clock)
        #expect(!prober.hasCompletedFirstRound)
        #expect(prober.probeMetrics.collect().isEmpty)

        await Probes.tick(clock, .seconds(1))
        let m = prober.probeMetrics
        #expect(await waitUntil { Probes.value(m, "lookout_probe_latency_seconds", ["target": "api", "endpoint": "ready"]) == 1 })
        #expect(await waitUntil { Probes.value(m, "lookout_probe_latency_seconds", ["target": "api", "endpoint": "live"]) == 1 })
        #expect(prober.hasCompletedFirstRound)
        #expect(server.received("/ok").count == 1)

        // Halfway through the interval nothing runs.
        await Probes.tick(clock, .seconds(5))
        try await Task.sleep(for: .milliseconds(100))
        #expect(server.received("/ok").count == 1)

        await Probes.tick(clock, .seconds(5))
        #expect(await waitUntil { Probes.value(m, "lookout_probe_latency_seconds", ["target": "api", "endpoint": "live"]) == 2 })
        #expect(server.received("/ok").count == 2)

        let live = ["target": "api", "endpoint": "live"]
        #expect(Probes.value(m, "lookout_probe_success", live) == 1)
        #expect(Probes.value(m, "lookout_probe_timed_out", live) == 0)
        #expect(Probes.value(m, "lookout_probe_timeouts_total", live) == 0)
        #expect(Probes.value(m, "lookout_probe_http_status_code", live) == 200)
        #expect(Probes.value(m, "lookout_probe_http_status_code", ["target": "api", "endpoint": "ready"]) == 202)
        #expect(Probes.value(m, "lookout_probe_circuit_open", live) == 0)
        for phase in ["resolve", "connect", "tls", "processing", "transfer", "total"] {
            let v = Probes.value(m, "lookout_probe_duration_seconds", live.merging(["phase": phase]) { $1 })
            #expect(v != nil && v! >= 0 && v! < 1, "\(phase) = \(String(describing: v))")
        }
        let latency = try #require(Probes.family(m, "lookout_probe_latency_seconds"))
        #expect(latency.type == .histogram)
        guard case .histogram(let h) = latency.metrics[0].value else {
            Issue.record("not a histogram")
            return
        }
        let bounds = h.buckets.map(\.upperBound)
        for b in [0.1, 0.5, 1, 2, 5] { #expect(bounds.contains(b)) }
        #expect(bounds.last == .infinity)
        #expect(Probes.family(m, "lookout_probe_failures_total") == nil)
        #expect(Probes.family(m, "lookout_probe_success")?.type == .gauge)
        #expect(Probes.family(m, "lookout_probe_timeouts_total")?.type == .counter)

        // Published in the registry's series order, so gathering need not sort them.
        for f in m.collect() {
            for (a, b) in zip(f.metrics, f.metrics.dropFirst()) {
                #expect(Registry.compare(a.labels, b.labels) < 0, "\(f.name): \(a.labels) before \(b.labels)")
            }
        }

        // The second probe of each endpoint went over the kept-alive connection.
        let status = try #require(Probes.endpoint(prober, "api", .live))
        #expect(status.last?.reusedConnection == true)
        #expect(status.last?.timings.connect == 0)
        #expect(status.probes == 2)
        await Probes.stop(task)
    }

    @Test func aHangingEndpointIsNotProbedTwiceAndDelaysNothingElse() async throws {
        let server = try TestServer()
        let client = HTTPClient()
        defer { client.shutdown() }
        let clock = ManualClock()
        let prober = Prober(
            targets: [
                Probes.target("stuck", [.live: server.url("/hang")], interval: .seconds(1), timeout: .milliseconds(1500)),
                Probes.target("fine", [.live: server.url("/ok"), .ready: server.url("/hang")], interval: .seconds(1), timeout: .milliseconds(1500)),
            ], client: client, clock: clock)
        let task = await Probes.start(prober, clock)
        let m = prober.probeMetrics
        let fineLive = ["target": "fine", "endpoint": "live"]
        for round in 1...3 {
            await Probes.tick(clock, .seconds(1))
            #expect(await waitUntil { server.received("/ok").count == round }, "round \(round): \(server.received("/ok").count) \(prober.targetsStatus().map { "\($0.name) \($0.endpoints.map { "\($0.endpoint) \($0.probes) \($0.skippedOverlapping) \($0.last?.error ?? "-")" })" })")
            #expect(await waitUntil { Probes.endpoint(prober, "fine", .live)?.probes == round })
        }
        // `fine`'s live endpoint was probed every tick while both hanging probes ran (the
        // metrics wait for the batch, which includes `fine`'s hanging ready endpoint).
        #expect(server.received("/hang").count == 2)
        #expect(Probes.endpoint(prober, "stuck", .live)?.skippedOverlapping == 2)
        #expect(Probes.endpoint(prober, "fine", .ready)?.skippedOverlapping == 2)
        #expect(Probes.endpoint(prober, "fine", .live)?.probes == 3)

        // The hanging probes time out after 1.5 s (real time) and are recorded as timeouts.
        let stuck = ["target": "stuck", "endpoint": "live"]
        #expect(await waitUntil { Probes.value(m, "lookout_probe_timed_out", stuck) == 1 })
        #expect(Probes.value(m, "lookout_probe_timeouts_total", stuck) == 1)
        #expect(Probes.value(m, "lookout_probe_failures_total", stuck.merging(["reason": "timeout"]) { $1 }) == 1)
        #expect(Probes.value(m, "lookout_probe_success", stuck) == 0)
        #expect(Probes.value(m, "lookout_probe_http_status_code", stuck) == 0)
        let total = Probes.value(m, "lookout_probe_duration_seconds", stuck.merging(["phase": "total"]) { $1 }) ?? 0
        #expect(abs(total - 1.5) < 0.1, "timeout at \(total)")
        #expect(await waitUntil { Probes.value(m, "lookout_probe_success", fineLive) == 1 })
        let last = try #require(Probes.endpoint(prober, "stuck", .live)?.last)
        #expect(last.verdict == .critical)
        #expect(last.reason == .timeout)

        // Next tick, once `fine`'s hanging ready probe has timed out too: both probed again.
        #expect(await waitUntil { Probes.value(m, "lookout_probe_timed_out", ["target": "fine", "endpoint": "ready"]) == 1 })
        #expect(await waitUntil { Probes.endpoint(prober, "fine", .ready)?.last?.reason == .timeout })
        await Probes.tick(clock, .seconds(1))
        #expect(await waitUntil { server.received("/hang").count == 4 })
        await Probes.stop(task)
    }

    @Test func circuitBreakerSlowsDownAFailingEndpoint() async throws {
        let server = try TestServer()
        server.set("/h", status: 500, body: "down")
        let client = HTTPClient()
        defer { client.shutdown() }
        let clock = ManualClock()
        let prober = Prober(targets: [Probes.target("api", [.health: server.url("/h")], interval: .seconds(10))], client: client, clock: clock)
        let task = await Probes.start(prober, clock)
        let m = prober.probeMetrics
        let labels = ["target": "api", "endpoint": "health"]
        await Probes.tick(clock, .seconds(1))
        for n in 1...5 {
            #expect(await waitUntil { Probes.value(m, "lookout_probe_latency_seconds", labels) == Double(n) })
            #expect(Probes.value(m, "lookout_probe_circuit_open", labels) == (n == 5 ? 1 : 0))
            if n < 5 { await Probes.tick(clock, .seconds(10)) }
        }
        #expect(Probes.value(m, "lookout_probe_failures_total", labels.merging(["reason": "status"]) { $1 }) == 5)
        // Open: the next five ticks (50 s) are skipped, the sixth (60 s after the last attempt) runs.
        for _ in 1...5 { await Probes.tick(clock, .seconds(10)) }
        try await Task.sleep(for: .milliseconds(100))
        #expect(server.received("/h").count == 5)
        #expect(Probes.endpoint(prober, "api", .health)?.skippedCircuitOpen == 5)
        #expect(Probes.endpoint(prober, "api", .health)?.health == .down)

        server.set("/h", status: 200, body: "up")
        await Probes.tick(clock, .seconds(10))
        #expect(await waitUntil { Probes.value(m, "lookout_probe_circuit_open", labels) == 0 })
        #expect(Probes.value(m, "lookout_probe_success", labels) == 1)
        #expect(server.received("/h").count == 6)
        // Closed again: every tick runs.
        await Probes.tick(clock, .seconds(10))
        #expect(await waitUntil { server.received("/h").count == 7 })
        await Probes.stop(task)
    }

    @Test func everyFailureModeHasItsReasonAndVerdict() async throws {
        let server = try TestServer()
        let client = HTTPClient()
        defer { client.shutdown() }
        let clock = ManualClock()
        var big = Probes.target("big", [.live: server.url("/big/52428800")])
        big.bodySizeLimit = 1 << 20
        var bomb = Probes.target("bomb", [.live: server.url("/gzipbomb/64")])
        bomb.bodySizeLimit = 1 << 20
        var body = Probes.target("body", [:])
        body.health[.health] = EndpointSettings(url: server.url("/ok"), bodyCheck: .jsonField(path: "status", equals: "UP"))
        let targets = [
            Probes.target("ok", [.live: server.url("/ok")]),
            Probes.target("e500", [.live: server.url("/status/500")]),
            Probes.target("garbage", [.live: server.url("/garbage")]),
            Probes.target("reset", [.live: server.url("/reset")]),
            Probes.target("refused", [.live: "http://127.0.0.1:\(Net.freePort())/"]),
            Probes.target("dns", [.live: "http://nonexistent.invalid/"]),
            Probes.target("tls", [.live: "https://127.0.0.1:\(server.port)/"]),
            Probes.target("hang", [.live: server.url("/hang")], timeout: .seconds(1)),
            Probes.target("trickle", [.live: server.url("/trickle/5")], timeout: .seconds(1)),
            big, bomb, body,
        ]
        let prober = Prober(targets: targets, client: client, clock: clock)
        let task = await Probes.start(prober, clock)
        await Probes.tick(clock, .seconds(1))
        #expect(await waitUntil { prober.hasCompletedFirstRound })
        let expected: [String: (FailureReason?, Verdict, timedOut: Bool)] = [
            "ok": (nil, .ok, false), "e500": (.status, .critical, false), "garbage": (.other, .critical, false),
            "reset": (.other, .critical, false), "refused": (.connect, .critical, false), "dns": (.dns, .critical, false),
            "tls": (.tls, .critical, false), "hang": (.timeout, .critical, true), "trickle": (.timeout, .critical, true),
            "big": (.limit, .critical, false), "bomb": (.limit, .critical, false), "body": (.body, .critical, false),
        ]
        for s in prober.targetsStatus() {
            let e = s.endpoints[0]
            let want = try #require(expected[s.name])
            #expect(e.last?.reason == want.0, "\(s.name): \(String(describing: e.last?.error))")
            #expect(e.last?.verdict == want.1, "\(s.name)")
            #expect(e.last?.timedOut == want.timedOut, "\(s.name)")
            #expect(s.health == (want.0 == nil ? .up : .down), "\(s.name)")
            if want.timedOut { #expect(abs((e.last?.timings.total ?? 0) - 1) < 0.1, "\(s.name): \(e.last?.timings.total ?? 0)") }
        }
        let m = prober.probeMetrics
        #expect(await waitUntil { Probes.value(m, "lookout_probe_failures_total", ["target": "dns", "endpoint": "live", "reason": "dns"]) == 1 })
        #expect(Probes.value(m, "lookout_probe_http_status_code", ["target": "e500", "endpoint": "live"]) == 500)
        #expect(Probes.value(m, "lookout_probe_timeouts_total", ["target": "trickle", "endpoint": "live"]) == 1)
        await Probes.stop(task)
    }

    @Test func updateKeepsUnchangedDropsRemovedAddsNew() async throws {
        let server = try TestServer()
        let client = HTTPClient()
        defer { client.shutdown() }
        let clock = ManualClock()
        let a = Probes.target("a", [.live: server.url("/ok?a")])
        let b = Probes.target("b", [.live: server.url("/ok?b"), .ready: server.url("/ok?b2")])
        let prober = Prober(targets: [a, b], client: client, clock: clock)
        let task = await Probes.start(prober, clock)
        let m = prober.probeMetrics
        await Probes.tick(clock, .seconds(1))
        #expect(await waitUntil { prober.hasCompletedFirstRound })
        #expect(await waitUntil { Probes.family(m, "lookout_probe_success")?.metrics.count == 3 })

        // b changes (ready removed, live unchanged), c is new; then a is dropped later.
        var b2 = b
        b2.health[.ready] = nil
        let c = Probes.target("c", [.live: server.url("/ok?c")])
        await Probes.update(prober, clock, [a, b2, c])
        // The removed endpoint's series are gone at once; c has none yet.
        #expect(Probes.family(m, "lookout_probe_success")?.metrics.count == 2)
        #expect(Probes.endpoint(prober, "b", .live)?.probes == 1)
        #expect(Probes.endpoint(prober, "c", .live)?.probes == 0)
        #expect(!prober.hasCompletedFirstRound)

        await Probes.tick(clock, .seconds(1))
        #expect(await waitUntil { prober.hasCompletedFirstRound })
        #expect(await waitUntil { Probes.family(m, "lookout_probe_success")?.metrics.count == 3 })
        // a and b were not due yet (their interval is 10 s): their state is kept, not reset.
        #expect(Probes.endpoint(prober, "a", .live)?.probes == 1)
        #expect(Probes.endpoint(prober, "b", .live)?.probes == 1)

        prober.update(targets: [c])
        #expect(prober.targetsStatus().map(\.name) == ["c"])
        #expect(Probes.family(m, "lookout_probe_success")?.metrics.map { $0.labels["target"] } == ["c"])
        #expect(Probes.value(m, "lookout_probe_latency_seconds", ["target": "c", "endpoint": "live"]) == 1)
        await Probes.stop(task)
    }

    @Test func offsetsAreSmallAndDeterministic() {
        let offsets = (0..<200).map { Prober.offset(forTarget: "t\($0)", interval: .seconds(15)) }
        #expect(offsets.allSatisfy { $0 >= .zero && $0 < .seconds(1) })
        #expect(Set(offsets).count > 150)
        #expect(Prober.offset(forTarget: "api", interval: .seconds(15)) == Prober.offset(forTarget: "api", interval: .seconds(15)))
        #expect(Prober.offset(forTarget: "api", interval: .seconds(2)) < .milliseconds(200))
    }
}
