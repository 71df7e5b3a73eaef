import LookoutCore
import Series

/// What the agent pushes to Alertmanager's `POST /api/v2/alerts`, the way Prometheus'
/// notifier does: every alert firing now and every alert resolved in the last 15 minutes,
/// as one batch. A batch goes out at once when an alert appears, resolves or fires again,
/// and otherwise every `resendDelay`; a firing alert's `endsAt` is four resend delays
/// ahead, so Alertmanager resolves it by itself if the agent goes away. Grouping,
/// inhibition and silences are Alertmanager's business.
///
/// Each batch holds the whole current state, so a newer batch makes any older one still
/// waiting for delivery pointless: the notifier replaces it.
public struct AlertmanagerPusher: Sendable {
    public var resendDelay: Duration
    /// How long a resolved alert keeps being sent (Prometheus' `resolvedRetention`).
    public var resolvedRetention: Duration = .seconds(15 * 60)

    struct Tracked: Sendable {
        var alert: Alert
        var resolvedAt: MonotonicInstant?
    }

    private(set) var alerts: [Fingerprint: Tracked] = [:]
    private(set) var lastSent: MonotonicInstant?
    private(set) var dirty = false

    public init(resendDelay: Duration) { self.resendDelay = resendDelay }

    public var count: Int { alerts.count }

    /// Takes an alert update. New alerts and changes of state make the next batch due now;
    /// other changes (annotations that carry a value) ride with the next periodic resend.
    public mutating func update(_ alert: Alert, now: MonotonicInstant) {
        let fp = alert.fingerprint
        if let t = alerts[fp] {
            if t.alert.isResolved != alert.isResolved || t.alert.startsAt != alert.startsAt { dirty = true }
            alerts[fp] = Tracked(alert: alert, resolvedAt: alert.isResolved ? (t.resolvedAt ?? now) : nil)
        } else {
            dirty = true
            alerts[fp] = Tracked(alert: alert, resolvedAt: alert.isResolved ? now : nil)
        }
    }

    /// Forces the next batch (a new Alertmanager was configured).
    public mutating func markDirty() { dirty = true }

    public func nextDeadline(now: MonotonicInstant) -> MonotonicInstant? {
        guard !alerts.isEmpty else { return nil }
        if dirty { return now }
        guard let lastSent else { return now }
        return lastSent + resendDelay
    }

    /// The batch to send now, if one is due.
    public mutating func due(now: MonotonicInstant) -> [Alert]? {
        for (fp, t) in alerts {
            if let r = t.resolvedAt, r + resolvedRetention <= now { alerts[fp] = nil }
        }
        guard !alerts.isEmpty else {
            dirty = false
            return nil
        }
        if !dirty, let lastSent, lastSent + resendDelay > now { return nil }
        dirty = false
        lastSent = now
        return alerts.values.map(\.alert).sorted { Registry.compare($0.labels, $1.labels) < 0 }
    }
}

/// The JSON body of `POST /api/v2/alerts`: `[{labels, annotations, startsAt, endsAt, generatorURL}]`.
public enum AlertmanagerPayload {
    /// `endsAt` of a firing alert is `validFor` after `now`; a resolved alert's is its end.
    public static func json(_ alerts: [Alert], now: WallTime, validFor: Duration) -> JSON {
        .array(
            alerts.map { a in
                [
                    "labels": JSON.labels(a.labels.map { ($0.name, $0.value) }),
                    "annotations": JSON.labels(a.annotations.map { ($0.name, $0.value) }),
                    "startsAt": .string(a.startsAt.rfc3339),
                    "endsAt": .string((a.endsAt ?? now + validFor).rfc3339),
                    "generatorURL": .string(a.generatorURL),
                ]
            })
    }

    public static func body(_ alerts: [Alert], now: WallTime, validFor: Duration) -> [UInt8] {
        var out: [UInt8] = []
        json(alerts, now: now, validFor: validFor).write(to: &out)
        return out
    }
}
