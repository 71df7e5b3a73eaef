import LookoutCore
import Series

/// The timing and shape of one receiver's notifications (from `WebhookSettings`).
public struct GroupingSettings: Sendable, Hashable {
    public var groupBy: [String]
    public var groupWait: Duration
    public var groupInterval: Duration
    public var repeatInterval: Duration
    public var sendResolved: Bool
    public var maxAlerts: Int

    public init(
        groupBy: [String] = ["alertname", "target"], groupWait: Duration = .seconds(5),
        groupInterval: Duration = .seconds(300), repeatInterval: Duration = .seconds(4 * 3600),
        sendResolved: Bool = true, maxAlerts: Int = 0
    ) {
        self.groupBy = groupBy
        self.groupWait = groupWait
        self.groupInterval = groupInterval
        self.repeatInterval = repeatInterval
        self.sendResolved = sendResolved
        self.maxAlerts = maxAlerts
    }

    public init(_ w: WebhookSettings) {
        self.init(
            groupBy: w.groupBy, groupWait: w.groupWait, groupInterval: w.groupInterval,
            repeatInterval: w.repeatInterval, sendResolved: w.sendResolved, maxAlerts: w.maxAlerts)
    }

    var groupsByAll: Bool { groupBy == ["..."] }
}

/// Alertmanager's dispatcher for one receiver, as a state machine on the monotonic clock.
///
/// Alerts go into aggregation groups keyed by their `group_by` labels. A new group waits
/// `group_wait` before its first flush (or flushes at once when its alert started longer
/// than `group_wait` ago), then flushes every `group_interval`. A flush notifies only when
/// Alertmanager's notification log says so: some firing alert was not in the last
/// notification, all alerts resolved since it, (with `send_resolved`) a new alert resolved,
/// or `repeat_interval` has passed since it. Resolved alerts leave the group after each
/// flush; an empty group is forgotten, so the next alert of it waits `group_wait` again.
/// Muted (inhibited) alerts are left out at flush time, so when the inhibiting alert
/// resolves the muted one goes out at the group's next flush.
///
/// The owner feeds alerts with `insert`, calls `flush` when `nextDeadline` comes, and
/// sends what it returns; nothing here does I/O or reads a clock.
public struct AlertGrouper: Sendable {
    public let receiver: String
    public private(set) var settings: GroupingSettings

    struct Group: Sendable {
        var labels: Labels
        var alerts: [Fingerprint: Alert] = [:]
        var nextFlush: MonotonicInstant
        var hasFlushed = false
    }

    /// What was last notified for a group (Alertmanager's nflog entry).
    struct LogEntry: Sendable {
        var firing: Set<Fingerprint>
        var resolved: Set<Fingerprint>
        var at: MonotonicInstant
    }

    private(set) var groups: [Labels: Group] = [:]
    private(set) var log: [Labels: LogEntry] = [:]

    public init(receiver: String, settings: GroupingSettings) {
        self.receiver = receiver
        self.settings = settings
    }

    public var groupCount: Int { groups.count }

    /// The labels of every group, sorted.
    public var groupLabels: [Labels] { groups.keys.sorted { Registry.compare($0, $1) < 0 } }

    /// The alerts the group with `labels` holds now.
    public func alerts(inGroup labels: Labels) -> [Alert] {
        groups[labels].map { Array($0.alerts.values) } ?? []
    }

    public func groupLabels(of alert: Alert) -> Labels {
        settings.groupsByAll ? alert.labels : alert.labels.keeping(Set(settings.groupBy))
    }

    /// The earliest flush due.
    public var nextDeadline: MonotonicInstant? { groups.values.map(\.nextFlush).min() }

    /// Adds or updates an alert. A resolved alert of a group that does not exist is ignored:
    /// nobody was told it fired.
    public mutating func insert(_ alert: Alert, now: MonotonicInstant, wallNow: WallTime) {
        let key = groupLabels(of: alert)
        var group: Group
        if let g = groups[key] {
            group = g
        } else {
            guard !alert.isResolved else { return }
            group = Group(labels: key, nextFlush: now + settings.groupWait)
        }
        group.alerts[alert.fingerprint] = alert
        // An alert that has waited out group_wait already (it started long ago, e.g. it was
        // firing before a restart) need not wait again.
        if !group.hasFlushed && alert.startsAt + settings.groupWait < wallNow && group.nextFlush > now {
            group.nextFlush = now
        }
        groups[key] = group
    }

    /// Flushes every group whose time has come and returns the notifications to send.
    public mutating func flush(now: MonotonicInstant, isMuted: (Alert) -> Bool) -> [GroupNotification] {
        var out: [GroupNotification] = []
        let due = groups.values.filter { $0.nextFlush <= now }.map(\.labels).sorted { Registry.compare($0, $1) < 0 }
        for key in due {
            guard var group = groups[key] else { continue }
            group.nextFlush = now + settings.groupInterval
            group.hasFlushed = true
            let all = group.alerts.values.sorted { Registry.compare($0.labels, $1.labels) < 0 }
            let unmuted = all.filter { !isMuted($0) }
            var firing = Set<Fingerprint>()
            var resolved = Set<Fingerprint>()
            for a in unmuted {
                if a.isResolved { resolved.insert(a.fingerprint) } else { firing.insert(a.fingerprint) }
            }
            if !unmuted.isEmpty && needsUpdate(log[key], firing: firing, resolved: resolved, now: now) {
                var alerts = settings.sendResolved ? unmuted : unmuted.filter { !$0.isResolved }
                if !alerts.isEmpty {
                    var truncated = 0
                    if settings.maxAlerts > 0 && alerts.count > settings.maxAlerts {
                        truncated = alerts.count - settings.maxAlerts
                        alerts.removeLast(truncated)
                    }
                    out.append(
                        GroupNotification(
                            receiver: receiver, groupLabels: key, alerts: alerts, truncatedAlerts: truncated))
                }
                log[key] = LogEntry(firing: firing, resolved: resolved, at: now)
            }
            // Resolved alerts were notified (or need not be); they leave the group.
            for a in all where a.isResolved { group.alerts[a.fingerprint] = nil }
            if group.alerts.isEmpty {
                groups[key] = nil
                log[key] = nil
            } else {
                groups[key] = group
            }
        }
        return out
    }

    /// Alertmanager's `DedupStage.needsUpdate`, with the repeat due at exactly `repeat_interval`.
    func needsUpdate(_ entry: LogEntry?, firing: Set<Fingerprint>, resolved: Set<Fingerprint>, now: MonotonicInstant)
        -> Bool
    {
        guard let entry else { return !firing.isEmpty }
        if !firing.isSubset(of: entry.firing) { return true }
        // Everything resolved: tell the receiver, if it was told something fired.
        if firing.isEmpty { return !entry.firing.isEmpty }
        if settings.sendResolved && !resolved.isSubset(of: entry.resolved) { return true }
        return entry.at + settings.repeatInterval <= now
    }

    /// Applies new settings. With the same `group_by` the groups and what was notified stay
    /// (new timings apply from the next flush, or sooner when they are shorter); with a new
    /// `group_by` the alerts are regrouped into new groups that wait `group_wait`.
    public mutating func reconfigure(_ new: GroupingSettings, now: MonotonicInstant, wallNow: WallTime) {
        let old = settings
        settings = new
        if old.groupBy != new.groupBy {
            let alerts = groups.values.flatMap { $0.alerts.values }.filter { !$0.isResolved }
            groups = [:]
            log = [:]
            for a in alerts { insert(a, now: now, wallNow: wallNow) }
            return
        }
        for key in Array(groups.keys) {
            let bound = now + (groups[key]!.hasFlushed ? new.groupInterval : new.groupWait)
            if groups[key]!.nextFlush > bound { groups[key]!.nextFlush = bound }
        }
    }
}
