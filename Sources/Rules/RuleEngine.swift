import LookoutCore
import PromQL
import Series
import ServiceLifecycle
import Synchronization

/// A rule as the rules API shows it.
public struct RuleStatus: Sendable {
    public var kind: RuleDefinition.Kind
    public var name: String
    public var query: String
    public var holdDuration: Duration
    public var keepFiringFor: Duration
    /// The rule's label and annotation templates, unexpanded.
    public var labels: [(String, String)]
    public var annotations: [(String, String)]
    public var health: RuleHealth
    public var lastError: String
    public var evaluationDuration: Duration
    public var lastEvaluation: WallTime?
    /// Pending and firing alerts.
    public var alerts: [RuleAlert]
    public var state: AlertState
}

/// A rule group as the rules API shows it.
public struct GroupStatus: Sendable {
    public var name: String
    public var file: String
    public var interval: Duration
    public var limit: Int
    public var evaluationDuration: Duration
    public var lastEvaluation: WallTime?
    public var rules: [RuleStatus]
}

/// Evaluates Prometheus rule files locally: keeps a bounded history of the series the
/// rules read (fed from the agent's own exposition), evaluates each group on its interval,
/// keeps alert state as Prometheus does, and hands out one `AlertRound` per round of
/// evaluation: the alerts firing after it and those that resolved in it (`evaluate(at:)`
/// returns it; `run()` hands each to the `onRound` it was built with). Its state is
/// behind a lock; readers (APIs, `/metrics`) get the snapshot published after each
/// evaluation and never wait for one.
public final class RuleEngine: MetricsSource, Service {
    public struct Options: Sendable {
        /// Interval of groups that do not set their own (`rules.interval`).
        public var defaultInterval: Duration
        /// Prefix of generator URLs and `$externalURL` in templates.
        public var externalURL: String
        /// `$externalLabels` in templates.
        public var externalLabels: [String: String]
        public var historyLimits: History.Limits
        /// Keep every series and sample (unit tests that query arbitrary expressions).
        public var retainEverything: Bool
        /// The longest history a rule may need (`rules.max_lookback`); nil: no limit.
        public var maxLookback: Duration?

        public init(
            defaultInterval: Duration = .seconds(1), externalURL: String = "", externalLabels: [String: String] = [:],
            historyLimits: History.Limits = History.Limits(), retainEverything: Bool = false,
            maxLookback: Duration? = RuleSettings.defaultMaxLookback
        ) {
            self.defaultInterval = defaultInterval
            self.externalURL = externalURL
            self.externalLabels = externalLabels
            self.historyLimits = historyLimits
            self.retainEverything = retainEverything
            self.maxLookback = maxLookback
        }

        public init(settings: RuleSettings, externalURL: String = "") {
            self.init(defaultInterval: settings.interval, externalURL: externalURL, maxLookback: settings.maxLookback)
        }
    }

    final class State {
        var options: Options
        let history: History
        var groups: [RuleGroupRuntime] = []
        var durations = HistogramAccumulator(upperBounds: RuleEngine.durationBounds)
        var failures: [String: Int] = [:]
        let cache = EvaluationCache()
        /// The alerts the last round handed out as firing, by labels.
        var lastFiring: [Labels: Alert] = [:]
        /// The families the rules can read: what each round gathers.
        var names: FamilyNameFilter

        init(options: Options) {
            self.options = options
            names = options.retainEverything ? .all : .none
            history = History(policy: options.retainEverything ? .everything : RetentionPolicy(selectors: []), limits: options.historyLimits)
        }

        func context(clock: any AgentClock) -> EvaluationContext {
            EvaluationContext(
                history: history,
                evaluator: Evaluator(
                    history: history, defaultSubqueryStepMilliseconds: options.defaultInterval.milliseconds, cache: cache), externalLabels: Labels(options.externalLabels),
                externalURL: options.externalURL, clock: clock)
        }
    }

    struct Snapshot: Sendable {
        var groups: [GroupStatus]
        var families: [MetricFamily]
    }

    static let durationBounds: [Double] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1]

    private let clock: any AgentClock
    private let gather: @Sendable (FamilyNameFilter) -> [MetricFamily]
    private let onRound: @Sendable (AlertRound) -> Void
    private let state: Mutex<State>
    private let snapshot = Mutex(Snapshot(groups: [], families: []))

    /// - Parameters:
    ///   - gather: the current exposition, read whole each interval.
    ///   - onRound: takes every round's alerts, firing and resolved, as `run()` evaluates them.
    public convenience init(
        clock: any AgentClock, options: Options = Options(), gather: @escaping @Sendable () -> [MetricFamily] = { [] },
        onRound: @escaping @Sendable (AlertRound) -> Void = { _ in }
    ) {
        self.init(clock: clock, options: options, gatherMatching: { _ in gather() }, onRound: onRound)
    }

    /// - Parameters:
    ///   - gatherMatching: the families of the current exposition a filter accepts (the agent
    ///     passes `registry.gather(matching:)`), read each interval with the filter of the
    ///     loaded rules' names (`familyFilter`).
    ///   - onRound: takes every round's alerts, firing and resolved, as `run()` evaluates them
    ///     (the agent passes the notifier's `submit`).
    public init(
        clock: any AgentClock, options: Options = Options(), gatherMatching: @escaping @Sendable (FamilyNameFilter) -> [MetricFamily],
        onRound: @escaping @Sendable (AlertRound) -> Void = { _ in }
    ) {
        self.clock = clock
        self.gather = gatherMatching
        self.onRound = onRound
        state = Mutex(State(options: options))
        publish()
    }

    // MARK: Loading

    private var maxLookback: Duration? { state.withLock { $0.options.maxLookback } }

    /// Loads rule files, replacing the current rules. With any error nothing changes and
    /// the errors are returned (`FILE:LINE:COL: group "g", rule "r": ...`).
    @discardableResult
    public func load(files: [String]) -> [Diagnostic] {
        let (groups, diagnostics) = RuleFileLoader.load(files: files, maxLookback: maxLookback)
        if !diagnostics.isEmpty { return diagnostics }
        load(groups: groups)
        return []
    }

    /// Loads rules from text (the embedded default rules), replacing the current rules.
    @discardableResult
    public func load(text: String, file: String) -> [Diagnostic] {
        let (groups, diagnostics) = RuleFileLoader.parse(text: text, file: file, maxLookback: maxLookback)
        if !diagnostics.isEmpty { return diagnostics }
        load(groups: groups)
        return []
    }

    /// Reloads after a configuration change: the settings' files, or `defaultText` when the
    /// settings name none. Alerts of rules that are still there keep their state.
    /// `externalURL`: a new `$externalURL` and generator URL prefix (`notify.external_url`).
    @discardableResult
    public func update(
        settings: RuleSettings, defaultText: String, defaultFile: String = "lookout.rules.yml", externalURL: String? = nil
    ) -> [Diagnostic] {
        let (groups, diagnostics) =
            settings.files.map { RuleFileLoader.load(files: $0, maxLookback: settings.maxLookback) }
            ?? RuleFileLoader.parse(text: defaultText, file: defaultFile, maxLookback: settings.maxLookback)
        if !diagnostics.isEmpty { return diagnostics }
        state.withLock {
            $0.options.defaultInterval = settings.interval
            $0.options.maxLookback = settings.maxLookback
            if let externalURL { $0.options.externalURL = externalURL }
        }
        load(groups: groups)
        return []
    }

    /// Replaces the rules with validated groups. A group with the same file and name as a
    /// current one takes over the alerts (and written series) of its rules with the same
    /// name and labels, as Prometheus does on reload.
    public func load(groups: [RuleGroupDefinition]) {
        let now = clock.wallNow
        state.withLock { s in
            var old: [String: RuleGroupRuntime] = [:]
            for g in s.groups { old[g.key] = g }
            var fresh: [RuleGroupRuntime] = []
            for def in groups {
                let g = RuleGroupRuntime(def, defaultInterval: s.options.defaultInterval)
                if let previous = old.removeValue(forKey: g.key) {
                    g.lastEvaluation = previous.lastEvaluation
                    g.evaluationDuration = previous.evaluationDuration
                    g.nextEvaluation = previous.nextEvaluation
                    var byKey: [String: [RuleRuntime]] = [:]
                    for r in previous.rules { byKey[r.stateKey, default: []].append(r) }
                    for r in g.rules {
                        guard var list = byKey[r.stateKey], !list.isEmpty else { continue }
                        let from = list.removeFirst()
                        byKey[r.stateKey] = list
                        r.seriesInPreviousEval = from.seriesInPreviousEval
                        if r.definition.kind == .alerting { r.machine.adopt(from.machine) }
                        r.health = from.health
                        r.lastError = from.lastError
                        r.lastEvaluation = from.lastEvaluation
                        r.evaluationDuration = from.evaluationDuration
                    }
                    for list in byKey.values { for r in list { Self.markStale(r, s.history, now) } }
                }
                fresh.append(g)
            }
            for g in old.values { for r in g.rules { Self.markStale(r, s.history, now) } }
            s.groups = fresh
            if !s.options.retainEverything {
                s.history.setPolicy(RetentionPolicy(expressions: fresh.flatMap { $0.rules.flatMap(\.definition.expressions) }))
                s.names = RuleNameIndex.filter(groups)
            }
        }
        publish()
    }

    private static func markStale(_ r: RuleRuntime, _ history: History, _ now: WallTime) {
        for l in r.seriesInPreviousEval { history.append(l, now.millisecondsSinceEpoch, StaleNaN.value) }
    }

    // MARK: Evaluating

    /// Adds one exposition snapshot to the history (only the series the rules read).
    public func ingest(_ families: [MetricFamily], at time: WallTime) {
        state.withLock { $0.history.ingest(families, at: time) }
    }

    /// Evaluates the groups that are due at `time` (all of them the first time; every group,
    /// in order, with `everyGroup`, as rule unit tests step through time) and returns the
    /// round's alerts: every alert firing after it, and those that fired after the last round
    /// and no longer do (resolved, or gone with their rule on a reload), resolved at `time`.
    @discardableResult
    public func evaluate(at time: WallTime, everyGroup: Bool = false) -> AlertRound {
        let clock = self.clock
        let round = state.withLock { s -> AlertRound in
            let ctx = s.context(clock: clock)
            for g in s.groups {
                if everyGroup {
                    Self.evaluate(g, at: time, ctx, &s.durations, &s.failures)
                    continue
                }
                // Not due yet; but a schedule more than an interval ahead means the wall clock
                // was set back, and waiting for it would stop evaluation: evaluate now.
                if let next = g.nextEvaluation, next > time, next - time <= g.interval { continue }
                Self.evaluate(g, at: time, ctx, &s.durations, &s.failures)
                var next = (g.nextEvaluation.map { $0 > time ? time : $0 } ?? time) + g.interval
                if next <= time {
                    // Behind schedule (a slow evaluation or a sleeping machine): skip the missed ticks.
                    let behind = (time - next).nanoseconds / max(g.interval.nanoseconds, 1) + 1
                    next = next + g.interval * Int(behind)
                }
                g.nextEvaluation = next
            }
            return Self.round(s, at: time)
        }
        publish()
        return round
    }

    private static func evaluate(
        _ g: RuleGroupRuntime, at time: WallTime, _ ctx: EvaluationContext, _ durations: inout HistogramAccumulator,
        _ failures: inout [String: Int]
    ) {
        let before = g.failures
        g.evaluate(at: time, ctx)
        for r in g.rules { durations.observe(r.evaluationDuration.seconds) }
        failures[g.definition.name, default: 0] += g.failures - before
    }

    /// Every alert firing now, and the ones the last round gave as firing that no longer are.
    private static func round(_ s: State, at time: WallTime) -> AlertRound {
        var firing: [Alert] = []
        var now: [Labels: Alert] = [:]
        for g in s.groups {
            for r in g.rules where r.definition.kind == .alerting {
                for a in r.machine.firing {
                    let alert = Alert(
                        labels: a.labels, annotations: a.annotations, startsAt: a.firedAt ?? a.activeAt,
                        generatorURL: s.options.externalURL + r.generatorURLPath)
                    firing.append(alert)
                    now[a.labels] = alert
                }
            }
        }
        let resolved = s.lastFiring.values.filter { now[$0.labels] == nil }.map { $0.resolved(at: time) }
            .sorted { Registry.compare($0.labels, $1.labels) < 0 }
        s.lastFiring = now
        return AlertRound(firing: firing, resolved: resolved)
    }

    /// The families the loaded rules can read, rebuilt when rules load: what each round
    /// gathers of the exposition.
    public var familyFilter: FamilyNameFilter { state.withLock { $0.names } }

    /// When the next group is due.
    public var nextEvaluation: WallTime? {
        state.withLock { s in s.groups.compactMap(\.nextEvaluation).min() }
    }

    /// Every interval: reads the exposition, ingests it, evaluates the due groups and hands
    /// the round's alerts to `onRound`. Returns when the service group shuts down (or the
    /// task is cancelled).
    ///
    /// With `SystemClock` the rounds run on a thread of their own that sleeps until each is
    /// due (see `TickThread`): a round is synchronous work, and an idle agent then wakes one
    /// thread a second instead of the concurrency runtime's timer thread and a worker. With
    /// any other clock (tests' `ManualClock`) they run on the task that called `run()`.
    public func run() async throws {
        try await runUntilShutdown { try await self.evaluateEveryInterval() }
    }

    private func evaluateEveryInterval() async throws {
        if clock is SystemClock {
            let thread = TickThread()
            let ran = await withTaskCancellationHandler {
                await thread.run(name: "lookout-rules") {
                    // A millisecond late rather than early: woken before the wall clock shows a
                    // group due, a round would evaluate nothing and wait again.
                    var next = self.clock.now
                    while thread.wait(until: next) { next = self.clock.now + self.round() + .milliseconds(1) }
                }
            } onCancel: {
                thread.stop()
            }
            if ran { return }
        }
        while true {
            try Task.checkCancellation()
            let wait = round()
            try await clock.sleep(until: clock.now + wait)
        }
    }

    /// One round now; returns how long to wait for the next.
    private func round() -> Duration {
        let now = clock.wallNow
        ingest(gather(familyFilter), at: now)
        onRound(evaluate(at: now))
        let defaultInterval = state.withLock { $0.options.defaultInterval }
        var wait = defaultInterval
        if let next = nextEvaluation { wait = next - clock.wallNow }
        // Wake at least every default interval (a group that is not due is skipped).
        if wait > defaultInterval { wait = defaultInterval }
        if wait < .milliseconds(1) { wait = .milliseconds(1) }
        return wait
    }

    // MARK: Reading

    /// Rule groups with their rules' health and alerts, as of the last evaluation.
    public var groups: [GroupStatus] { snapshot.withLock { $0.groups } }

    /// Pending and firing alerts of all rules.
    public var alerts: [RuleAlert] { snapshot.withLock { $0.groups.flatMap { $0.rules.flatMap(\.alerts) } } }

    public var historyStats: History.Stats { state.withLock { $0.history.stats } }

    /// The series of the history (for debugging and tests).
    public func historySamples(_ labels: Labels) -> [(t: Int64, v: Double)] {
        state.withLock { $0.history.samples(of: labels) }
    }

    /// Evaluates an expression at `time` over the history (unit tests' `promql_expr_test`).
    public func query(_ expr: Expr, at time: WallTime) throws(EvalError) -> [Sample] {
        let result: Result<[Sample], EvalError> = state.withLock { s in
            do {
                let evaluator = Evaluator(history: s.history, defaultSubqueryStepMilliseconds: s.options.defaultInterval.milliseconds)
                return .success(try evaluator.query(expr, at: time.millisecondsSinceEpoch))
            } catch let e as EvalError {
                return .failure(e)
            } catch {
                return .failure(EvalError("\(error)"))
            }
        }
        return try result.get()
    }

    /// Appends samples to the history directly (unit tests' input series).
    public func append(series: [(labels: Labels, samples: [(t: Int64, v: Double)])]) {
        state.withLock { s in
            for one in series {
                for x in one.samples { s.history.append(one.labels, x.t, x.v) }
            }
        }
    }

    /// `lookout_alerts`, `lookout_rule_evaluation_duration_seconds`,
    /// `lookout_rule_evaluation_failures_total` and the history's size and drops.
    public func collect() -> [MetricFamily] { snapshot.withLock { $0.families } }

    private func publish() {
        let snap = state.withLock { s -> Snapshot in
            let groups = Self.status(s)
            return Snapshot(groups: groups, families: Self.families(s))
        }
        snapshot.withLock { $0 = snap }
    }

    private static func status(_ s: State) -> [GroupStatus] {
        var groups: [GroupStatus] = []
        for g in s.groups {
            var rules: [RuleStatus] = []
            for r in g.rules {
                let d = r.definition
                rules.append(
                    RuleStatus(
                        kind: d.kind, name: d.name, query: r.query, holdDuration: d.holdDuration,
                        keepFiringFor: d.keepFiringFor, labels: r.labelTexts, annotations: r.annotationTexts, health: r.health,
                        lastError: r.lastError, evaluationDuration: r.evaluationDuration, lastEvaluation: r.lastEvaluation,
                        alerts: r.machine.active, state: r.machine.state))
            }
            groups.append(
                GroupStatus(
                    name: g.definition.name, file: g.definition.file, interval: g.interval, limit: g.definition.limit,
                    evaluationDuration: g.evaluationDuration, lastEvaluation: g.lastEvaluation, rules: rules))
        }
        return groups
    }

    private static func families(_ s: State) -> [MetricFamily] {
        var counts: [Labels: Double] = [:]
        for g in s.groups {
            for r in g.rules where r.definition.kind == .alerting {
                // Zero series for each rule's own severity, so dashboards show 0, not "no data".
                for zero in r.zeroAlertSeries { counts[zero, default: 0] += 0 }
                for a in r.machine.active {
                    let key: Labels = ["alertname": r.definition.name, "severity": a.labels["severity"] ?? "", "state": a.state.rawValue]
                    counts[key, default: 0] += 1
                }
            }
        }
        let alerts = counts.sorted { Registry.compare($0.key, $1.key) < 0 }.map { ($0.key, $0.value) }
        let failures = s.failures.sorted { $0.key < $1.key }.map { (Labels(["group": $0.key]), Double($0.value)) }
        let st = s.history.stats
        return [
            .gauge("lookout_alerts", help: "Alerts of the locally evaluated rules, by state.", alerts),
            .histogram(
                "lookout_rule_evaluation_duration_seconds", help: "Time to evaluate one rule.",
                [(Labels.empty, s.durations.value)]),
            .counter("lookout_rule_evaluation_failures_total", help: "Rule evaluations that failed, by group.", failures),
            .gauge("lookout_rule_history_series", help: "Series kept in the rules' history.", [(Labels.empty, Double(st.series))]),
            .counter(
                "lookout_rule_history_dropped_samples_total",
                help: "Samples the rules' history could not keep: series limit, full ring, out of order.",
                [
                    (Labels(["reason": "series_limit"]), Double(st.seriesLimitDrops)),
                    (Labels(["reason": "ring_full"]), Double(st.evictedSamples)),
                    (Labels(["reason": "out_of_order"]), Double(st.outOfOrderSamples)),
                ]),
        ]
    }
}
