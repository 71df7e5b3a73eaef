import Config
import Exposition
import HTTPClient
import LookoutCore
import Logging
import Series
import ServiceLifecycle
import Synchronization

/// Probes every endpoint of every target on its interval and scrapes the `metrics`
/// endpoints, all concurrently on one `HTTPClient`.
///
/// Scheduling: each target fires all its endpoints together, first at start plus a small
/// deterministic offset (from its name, at most a tenth of the interval and at most 1 s,
/// so many targets do not hit one instant), then every `interval` after that. Every
/// probe due at a wake-up starts at once, each in its own task: a slow or hanging
/// endpoint delays neither another target nor its own next interval. An endpoint whose
/// previous probe is still running is skipped for that tick (and the skip counted);
/// an endpoint whose circuit breaker is open is probed once per retry interval.
///
/// Results are exposed as immutable snapshots through two sources: `probeMetrics` (the
/// `lookout_probe_*` and `lookout_scrape_*` series) and `scrapedMetrics` (the targets'
/// own series with a `target` label). Each probe result renders its endpoint's series
/// once; a snapshot is assembled from those when it is read and the state has changed
/// since the last one, so its cost follows the reads (a scrape, a rule evaluation), not
/// the number of probes, and every result is visible as soon as it is recorded.
public final class Prober: Service {
    /// `lookout_probe_*`, `lookout_scrape_samples`, `lookout_scrape_body_bytes`.
    public var probeMetrics: any MetricsSource { ProbeSeriesSource(shared: shared) }
    /// The scraped targets' series, each with its `target` label, target by target (the
    /// registry merges them, and counts what it leaves out).
    public var scrapedMetrics: any ScrapedMetricsSource { ScrapedSeriesSource(shared: shared) }

    private let shared: ProberSharedState
    private let client: HTTPClient
    private let clock: any AgentClock
    private let logger: Logger?
    private let breakerPolicy: CircuitBreaker.Policy
    private let decode: ScrapeDecoder
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
        s.update(targets, policy: circuitBreaker)
        shared = ProberSharedState(s)
    }

    // MARK: Running

    /// Runs the schedule until the service group shuts down (or the task is cancelled);
    /// then cancels the probes in flight and returns.
    public func run() async throws {
        try await runUntilShutdown { try await self.schedule() }
    }

    private func schedule() async throws {
        try await withThrowingDiscardingTaskGroup { group in
            while true {
                try Task.checkCancellation()
                let now = clock.now, wall = clock.wallNow
                let (jobs, next) = shared.state.withLock { $0.takeDue(now: now, wall: wall) }
                for job in jobs {
                    group.addTask { await self.probe(job) }
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

    private func probe(_ job: ProbeJob) async {
        let began = clock.now
        let result = await client.execute(job.request)
        if result.error?.kind == .cancelled {
            // Shutting down: not a result of the target.
            shared.state.withLock { $0.abandon(job) }
            return
        }
        var outcome = ProbeEvaluation.evaluate(result, endpoint: job.endpoint, at: job.wallStart)
        var scrape: ScrapeResult?
        if job.kind == .metrics {
            var families: [MetricFamily] = []
            var samples = 0
            var invalid: ScrapeFailure?
            var duplicates = 0
            if outcome.success {
                switch decode(ScrapeInput(body: result.body, contentType: result.contentType, target: job.target, limits: job.scrapeLimits)) {
                case .success(let parsed):
                    families = parsed.families
                    samples = Scraper.sampleCount(parsed.families)
                    duplicates = parsed.duplicateSamples
                case .failure(let failure) where failure.reason == .limit:
                    // Over a limit the target is failing, as Prometheus' `up` says.
                    outcome.fail(failure.reason, failure.message)
                case .failure(let failure):
                    // A body that does not parse ingests nothing, but the endpoint answered:
                    // lookout_scrape_valid says so, not lookout_probe_success.
                    invalid = failure
                }
            }
            scrape = ScrapeResult(
                families: families, samples: samples, bodyBytes: result.body.count, duration: clock.now - began,
                error: invalid, duplicateSamples: duplicates)
            if let invalid, let logger {
                logger.warning(
                    "scrape invalid: nothing ingested",
                    metadata: ["target": "\(job.target)", "url": "\(HTTPURL.redactingCredentials(job.endpoint.url))", "error": "\(invalid.message)"])
            }
        }
        let detailed = job.kind == .detailed ? DetailedBody(result.body) : nil
        // Components are read from any answer (a Spring service answers 503 with its report),
        // and a body that cannot be read never fails the probe.
        let format = job.endpoint.bodyFormat(for: job.kind)
        let health =
            format == .none || result.status == 0
            ? nil
            : HealthBodyReading(
                body: result.body, contentType: result.contentType, format: format, probeSeconds: outcome.timings.total)
        let transition = shared.state.withLock {
            $0.record(job, outcome: outcome, scrape: scrape, detailed: detailed, health: health)
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
    /// is read next; new targets are probed at their first tick.
    public func update(targets: [TargetSettings]) {
        shared.state.withLock { $0.update(targets, policy: breakerPolicy) }
        wakeup.signal()
    }

    // MARK: Reading

    /// True once every endpoint of every target has a result (or the target list is empty).
    public var hasCompletedFirstRound: Bool {
        shared.state.withLock { s in s.targets.values.allSatisfy { $0.endpoints.allSatisfy { $0.last != nil } } }
    }

    /// An immutable copy of every target's status, by target name.
    public func targetsStatus() -> [TargetStatus] {
        shared.state.withLock { s in s.sortedNames.map { s.targets[$0]!.status } }
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

/// The prober's state and the snapshots assembled from it, shared with the metrics sources
/// (which the registry holds; they do not keep the prober alive).
final class ProberSharedState: Sendable {
    let state: Mutex<Prober.State>
    private let probeCache = Mutex<(version: UInt64, families: [MetricFamily])>((0, []))
    private let scrapedCache = Mutex<(version: UInt64, targets: [ScrapedTarget])>((0, []))

    init(_ state: Prober.State) { self.state = Mutex(state) }

    func probeFamilies() -> [MetricFamily] {
        let cached = probeCache.withLock { $0 }
        guard let series = state.withLock({ s in s.version == cached.version ? nil : (s.version, s.series()) }) else {
            return cached.families
        }
        let families = ProbeMetrics.families(series.1)
        probeCache.withLock { c in
            if series.0 > c.version { c = (series.0, families) }
        }
        return families
    }

    func scrapedTargets() -> (version: UInt64, targets: [ScrapedTarget]) {
        let cached = scrapedCache.withLock { $0 }
        guard let scraped = state.withLock({ s in s.scrapedVersion == cached.version ? nil : (s.scrapedVersion, s.scraped()) })
        else { return cached }
        scrapedCache.withLock { c in
            if scraped.0 > c.version { c = scraped }
        }
        return scraped
    }
}

struct ProbeSeriesSource: MetricsSource {
    let shared: ProberSharedState
    func collect() -> [MetricFamily] { shared.probeFamilies() }
}

struct ScrapedSeriesSource: ScrapedMetricsSource {
    let shared: ProberSharedState
    func scrapedTargets() -> (version: UInt64, targets: [ScrapedTarget]) { shared.scrapedTargets() }
}

/// One probe to run: everything the task needs, copied out of the state.
struct ProbeJob: Sendable {
    let target: String
    let endpointID: UInt64
    let kind: EndpointKind
    let endpoint: EndpointSettings
    let request: HTTPClientRequest
    let scrapeLimits: ScrapeLimits
    /// The tick the probe belongs to (monotonic), which paces the circuit breaker.
    let start: MonotonicInstant
    let wallStart: WallTime
}

struct ScrapeResult: Sendable {
    var families: [MetricFamily]
    var samples: Int
    var bodyBytes: Int
    /// The request and the parsing of its body.
    var duration: Duration
    /// Why the body could not be parsed (nothing ingested); nil when it was.
    var error: ScrapeFailure?
    /// Samples of a series given again in the body, skipped.
    var duplicateSamples = 0
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
        var request: HTTPClientRequest
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
        /// The last answer read per component (endpoints with `parse:` other than none).
        var health: HealthBodyReading?
        var droppedComponents = 0
        var series: ProbeMetrics.EndpointSeries?
    }

    struct TargetState: Sendable {
        var settings: TargetSettings
        let offset: Duration
        /// nil until the scheduler first sees the target.
        var nextDue: MonotonicInstant?
        var endpoints: [EndpointState]
        var scraped: [MetricFamily] = []
        /// The `scrapedVersion` that recorded `scraped`: one number per scrape.
        var scrapeGeneration: UInt64 = 0
        var scrape: TargetStatus.ScrapeStatus?
    }

    struct State: Sendable {
        /// Only `add` and `update` add or remove keys (they keep `sortedNames` in step).
        var targets: [String: TargetState] = [:]
        private(set) var sortedNames: [String] = []
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
                    target.scrapeGeneration = old.scrapeGeneration
                    target.scrape = old.scrape
                }
            }
            return target
        }

        static func request(for t: TargetSettings, kind: EndpointKind, endpoint: EndpointSettings) -> HTTPClientRequest {
            HTTPClientRequest(
                url: endpoint.url, config: t.http,
                headers: kind == .metrics ? [HTTPHeader("Accept", Scraper.accept)] : [], bodyLimit: t.bodySizeLimit)
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
            sortedNames = next.keys.sorted()
            version += 1
            scrapedVersion += 1
        }

        /// Takes the probes due at `now` and moves their targets to the next tick.
        /// Returns the probes and the next instant anything is due.
        mutating func takeDue(now: MonotonicInstant, wall: WallTime) -> ([ProbeJob], MonotonicInstant?) {
            var jobs: [ProbeJob] = []
            var next: MonotonicInstant?
            for name in sortedNames {
                var t = targets[name]!
                let due = t.nextDue ?? now + t.offset
                if due <= now {
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
                                scrapeLimits: t.settings.scrapeLimits, start: due, wallStart: wall - (now - due)))
                    }
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
            return (jobs, next)
        }

        /// A probe that ended without a result (the prober is stopping).
        mutating func abandon(_ job: ProbeJob) {
            guard let ti = targets.index(forKey: job.target),
                let ei = targets.values[ti].endpoints.firstIndex(where: { $0.id == job.endpointID })
            else { return }
            targets.values[ti].endpoints[ei].inFlight = false
        }

        mutating func record(
            _ job: ProbeJob, outcome: ProbeOutcome, scrape: ScrapeResult?, detailed: DetailedBody?,
            health: HealthBodyReading? = nil
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
            e.health = health
            if let dropped = health?.report?.droppedComponents { e.droppedComponents += dropped }
            e.series = ProbeMetrics.EndpointSeries(
                labels: e.labels, last: outcome, latency: e.latency, timeouts: e.timeouts, failures: e.failures,
                circuitOpen: e.breaker.isOpen, health: health, droppedComponents: e.droppedComponents)
            targets.values[ti].endpoints[ei] = e
            if let scrape {
                // A failed scrape drops the target's series: they go stale at once.
                targets.values[ti].scraped = scrape.families
                let duplicates = (targets.values[ti].scrape?.duplicateSamplesTotal ?? 0) + scrape.duplicateSamples
                targets.values[ti].scrape = TargetStatus.ScrapeStatus(
                    samples: scrape.samples, bodyBytes: scrape.bodyBytes, durationSeconds: scrape.duration.seconds,
                    error: scrape.error?.message, duplicateSamplesTotal: duplicates)
                scrapedVersion += 1
                targets.values[ti].scrapeGeneration = scrapedVersion
            }
            version += 1
            return transition
        }

        /// Every target's rendered series, targets by name.
        func series() -> [ProbeMetrics.TargetSeries] {
            sortedNames.map { name in
                let t = targets[name]!
                return ProbeMetrics.TargetSeries(name: name, endpoints: t.endpoints.compactMap(\.series), scrape: t.scrape)
            }
        }

        /// The scraped families of every target with a `metrics` endpoint, targets by name.
        func scraped() -> [ScrapedTarget] {
            sortedNames.compactMap { name in
                let t = targets[name]!
                guard t.settings.metrics != nil else { return nil }
                return ScrapedTarget(name: name, generation: t.scrapeGeneration, families: t.scraped)
            }
        }
    }
}
