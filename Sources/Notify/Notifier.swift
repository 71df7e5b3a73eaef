import Config
import HTTPClient
import LookoutCore
import Logging
import Series
import ServiceLifecycle
import Synchronization

/// Tells people about alerts: Alertmanager-style webhooks (grouped, inhibited, repeated),
/// pushes to Alertmanager, and delivery through a durable outbox with retries.
///
/// The agent calls `submit` after every rule evaluation with all alerts firing now plus the
/// ones that resolved in it, and runs `run()` as a service. `submit` and `update` only hand
/// data to the loop; the loop does the grouping, writes the outbox and sends, one request
/// at a time per receiver, concurrently across receivers.
///
/// Delivery is at least once: a notification is fsync'd to the outbox before it is sent,
/// removed after a 2xx, and sent again after a restart if it was not. After a restart the
/// grouping starts afresh, so groups still firing are notified again after `group_wait`.
public final class Notifier: MetricsSource, Service {
    /// Buckets of `lookout_notification_latency_seconds`: from the notification being made to
    /// its 2xx, which includes retries while a receiver is down.
    public static let latencyBounds: [Double] = [
        0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600,
    ]

    let clock: any AgentClock
    let transport: any HTTPTransport
    let logger: Logger
    let defaultExternalURL: String
    let jitter: @Sendable () -> Double
    let compactionMinBytes: Int
    let shared: Mutex<NotifierSharedState>
    let wake = WakeSignal()

    /// - Parameters:
    ///   - settings: the `notify:` config; secrets already loaded.
    ///   - transport: runs the POSTs: the agent's `HTTPClient` (tests record instead).
    ///   - externalURL: the agent's own URL, the payloads' `externalURL` unless `notify.external_url` is set.
    ///   - jitter: random numbers in [0, 1) for the retry backoff (tests pass a fixed value).
    ///   - compactionMinBytes: the outbox log is compacted once it is this large and mostly acked,
    ///     unless `notify.outbox_compaction_min_bytes` says otherwise.
    public init(
        settings: NotifySettings, clock: any AgentClock, transport: any HTTPTransport,
        logger: Logger = Logger(label: "notify"), externalURL: String = "",
        jitter: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
        compactionMinBytes: Int = 1 << 20
    ) {
        self.clock = clock
        self.transport = transport
        self.logger = logger
        self.defaultExternalURL = externalURL
        self.jitter = jitter
        self.compactionMinBytes = compactionMinBytes
        self.shared = Mutex(NotifierSharedState(settings: settings))
    }

    // MARK: Input

    /// Hands over the result of one round of rule evaluation: every alert firing now and the
    /// alerts that resolved in it, taken as they are.
    public func submit(_ round: AlertRound) {
        // A round without alerts changes nothing: the loop is not woken for it (the rules
        // hand over a round every second).
        if round.firing.isEmpty && round.resolved.isEmpty { return }
        shared.withLock { s in
            for a in round.firing { s.addUpdate(a, a.fingerprint) }
            for a in round.resolved { s.addUpdate(a, a.fingerprint) }
            s.loop.produced += 1
        }
        wake.signal()
    }

    /// Applies a reloaded config: receivers, timings, inhibit rules, caps. Groups of receivers
    /// that stay keep their state; a new outbox directory takes effect at the next start.
    public func update(settings: NotifySettings) {
        shared.withLock {
            $0.pendingSettings = settings
            $0.loop.produced += 1
        }
        wake.signal()
    }

    // MARK: Loop

    /// Delivers until the service group shuts down (or the task is cancelled). Opens (and
    /// replays) the outbox first; if its directory cannot be used the notifier keeps running
    /// with an in-memory outbox and says so in the log and the status.
    public func run() async throws {
        try await runUntilShutdown { await self.deliver() }
    }

    private func deliver() async {
        let core = NotifierLoop(owner: self)
        defer { core.close() }
        await withDiscardingTaskGroup { group in
            while !Task.isCancelled {
                let sends = core.step()
                shared.withLock { $0.loop.inFlight += sends.count }
                for send in sends {
                    group.addTask { [self] in
                        let outcome = TransportOutcome(await transport.execute(send.request.httpRequest))
                        shared.withLock {
                            $0.completions.append(Completion(receiver: send.receiver, id: send.id, outcome: outcome))
                            $0.loop.inFlight -= 1
                            $0.loop.produced += 1
                        }
                        wake.signal()
                    }
                }
                core.publish()
                let deadline = core.nextDeadline()
                shared.withLock {
                    $0.loop.waiting = true
                    $0.loop.waitingOnClock = deadline != nil
                }
                await waitForWork(until: deadline)
                shared.withLock { $0.loop.waiting = false }
            }
            group.cancelAll()
        }
    }

    private func waitForWork(until deadline: MonotonicInstant?) async {
        if let deadline, deadline <= clock.now { return }
        await withTaskGroup(of: Void.self) { g in
            g.addTask { await self.wake.wait() }
            if let deadline {
                g.addTask { try? await self.clock.sleep(until: deadline) }
            }
            _ = await g.next()
            g.cancelAll()
        }
    }

    // MARK: Output

    static let familyNames = ["lookout_notifications_total", "lookout_notification_outbox_length", "lookout_notification_latency_seconds"]

    /// Renders nothing when the filter wants none of the notifier's families.
    public func collect(matching filter: FamilyNameFilter) -> [MetricFamily] {
        filter.restrict(Self.familyNames, collect)
    }

    /// `lookout_notifications_total{receiver,result}`, `lookout_notification_outbox_length`,
    /// `lookout_notification_latency_seconds`. Reads counters kept by the loop; no I/O.
    public func collect() -> [MetricFamily] {
        shared.withLock { s in
            var counts: [(Labels, Double)] = []
            for name in s.stats.receivers.keys.sorted() {
                let r = s.stats.receivers[name]!
                for (result, v) in [("dropped", r.dropped), ("retry", r.retry), ("success", r.success)] {
                    counts.append((Labels([("receiver", name), ("result", result)]), v))
                }
            }
            return [
                .counter(
                    "lookout_notifications_total", help: "Notification delivery attempts by receiver and result.",
                    counts),
                .gauge(
                    "lookout_notification_outbox_length", help: "Notifications in the outbox waiting for delivery.",
                    [(.empty, Double(s.stats.outboxLength))]),
                .histogram(
                    "lookout_notification_latency_seconds",
                    help: "Time from a notification being made to its successful delivery.", unit: "seconds",
                    [(.empty, s.stats.latency.value)]),
            ]
        }
    }

    /// Whether the loop has taken in everything given to it, has no request in flight and waits
    /// (for tests on a ManualClock: `clockSleepers` is its sleeper count).
    func isQuiet(clockSleepers: () -> Int) -> Bool {
        let (quiet, onClock) = shared.withLock { s in
            (s.loop.waiting && s.loop.inFlight == 0 && s.loop.produced == s.loop.consumed, s.loop.waitingOnClock)
        }
        return quiet && (!onClock || clockSleepers() >= 1)
    }

    /// Notifications waiting in the outbox.
    public var outboxLength: Int { shared.withLock { $0.stats.outboxLength } }

    /// The outbox and the receivers, for the status page. URLs are shown without credentials.
    public func status() -> NotifierStatus {
        let wallNow = clock.wallNow
        return shared.withLock { s in
            let st = s.stats
            return NotifierStatus(
                durable: st.durable, directory: st.directory, error: st.outboxError, length: st.outboxLength,
                bytes: st.outboxBytes, oldestAgeSeconds: st.oldest.map { max(0, (wallNow - $0).seconds) },
                replay: st.replay,
                receivers: st.receivers.keys.sorted().map { name in
                    let r = st.receivers[name]!
                    return NotifierStatus.Receiver(
                        name: name, kind: r.kind, url: r.url, configured: r.configured, pending: r.pending,
                        inFlight: r.inFlight, consecutiveFailures: r.failures, success: r.success, retry: r.retry,
                        dropped: r.dropped, lastSuccess: r.lastSuccess, lastFailure: r.lastFailure, lastError: r.lastError)
                })
        }
    }
}

/// What the notifier shows of itself: its outbox and every receiver, as of one moment.
public struct NotifierStatus: Sendable, Hashable {
    public struct Receiver: Sendable, Hashable {
        public var name: String
        /// `webhook` or `alertmanager`.
        public var kind: String
        /// Without credentials.
        public var url: String
        /// False for a receiver a reload removed while it still had notifications to send.
        public var configured: Bool
        public var pending: Int
        public var inFlight: Bool
        public var consecutiveFailures: Int
        public var success: Double
        public var retry: Double
        public var dropped: Double
        public var lastSuccess: WallTime?
        public var lastFailure: WallTime?
        public var lastError: String?
    }

    /// The outbox is on disk (false: in memory, see `error`).
    public var durable: Bool
    public var directory: String
    /// Why the outbox is not on disk.
    public var error: String?
    /// Notifications waiting, and the bytes they take.
    public var length: Int
    public var bytes: Int
    public var oldestAgeSeconds: Double?
    /// What reading the outbox at start found.
    public var replay: Outbox.Replay
    /// By name.
    public var receivers: [Receiver]
}

// MARK: - Shared state

struct Completion: Sendable {
    var receiver: String
    var id: UInt64
    var outcome: TransportOutcome
}

struct ReceiverStats: Sendable {
    var kind: String
    var url: String
    var configured = true
    var success = 0.0
    var retry = 0.0
    var dropped = 0.0
    var pending = 0
    var inFlight = false
    var failures = 0
    var lastSuccess: WallTime?
    var lastFailure: WallTime?
    var lastError: String?
}

struct NotifierStats: Sendable {
    var receivers: [String: ReceiverStats] = [:]
    var latency = HistogramAccumulator(upperBounds: Notifier.latencyBounds)
    var outboxLength = 0
    var outboxBytes = 0
    var oldest: WallTime?
    var durable = false
    var directory = ""
    var outboxError: String?
    var replay = Outbox.Replay()
}

/// Counters that tell whether the loop has caught up (see `isQuiet`).
struct LoopState: Sendable {
    var produced = 0
    var consumed = 0
    var inFlight = 0
    var waiting = false
    var waitingOnClock = false
}

struct NotifierSharedState: Sendable {
    var loop = LoopState()
    var settings: NotifySettings
    var pendingSettings: NotifySettings?
    /// Alert changes the loop has not taken yet, the latest state of each alert only: the
    /// backlog stays as small as the set of alerts however long the loop is away.
    var updates: [Alert] = []
    var updateIndex: [Fingerprint: Int] = [:]
    var completions: [Completion] = []
    var stats = NotifierStats()

    init(settings: NotifySettings) { self.settings = settings }

    mutating func addUpdate(_ alert: Alert, _ fp: Fingerprint) {
        if let i = updateIndex[fp] {
            updates[i] = alert
        } else {
            updateIndex[fp] = updates.count
            updates.append(alert)
        }
    }
}

struct Send: Sendable {
    var receiver: String
    var id: UInt64
    var request: NotificationRequest
}

// MARK: - The loop's own state

/// Everything only the loop touches: the outbox, the state machines, the alerts firing now.
/// `step` drains what `submit`, `update` and finished requests left in the shared state,
/// advances the state machines and returns the requests to start.
final class NotifierLoop {
    let owner: Notifier
    var clock: any AgentClock { owner.clock }
    var logger: Logger { owner.logger }

    var settings: NotifySettings
    var externalURL: String
    var outbox: Outbox
    var endpoints: [String: Endpoint] = [:]
    var groupers: [String: AlertGrouper] = [:]
    var pusher: AlertmanagerPusher
    var scheduler: DeliveryScheduler
    var inhibitor: Inhibitor
    /// Alerts firing now, by fingerprint: the inhibitor's sources.
    var active: [Fingerprint: Alert] = [:]
    /// Counter changes made in a step, published with the rest in `publish`.
    var stats: NotifierStats
    /// The last compaction failure, logged once rather than at every step.
    var lastCompactionError: String?

    init(owner: Notifier) {
        self.owner = owner
        let settings = owner.shared.withLock { s in
            let current = s.pendingSettings ?? s.settings
            s.pendingSettings = nil
            s.settings = current
            return current
        }
        self.settings = settings
        externalURL = settings.externalURL ?? owner.defaultExternalURL
        pusher = AlertmanagerPusher(resendDelay: settings.resendDelay)
        scheduler = DeliveryScheduler(backoff: Backoff(base: settings.minBackoff, cap: settings.maxBackoff))
        inhibitor = Inhibitor(rules: settings.inhibitRules)
        stats = owner.shared.withLock { $0.stats }
        stats.directory = settings.outbox
        do {
            // Without a receiver nothing is queued: the directory is made once one is configured.
            outbox = try Outbox(
                directory: settings.hasReceivers ? settings.outbox : nil, maxEntries: settings.outboxMaxEntries,
                maxBytes: settings.outboxMaxBytes, compactionMinBytes: settings.outboxCompactionMinBytes ?? owner.compactionMinBytes)
            stats.durable = outbox.isDurable
        } catch {
            owner.logger.error(
                "outbox unusable; notifications are kept in memory only and a crash loses them",
                metadata: ["error": "\(error)"])
            stats.outboxError = error.description
            outbox = try! Outbox(directory: nil, maxEntries: settings.outboxMaxEntries, maxBytes: settings.outboxMaxBytes)
        }
        stats.replay = outbox.replay
        let r = outbox.replay
        if r.tornTail || r.corruptRecords > 0 || r.discardedBytes > 0 {
            logger.warning(
                "outbox: \(r.lostNotifications) notification\(r.lostNotifications == 1 ? "" : "s") lost in damaged records; every intact record was kept",
                metadata: [
                    "directory": "\(settings.outbox)", "lost_notifications": "\(r.lostNotifications)",
                    "torn_tail": "\(r.tornTail)", "discarded_bytes": "\(r.discardedBytes)",
                    "corrupt_records": "\(r.corruptRecords)",
                ])
        }
        if r.restored > 0 {
            logger.info("outbox: resending notifications not delivered before the restart", metadata: ["count": "\(r.restored)"])
        }
        configure(settings, now: owner.clock.now, wallNow: owner.clock.wallNow, initial: true)
        for e in outbox.entries {
            if let ep = endpoints[e.receiver], ep.kind == e.kind {
                scheduler.enqueue(e.id, receiver: e.receiver)
            } else {
                logger.warning(
                    "outbox: dropping a notification for a receiver that is no longer configured",
                    metadata: ["receiver": "\(e.receiver)"])
                outbox.ack(e.id, reason: .dropped)
                count(e.receiver, kind: e.kind, url: e.url, .dropped, configured: false)
            }
        }
    }

    func close() {
        outbox.close()
    }

    // MARK: Step

    func step() -> [Send] {
        let now = clock.now
        let wallNow = clock.wallNow
        let (newSettings, updates, completions) = owner.shared.withLock { s in
            defer {
                s.pendingSettings = nil
                s.updates = []
                s.updateIndex = [:]
                s.completions = []
            }
            if let p = s.pendingSettings { s.settings = p }
            s.loop.consumed = s.loop.produced
            return (s.pendingSettings, s.updates, s.completions)
        }
        for c in completions { complete(c, now: now, wallNow: wallNow) }
        if let newSettings { configure(newSettings, now: now, wallNow: wallNow, initial: false) }
        let pushing = endpoints.values.contains { $0.kind == .alertmanager }
        for a in updates {
            if a.isResolved { active[a.fingerprint] = nil } else { active[a.fingerprint] = a }
            for name in groupers.keys { groupers[name]!.insert(a, now: now, wallNow: wallNow) }
            if pushing { pusher.update(a, now: now) }
        }
        flushGroups(now: now, wallNow: wallNow)
        if pushing { pushToAlertmanagers(now: now, wallNow: wallNow) }
        let failure = outbox.compactIfNeeded()
        if let failure, failure.description != lastCompactionError {
            logger.error("outbox compaction failed; will try again", metadata: ["error": "\(failure)"])
        }
        lastCompactionError = failure?.description
        return startSends(now: now)
    }

    func nextDeadline() -> MonotonicInstant? {
        let now = clock.now
        let pushing = endpoints.values.contains { $0.kind == .alertmanager }
        return [
            groupers.values.compactMap(\.nextDeadline).min(), pushing ? pusher.nextDeadline(now: now) : nil,
            scheduler.nextDeadline,
        ].compactMap { $0 }.min()
    }

    func flushGroups(now: MonotonicInstant, wallNow: WallTime) {
        let firing = Array(active.values)
        let inhibitor = self.inhibitor
        let isMuted: (Alert) -> Bool = { inhibitor.isMuted($0.labels, firing: firing) }
        for name in groupers.keys.sorted() {
            let notifications = groupers[name]!.flush(now: now, isMuted: isMuted)
            guard let ep = endpoints[name] else { continue }
            for n in notifications {
                let body = WebhookPayload.body(n, externalURL: externalURL)
                enqueue(ep, body: body, wallNow: wallNow)
            }
        }
    }

    func pushToAlertmanagers(now: MonotonicInstant, wallNow: WallTime) {
        guard let batch = pusher.due(now: now) else { return }
        let body = AlertmanagerPayload.body(batch, now: wallNow, validFor: pusher.resendDelay * 4)
        for ep in endpoints.values.sorted(by: { $0.name < $1.name }) where ep.kind == .alertmanager {
            let older = outbox.entries.filter { $0.receiver == ep.name }
            guard enqueue(ep, body: body, wallNow: wallNow) else { continue }
            // The new batch is on disk; the ones it replaces can go.
            for e in older {
                outbox.ack(e.id, reason: .superseded)
                scheduler.remove(e.id, receiver: ep.name)
            }
        }
    }

    /// Writes a notification to the outbox and queues it. False if it could not be kept.
    @discardableResult
    func enqueue(_ ep: Endpoint, body: [UInt8], wallNow: WallTime) -> Bool {
        // The stored URL is for the record only (requests go to the receiver's configured URL):
        // without `user:password@`, so no credential reaches the disk.
        let appended = outbox.append(
            kind: ep.kind, receiver: ep.name, url: ep.redactedURL, body: body, createdAt: wallNow)
        for v in appended.evicted {
            logger.warning(
                "outbox full: dropped the oldest notification",
                metadata: ["receiver": "\(v.receiver)", "max_entries": "\(outbox.maxEntries)", "max_bytes": "\(outbox.maxBytes)"])
            scheduler.remove(v.id, receiver: v.receiver)
            count(v.receiver, kind: v.kind, url: v.url, .dropped)
        }
        if let failure = appended.failure {
            logger.error("outbox write failed; sending the notification without a durable copy", metadata: ["error": "\(failure)"])
        }
        guard let entry = appended.entry else {
            logger.error(
                "notification larger than notify.outbox_max_bytes; dropped",
                metadata: ["receiver": "\(ep.name)", "bytes": "\(body.count)"])
            count(ep.name, kind: ep.kind, url: ep.url, .dropped)
            return false
        }
        scheduler.enqueue(entry.id, receiver: ep.name)
        return true
    }

    func startSends(now: MonotonicInstant) -> [Send] {
        var out: [Send] = []
        for (receiver, id) in scheduler.start(now: now) {
            guard let entry = outbox.entry(id), let ep = endpoints[receiver] else {
                scheduler.complete(receiver: receiver, id: id, result: .dropped, now: now, jitter: 0)
                continue
            }
            out.append(
                Send(receiver: receiver, id: id, request: ep.request(entry.body)))
        }
        return out
    }

    func complete(_ c: Completion, now: MonotonicInstant, wallNow: WallTime) {
        let result = DeliveryResult(c.outcome)
        let entry = outbox.entry(c.id)
        let ep = endpoints[c.receiver]
        let kind = entry?.kind ?? ep?.kind ?? .webhook
        let url = ep?.redactedURL ?? entry.map { HTTPURL.redactingCredentials($0.url) } ?? ""
        let next = scheduler.complete(
            receiver: c.receiver, id: c.id, result: result, now: now, jitter: owner.jitter())
        switch result {
        case .success:
            if let entry {
                outbox.ack(entry.id, reason: .delivered)
                stats.latency.observe(max(0, (wallNow - entry.createdAt).seconds))
            }
            count(c.receiver, kind: kind, url: url, .success)
            stats.receivers[c.receiver]?.lastSuccess = wallNow
            logger.debug("notification delivered", metadata: ["receiver": "\(c.receiver)", "status": "\(c.outcome)"])
        case .retry:
            count(c.receiver, kind: kind, url: url, .retry)
            stats.receivers[c.receiver]?.lastFailure = wallNow
            stats.receivers[c.receiver]?.lastError = c.outcome.description
            logger.warning(
                "notification failed; will retry",
                metadata: [
                    "receiver": "\(c.receiver)", "url": "\(url)", "error": "\(c.outcome)",
                    "failures": "\(scheduler.failures(c.receiver))",
                    "retry_in": "\(next.map { PromDuration.format($0 - now) } ?? "-")",
                ])
        case .dropped:
            if let entry { outbox.ack(entry.id, reason: .dropped) }
            count(c.receiver, kind: kind, url: url, .dropped)
            stats.receivers[c.receiver]?.lastFailure = wallNow
            stats.receivers[c.receiver]?.lastError = c.outcome.description
            logger.error(
                "notification refused by the receiver; dropped",
                metadata: ["receiver": "\(c.receiver)", "url": "\(url)", "status": "\(c.outcome)"])
        }
    }

    func count(_ receiver: String, kind: OutboxEntry.Kind, url: String, _ result: DeliveryResult, configured: Bool = true) {
        if stats.receivers[receiver] == nil {
            stats.receivers[receiver] = ReceiverStats(kind: kind.name, url: HTTPURL.redactingCredentials(url), configured: configured)
        }
        switch result {
        case .success: stats.receivers[receiver]!.success += 1
        case .retry: stats.receivers[receiver]!.retry += 1
        case .dropped: stats.receivers[receiver]!.dropped += 1
        }
    }

    // MARK: Settings

    func configure(_ new: NotifySettings, now: MonotonicInstant, wallNow: WallTime, initial: Bool) {
        if !initial && !outbox.isDurable && outbox.count == 0 && new.hasReceivers && stats.outboxError == nil {
            // The first receiver came with a reload: the durable outbox opens now.
            do {
                let durable = try Outbox(
                    directory: new.outbox, maxEntries: new.outboxMaxEntries, maxBytes: new.outboxMaxBytes,
                    compactionMinBytes: new.outboxCompactionMinBytes ?? owner.compactionMinBytes)
                outbox.close()
                outbox = durable
                stats.durable = true
                stats.directory = new.outbox
            } catch {
                logger.error(
                    "outbox unusable; notifications are kept in memory only and a crash loses them",
                    metadata: ["error": "\(error)"])
                stats.outboxError = error.description
            }
        } else if !initial && outbox.isDurable && new.outbox != settings.outbox {
            logger.warning(
                "notify.outbox changed; the new directory is used after a restart",
                metadata: ["current": "\(settings.outbox)", "configured": "\(new.outbox)"])
        }
        settings = new
        externalURL = new.externalURL ?? owner.defaultExternalURL

        var next: [String: Endpoint] = [:]
        for w in new.webhooks { next[w.name] = Endpoint(webhook: w) }
        for (i, am) in new.alertmanagers.enumerated() {
            var name = "alertmanager/" + (HTTPURL(am.url)?.hostPort ?? am.url)
            if next[name] != nil { name += "#\(i)" }
            next[name] = Endpoint(alertmanager: am, name: name)
        }

        var nextGroupers: [String: AlertGrouper] = [:]
        for w in new.webhooks {
            if var g = groupers[w.name] {
                g.reconfigure(GroupingSettings(w), now: now, wallNow: wallNow)
                nextGroupers[w.name] = g
            } else {
                var g = AlertGrouper(receiver: w.name, settings: GroupingSettings(w))
                for a in active.values { g.insert(a, now: now, wallNow: wallNow) }
                nextGroupers[w.name] = g
            }
        }
        groupers = nextGroupers

        for (name, old) in endpoints where next[name]?.kind != old.kind {
            let ids = scheduler.removeReceiver(name)
            if !ids.isEmpty {
                logger.warning(
                    "receiver removed from the config; dropping its undelivered notifications",
                    metadata: ["receiver": "\(name)", "count": "\(ids.count)"])
            }
            for id in ids {
                outbox.ack(id, reason: .dropped)
                count(name, kind: old.kind, url: old.url, .dropped)
            }
            stats.receivers[name]?.configured = false
        }
        let hadPush = endpoints.values.contains { $0.kind == .alertmanager }
        let newAlertmanagers = next.values.filter { $0.kind == .alertmanager && endpoints[$0.name] == nil }
        if !newAlertmanagers.isEmpty {
            if !hadPush { for a in active.values { pusher.update(a, now: now) } }
            pusher.markDirty()
        }
        endpoints = next
        for ep in next.values {
            if stats.receivers[ep.name] == nil {
                stats.receivers[ep.name] = ReceiverStats(kind: ep.kind.name, url: ep.redactedURL)
            } else {
                stats.receivers[ep.name]!.url = ep.redactedURL
                stats.receivers[ep.name]!.configured = true
            }
        }

        pusher.resendDelay = new.resendDelay
        scheduler.backoff = Backoff(base: new.minBackoff, cap: new.maxBackoff)
        inhibitor = Inhibitor(rules: new.inhibitRules)
        outbox.maxEntries = new.outboxMaxEntries
        outbox.maxBytes = new.outboxMaxBytes
        outbox.compactionMinBytes = new.outboxCompactionMinBytes ?? owner.compactionMinBytes
        for v in outbox.enforceCap() {
            scheduler.remove(v.id, receiver: v.receiver)
            count(v.receiver, kind: v.kind, url: v.url, .dropped)
        }
    }

    /// Makes the loop's counters and the outbox state visible to `collect` and `status`.
    func publish() {
        for name in stats.receivers.keys {
            stats.receivers[name]!.pending = scheduler.pendingCount(name)
            stats.receivers[name]!.inFlight = scheduler.isInFlight(name)
            stats.receivers[name]!.failures = scheduler.failures(name)
        }
        stats.outboxLength = outbox.count
        stats.outboxBytes = outbox.liveBytes
        stats.oldest = outbox.oldest?.createdAt
        let snapshot = stats
        owner.shared.withLock { $0.stats = snapshot }
    }
}
