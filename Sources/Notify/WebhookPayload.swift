import GoFormat
import LookoutCore
import Series

/// One notification of an aggregation group, ready to be written as Alertmanager's
/// webhook payload.
public struct GroupNotification: Sendable, Hashable {
    public var receiver: String
    public var groupLabels: Labels
    /// The alerts of the payload, sorted by labels, already cut to `max_alerts`.
    public var alerts: [Alert]
    /// How many alerts `max_alerts` left out.
    public var truncatedAlerts: Int

    public init(receiver: String, groupLabels: Labels, alerts: [Alert], truncatedAlerts: Int = 0) {
        self.receiver = receiver
        self.groupLabels = groupLabels
        self.alerts = alerts
        self.truncatedAlerts = truncatedAlerts
    }

    /// Alertmanager's group key for the root route: `{}:{alertname="X", target="y"}`
    /// (the route's matchers, then the group labels as Go's `LabelSet.String` prints them).
    public var groupKey: String { WebhookPayload.groupKey(groupLabels) }

    /// "firing" when any alert fires, else "resolved".
    public var status: String { alerts.contains { !$0.isResolved } ? "firing" : "resolved" }
}

/// Alertmanager's webhook payload, version "4", field for field and in Alertmanager's key
/// order, so anything that takes Alertmanager webhooks takes lookout's.
public enum WebhookPayload {
    /// What Go prints for a zero `time.Time`; Alertmanager sends it as `endsAt` of firing alerts.
    public static let zeroTime = "0001-01-01T00:00:00Z"

    public static func groupKey(_ groupLabels: Labels) -> String {
        "{}:" + labelSetString(groupLabels)
    }

    /// `{a="1", b="2"}` with Go's `strconv.Quote` quoting, as prometheus/common prints a LabelSet.
    public static func labelSetString(_ labels: Labels) -> String {
        var out = "{"
        for (i, l) in labels.enumerated() {
            if i > 0 { out += ", " }
            out += l.name
            out += "="
            out += goQuoted(l.value)
        }
        return out + "}"
    }

    public static func json(_ n: GroupNotification, externalURL: String) -> JSON {
        var commonLabels: [(String, String)] = []
        var commonAnnotations: [(String, String)] = []
        if let first = n.alerts.first {
            commonLabels = first.labels.pairs.filter { l in n.alerts.allSatisfy { $0.labels[l.name] == l.value } }
                .map { ($0.name, $0.value) }
            commonAnnotations = first.annotations.pairs.filter { l in
                n.alerts.allSatisfy { $0.annotations[l.name] == l.value }
            }.map { ($0.name, $0.value) }
        }
        let alerts: [JSON] = n.alerts.map { a in
            [
                "status": .string(a.isResolved ? "resolved" : "firing"),
                "labels": JSON.labels(a.labels.map { ($0.name, $0.value) }),
                "annotations": JSON.labels(a.annotations.map { ($0.name, $0.value) }),
                "startsAt": .string(a.startsAt.rfc3339),
                "endsAt": .string(a.endsAt?.rfc3339 ?? zeroTime),
                "generatorURL": .string(a.generatorURL),
                "fingerprint": .string(a.fingerprint.description),
            ]
        }
        return [
            "receiver": .string(n.receiver),
            "status": .string(n.status),
            "alerts": .array(alerts),
            "groupLabels": JSON.labels(n.groupLabels.map { ($0.name, $0.value) }),
            "commonLabels": JSON.labels(commonLabels),
            "commonAnnotations": JSON.labels(commonAnnotations),
            "externalURL": .string(externalURL),
            "version": "4",
            "groupKey": .string(n.groupKey),
            "truncatedAlerts": .number(Double(n.truncatedAlerts)),
        ]
    }

    public static func body(_ n: GroupNotification, externalURL: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(512 + 384 * n.alerts.count)
        json(n, externalURL: externalURL).write(to: &out)
        return out
    }

}
