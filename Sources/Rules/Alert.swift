import LookoutCore
import PromQL
import Series

public enum AlertState: String, Sendable, Comparable {
    case inactive, pending, firing

    var rank: Int {
        switch self {
        case .inactive: return 0
        case .pending: return 1
        case .firing: return 2
        }
    }

    public static func < (a: AlertState, b: AlertState) -> Bool { a.rank < b.rank }
}

/// One alert of an alerting rule and its state: a label set the rule's expression returned.
/// What the rules API shows; the notifier gets a `Series.Alert` made from it.
public struct RuleAlert: Sendable, Hashable {
    /// The series' labels without `__name__`, plus the rule's labels and `alertname`.
    public var labels: Labels
    public var annotations: Labels
    public var state: AlertState
    /// The expression's value at the latest evaluation that returned this alert.
    public var value: Double
    public var activeAt: WallTime
    public var firedAt: WallTime?
    public var resolvedAt: WallTime?
    public var keepFiringSince: WallTime?

    public static func == (a: RuleAlert, b: RuleAlert) -> Bool {
        a.labels == b.labels && a.annotations == b.annotations && a.state == b.state
            && a.value.bitPattern == b.value.bitPattern && a.activeAt == b.activeAt && a.firedAt == b.firedAt
            && a.resolvedAt == b.resolvedAt && a.keepFiringSince == b.keepFiringSince
    }

    public func hash(into h: inout Hasher) {
        h.combine(labels)
        h.combine(state)
        h.combine(activeAt)
    }
}

/// The state of one alerting rule's alerts, as Prometheus keeps it: a new result is
/// pending until it has held for `for`, then firing; when it is no longer returned a
/// pending alert is dropped and a firing one resolves (or keeps firing for
/// `keep_firing_for`); resolved alerts are kept 15 minutes, as in Prometheus.
/// Driven only by the evaluation timestamps it is given.
public struct AlertStateMachine: Sendable {
    public let holdDuration: Duration
    public let keepFiringFor: Duration
    public private(set) var alerts: [Labels: RuleAlert] = [:]

    /// How long resolved alerts are kept, as in Prometheus.
    public static let resolvedRetention: Duration = .seconds(15 * 60)

    /// One element of an evaluation's result, with the rule's templates expanded.
    public struct Element: Sendable {
        public var labels: Labels
        public var annotations: Labels
        public var value: Double

        public init(labels: Labels, annotations: Labels, value: Double) {
            self.labels = labels
            self.annotations = annotations
            self.value = value
        }
    }

    public init(holdDuration: Duration, keepFiringFor: Duration = .zero) {
        self.holdDuration = holdDuration
        self.keepFiringFor = keepFiringFor
    }

    /// Applies one evaluation at `ts`. Returns the alerts that are pending or firing
    /// after it (what Prometheus writes as `ALERTS`). `limit` > 0 caps their number: above
    /// it every alert is dropped and the evaluation fails.
    @discardableResult
    public mutating func apply(_ elements: [Element], at ts: WallTime, limit: Int = 0) throws(EvalError) -> [RuleAlert] {
        var current: [Labels: RuleAlert] = [:]
        current.reserveCapacity(elements.count)
        for e in elements {
            if current[e.labels] != nil {
                throw EvalError("vector contains metrics with the same labelset after applying alert labels")
            }
            current[e.labels] = RuleAlert(labels: e.labels, annotations: e.annotations, state: .pending, value: e.value, activeAt: ts)
        }
        for (key, fresh) in current {
            if var existing = alerts[key], existing.state != .inactive {
                existing.value = fresh.value
                existing.annotations = fresh.annotations
                alerts[key] = existing
                continue
            }
            alerts[key] = fresh
        }
        var activeOrPending: [RuleAlert] = []
        var deleted: [Labels] = []
        var index = alerts.startIndex
        while index != alerts.endIndex {
            defer { index = alerts.index(after: index) }
            let key = alerts.keys[index]
            if current[key] == nil {
                var keepFiring = false
                if alerts.values[index].state == .firing && keepFiringFor > .zero {
                    if alerts.values[index].keepFiringSince == nil { alerts.values[index].keepFiringSince = ts }
                    if ts - alerts.values[index].keepFiringSince! < keepFiringFor { keepFiring = true }
                }
                let a = alerts.values[index]
                if a.state == .pending || (a.resolvedAt.map { ts - $0 > Self.resolvedRetention } ?? false) {
                    deleted.append(key)
                }
                if a.state != .inactive && !keepFiring {
                    alerts.values[index].state = .inactive
                    alerts.values[index].resolvedAt = ts
                }
                if !keepFiring { continue }
            } else {
                alerts.values[index].keepFiringSince = nil
            }
            if alerts.values[index].state == .pending && ts - alerts.values[index].activeAt >= holdDuration {
                alerts.values[index].state = .firing
                alerts.values[index].firedAt = ts
            }
            activeOrPending.append(alerts.values[index])
        }
        for key in deleted { alerts[key] = nil }
        if limit > 0 && activeOrPending.count > limit {
            alerts = [:]
            active = []
            throw EvalError("exceeded limit of \(limit) with \(activeOrPending.count) alerts")
        }
        active = activeOrPending.sorted { Registry.compare($0.labels, $1.labels) < 0 }
        return activeOrPending
    }

    /// Pending and firing alerts (not the resolved ones kept), by labels.
    /// (Sorted once per evaluation: the round's alerts and the rules API both read it.)
    public private(set) var active: [RuleAlert] = []

    /// Alerts that are firing.
    public var firing: [RuleAlert] { active.filter { $0.state == .firing } }

    /// The highest state of any alert (the rule's state in the rules API).
    public var state: AlertState { alerts.values.map(\.state).max() ?? .inactive }

    /// Carries alerts over from the same rule before a reload.
    public mutating func adopt(_ other: AlertStateMachine) {
        alerts = other.alerts
        active = other.active
    }
}
