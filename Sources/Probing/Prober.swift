import Exposition
import LookoutCore
import Logging
import Synchronization

/// Probes every endpoint of every target on its interval and scrapes the `metrics`
/// endpoints, all concurrently on one `HTTPClient`.
///
/// Scheduling: each target fires all its endpoints together, first at start plus a small
/// deterministic offset (from its name, at most a tenth of the interval and at most 1 s,
/// so many targets do not hit one instant), then every `interval` after that. Every
/// target due at a wake-up is started at once, in its own task: a slow or hanging
/// endpoint delays neither another target nor its own next interval. An endpoint whose
/// previous probe is still running is skipped for that tick (and the skip counted);
/// an endpoint whose circuit breaker is open is probed once per retry interval.
///
/// Results are published as immutable snapshots after each batch (the probes of one
/// target at one tick): `probeMetrics` (the `lookout_probe_*` and `lookout_scrape_*`
/// series) and `scrapedMetrics` (the targets' own series with a `target` label).
public final class Prober: Sendable {
    /// `lookout_probe_*`, `lookout_scrape_samples`, `lookout_scrape_body_bytes`.
    public var probeMetrics: any MetricsSource { probeBox }
    /// The scraped targets' series, each with its `target` label.
    public var scrapedMetrics: any MetricsSource { scrapedBox }

    private let probeBox = SnapshotBox()
    private let scrapedBox = SnapshotBox()
    private let client: HTTPClient
    private let clock: any AgentClock
    private let logger: Logger?
    private let breakerPolicy: CircuitBreaker.Policy
    private let decode: ScrapeDecoder
    private let state: Mutex<State>
    private let published = Mutex<(probe: UInt64, scraped: UInt64)>((0, 0))
    private let wakeup = WakeSignal()

    /// - Parameters:
    ///   - targets: the configured targets (names must be unique).
    ///   - client: the shared HTTP client; the prober does not shut it down.
    ///   - clock: the agent's clock; ticks, breaker windows and result times come from it.
    ///   - logger: circuit breaker changes are logged at warning, nothing is logged when nil.
    ///   - circuitBreaker: the breaker policy of every endpoint.
    ///   - decode: turns a scraped body into families; the exposition parser by default.
    public init(
        targets: [TargetSettings], client: HTTPClient, clock: any AgentClock, logger: Logger? = nil,
        circuitBreaker: CircuitBreaker.Policy = .default, decode: @escaping ScrapeDecoder = Scraper.decode
    ) {
        self.client = client
        self.clock = clock
        self.logger = logger
        self.breakerPolicy = circuitBreaker
        self.decode = decode
        var s = State()
        for t in targets where s.targets[t.name] == nil {
            s.targets[t.name] = s.makeTarget(t, policy: circuitBreaker)
        }
        state = Mutex(s)
    }

    // MARK: Running

    /// Runs the schedule until the task is cancelled; then cancels the probes in flight
    /// and throws `CancellationError`.
    public func run() async throws {
        try await withThrowingDiscardingTaskGroup { group in
            while true {
                try Task.checkCancellation()
                let now = clock.now
                let (batches, next) = state.withLock { $0.takeDue(now: now, wall: clock.wallNow) }
                for batch in batches {
                    group.addTask { await self.run(batch) }
                }
                try await waitForTick(until: next ?? now + .seconds(3600))
            }
        }
    }

    /// Sleeps until `deadline` or until `update(targets:)` changes the schedule.
    private func waitForTick(until deadline: MonotonicInstant) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.clock.sleep(until: deadline) }
            group.addTask { await self.wakeup.wait() }
            _ = try await group.next()
            group.cancelAll()
        }
        try Task.checkCancellation()
    }

    private func run(_ batch: [ProbeJob]) async {
        await withDiscardingTaskGroup { group in
            for job in batch {
                group.addTask { await self.probe(job) }
            }
        }
        publish()
    }

    private func probe(_ job: ProbeJob) async {
        let result = await client.execute(job.request)
        if result.error?.kind == .cancelled {
            // Shutting down: not a result of the target.
            state.withLock { $0.abandon(job) }
            return
        }
        var outcome = ProbeEvaluation.evaluate(result, endpoint: job.endpoint, at: job.wallStart)
        var scrape: ScrapeResult?
        if job.kind == .metrics {
            var families: [MetricFamily] = []
            var samples = 0
            if outcome.success {
                switch decode(ScrapeInput(body: result.body, contentType: result.contentType, target: job.target, sampleLimit: job.sampleLimit)) {
                case .success(let parsed):
                    families = parsed
                    samples = Scraper.sampleCount(parsed)
                case .failure(let failure):
                    outcome.fail(failure.reason, failure.message)
                }
            }
            scrape = ScrapeResult(families: families, samples: samples, bodyBytes: result.body.count)
        }
        let detailed = job.kind == .detailed ? DetailedBody(result.body) : nil
        let transition = state.withLock {
            $0.record(job, outcome: outcome, scrape: scrape, detailed: detailed)
        }
        if let transition, let logger {
            switch transition {
            case .opened:
                logger.warning(
                    "circuit opened: probing once per \(PromDuration.format(breakerPolicy.retryInterval)) until it succeeds",
                    metadata: ["target": "\(job.target)", "endpoint": "\(job.kind.rawValue)", "reason": "\(outcome.reason?.rawValue ?? "")"])
            case .closed:
                logger.warning("circuit closed", metadata: ["target": "\(job.target)", "endpoint": "\(job.kind.rawValue)"])
            }
        }
    }

    // MARK: Configuration

    /// Applies a reloaded target list: unchanged targets keep their state, counters and
    /// schedule; a changed target keeps the state of the endpoints whose settings did not
    /// change; removed targets (and their series) are gone from the next snapshot, which
    /// is published at once; new targets are probed at their first tick.
    public func update(targets: [TargetSettings]) {
        state.withLock { $0.update(targets, policy: breakerPolicy) }
        wakeup.signal()
        publish()
    }

    // MARK: Reading

    /// True once every endpoint of every target has a result (or the target list is empty).
    public var hasCompletedFirstRound: Bool {
        state.withLock { s in s.targets.values.allSatisfy { $0.endpoints.allSatisfy { $0.last != nil } } }
    }

    /// An immutable copy of every target's status, by target name.
    public func targetsStatus() -> [TargetStatus] {
        state.withLock { s in s.targets.keys.sorted().map { s.targets[$0]!.status } }
    }

    /// `/api/v1/targets`: `{"status":"success","data":{"targets":[...]}}`, see `TargetStatus.json`.
    public func targetsJSON() -> JSON {
        let targets = targetsStatus()
        return ["status": "success", "data": ["targets": .array(targets.map(\.json))]]
    }

    /// Publishes snapshots of the current state. Snapshots are versioned so a slower
    /// publisher never replaces a newer snapshot with an older one.
    private func publish() {
        let snap = state.withLock { $0.snapshot() }
        let families = ProbeMetrics.families(snap.series)
        let scraped: [MetricFamily]? =
            published.withLock { $0.scraped } < snap.scrapedVersion ? Registry.merge(snap.scraped.flatMap { $0 }) : nil
        published.withLock { p in
            if snap.version > p.probe {
                p.probe = snap.version
                probeBox.publish(families)
            }
            if let scraped, snap.scrapedVersion > p.scraped {
                p.scraped = snap.scrapedVersion
                scrapedBox.publish(scraped)
            }
        }
    }

    /// The schedule offset of a target: a hash of its name, below min(interval / 10, 1 s).
    public static func offset(forTarget name: String, interval: Duration) -> Duration {
        let spread = min(interval.nanoseconds / 10, 1_000_000_000)
        guard spread > 0 else { return .zero }
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in name.utf8 {
            h ^= UInt64(b)
            h = h &* 0x100_0000_01b3
        }
        return .nanoseconds(Int64(h % UInt64(spread)))
    }
}

/// One probe to run: everything the task needs, copied out of the state.
struct ProbeJob: Sendable {
    let target: String
    let endpointID: UInt64
    let kind: EndpointKind
    let endpoint: EndpointSettings
    let request: HTTPRequest
    let sampleLimit: Int
    /// The tick the probe belongs to (monotonic), which paces the circuit breaker.
    let start: MonotonicInstant
    let wallStart: WallTime
}

struct ScrapeResult: Sendable {
    var families: [MetricFamily]
    var samples: Int
    var bodyBytes: Int
}

/// A `detailed` health body as shown by /api/v1/targets: parsed JSON when it parses,
/// else the text; at most `limit` bytes are kept.
struct DetailedBody: Sendable, Hashable {
    static let limit = 64 << 10
    var json: JSON
    var truncated: Bool

    init(_ body: [UInt8]) {
        if body.count > Self.limit {
            json = .string(String(decoding: body[..<Self.limit], as: UTF8.self))
            truncated = true
        } else {
            json = (try? JSON(parsing: body)) ?? .string(String(decoding: body, as: UTF8.self))
            truncated = false
        }
    }
}

// MARK: - State

extension Prober {
    struct EndpointState: Sendable {
        let id: UInt64
        let kind: EndpointKind
        let settings: EndpointSettings
        var request: HTTPRequest
        let labels: ProbeMetrics.EndpointLabels
        var breaker: CircuitBreaker
        var inFlight = false
        var last: ProbeOutcome?
        var probes = 0
        var timeouts = 0
        var failures: [FailureReason: Int] = [:]
        var skippedOverlapping = 0
        var skippedCircuitOpen = 0
        var latency = HistogramAccumulator(upperBounds: ProbeMetrics.latencyBounds)
        var detailed: DetailedBody?
        var series: ProbeMetrics.EndpointSeries?
    }

    struct TargetState: Sendable {
        var settings: TargetSettings
        let offset: Duration
        /// nil until the scheduler first sees the target.
        var nextDue: MonotonicInstant?
        var endpoints: [EndpointState]
        var scraped: [MetricFamily] = []
        var scrape: (samples: Int, bodyBytes: Int)?
    }

    struct Snapshot {
        var version: UInt64
        var scrapedVersion: UInt64
        var series: [ProbeMetrics.TargetSeries]
        var scraped: [[MetricFamily]]
    }

    struct State: Sendable {
        var targets: [String: TargetState] = [:]
        var nextID: UInt64 = 0
        /// Bumped on every change; snapshots carry it.
        var version: UInt64 = 1
        var scrapedVersion: UInt64 = 1

        mutating func makeTarget(_ t: TargetSettings, policy: CircuitBreaker.Policy, keeping old: TargetState? = nil) -> TargetState {
            var endpoints: [EndpointState] = []
            for (kind, settings) in t.endpoints {
                let request = Self.request(for: t, kind: kind, endpoint: settings)
                if var kept = old?.endpoints.first(where: { $0.kind == kind && $0.settings == settings }) {
                    kept.request = request
                    endpoints.append(kept)
                    continue
                }
                nextID += 1
                endpoints.append(
                    EndpointState(
                        id: nextID, kind: kind, settings: settings, request: request,
                        labels: ProbeMetrics.EndpointLabels(target: t.name, endpoint: kind), breaker: CircuitBreaker(policy: policy)))
            }
            var target = TargetState(
                settings: t, offset: Prober.offset(forTarget: t.name, interval: t.interval), endpoints: endpoints)
            if let old {
                if old.settings.interval == t.interval { target.nextDue = old.nextDue }
                if t.metrics != nil && t.metrics == old.settings.metrics {
                    target.scraped = old.scraped
                    target.scrape = old.scrape
                }
            }
            return target
        }

        static func request(for t: TargetSettings, kind: EndpointKind, endpoint: EndpointSettings) -> HTTPRequest {
            var headers = t.headers
            var basic: BasicCredentials?
            switch t.auth {
            case .bearer(let token)?: headers.append(HTTPHeader("Authorization", "Bearer \(token.value)"))
            case .basic(let credentials)?: basic = credentials
            case nil: break
            }
            if kind == .metrics { headers.append(HTTPHeader("Accept", Scraper.accept)) }
            return HTTPRequest(
                method: .get, url: endpoint.url, headers: headers, timeout: t.timeout, connectTimeout: t.connectTimeout,
                followRedirects: t.followRedirects, bodyLimit: t.bodySizeLimit, acceptCompressed: true, basicAuth: basic,
                tls: t.tls)
        }

        mutating func update(_ list: [TargetSettings], policy: CircuitBreaker.Policy) {
            var next: [String: TargetState] = [:]
            for t in list where next[t.name] == nil {
                if let old = targets[t.name] {
                    next[t.name] = old.settings == t ? old : makeTarget(t, policy: policy, keeping: old)
                } else {
                    next[t.name] = makeTarget(t, policy: policy)
                }
            }
            targets = next
            version += 1
            scrapedVersion += 1
        }

        /// Takes the batches due at `now` and moves their targets to the next tick.
        /// Returns the batches and the next instant anything is due.
        mutating func takeDue(now: MonotonicInstant, wall: WallTime) -> ([[ProbeJob]], MonotonicInstant?) {
            var batches: [[ProbeJob]] = []
            var next: MonotonicInstant?
            for name in targets.keys.sorted() {
                var t = targets[name]!
                let due = t.nextDue ?? now + t.offset
                if due <= now {
                    var jobs: [ProbeJob] = []
                    for i in t.endpoints.indices {
                        if t.endpoints[i].inFlight {
                            t.endpoints[i].skippedOverlapping += 1
                            continue
                        }
                        if !t.endpoints[i].breaker.allowsProbe(at: due) {
                            t.endpoints[i].skippedCircuitOpen += 1
                            continue
                        }
                        t.endpoints[i].inFlight = true
                        let e = t.endpoints[i]
                        jobs.append(
                            ProbeJob(
                                target: name, endpointID: e.id, kind: e.kind, endpoint: e.settings, request: e.request,
                                sampleLimit: t.settings.sampleLimit, start: due, wallStart: wall - (now - due)))
                    }
                    if !jobs.isEmpty { batches.append(jobs) }
                    // Ticks missed (a stalled process, a suspended VM) are skipped, not caught up.
                    let interval = t.settings.interval.nanoseconds
                    let missed = (now.nanoseconds - due.nanoseconds) / interval
                    t.nextDue = due + .nanoseconds(interval * (missed + 1))
                } else {
                    t.nextDue = due
                }
                next = min(next ?? t.nextDue!, t.nextDue!)
                targets[name] = t
            }
            return (batches, next)
        }

        /// A probe that ended without a result (the prober is stopping).
        mutating func abandon(_ job: ProbeJob) {
            guard let ti = targets.index(forKey: job.target),
                let ei = targets.values[ti].endpoints.firstIndex(where: { $0.id == job.endpointID })
            else { return }
            targets.values[ti].endpoints[ei].inFlight = false
        }

        mutating func record(
            _ job: ProbeJob, outcome: ProbeOutcome, scrape: ScrapeResult?, detailed: DetailedBody?
        ) -> CircuitBreaker.Transition? {
            // The target or endpoint may have been removed or replaced while the probe ran.
            guard let ti = targets.index(forKey: job.target),
                let ei = targets.values[ti].endpoints.firstIndex(where: { $0.id == job.endpointID })
            else { return nil }
            var e = targets.values[ti].endpoints[ei]
            e.inFlight = false
            e.last = outcome
            e.probes += 1
            if outcome.timedOut { e.timeouts += 1 }
            if let reason = outcome.reason { e.failures[reason, default: 0] += 1 }
            e.latency.observe(outcome.timings.total)
            let transition = e.breaker.record(success: outcome.success, startedAt: job.start)
            if let detailed { e.detailed = detailed }
            e.series = ProbeMetrics.EndpointSeries(
                labels: e.labels, last: outcome, latency: e.latency, timeouts: e.timeouts, failures: e.failures,
                circuitOpen: e.breaker.isOpen)
            targets.values[ti].endpoints[ei] = e
            if let scrape {
                // A failed scrape drops the target's series: they go stale at once.
                targets.values[ti].scraped = scrape.families
                targets.values[ti].scrape = (scrape.samples, scrape.bodyBytes)
                scrapedVersion += 1
            }
            version += 1
            return transition
        }

        func snapshot() -> Snapshot {
            var series: [ProbeMetrics.TargetSeries] = []
            var scraped: [[MetricFamily]] = []
            series.reserveCapacity(targets.count)
            for name in targets.keys.sorted() {
                let t = targets[name]!
                series.append(
                    ProbeMetrics.TargetSeries(name: name, endpoints: t.endpoints.compactMap(\.series), scrape: t.scrape))
                if !t.scraped.isEmpty { scraped.append(t.scraped) }
            }
            return Snapshot(version: version, scrapedVersion: scrapedVersion, series: series, scraped: scraped)
        }
    }
}
