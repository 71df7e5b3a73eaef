import LookoutCore

/// An alert as the rules hand it to the notifier and the notifier sends it: its identity
/// (the labels: `alertname`, `severity` and the rule's other labels), its text, when it
/// started firing and, once it has resolved, when.
public struct Alert: Sendable, Hashable {
    public var labels: Labels
    public var annotations: Labels
    /// When the alert started firing (Prometheus' `FiredAt`, not the pending start).
    public var startsAt: WallTime
    /// When it resolved; nil while it fires.
    public var endsAt: WallTime?
    public var generatorURL: String

    public init(
        labels: Labels, annotations: Labels = .empty, startsAt: WallTime, endsAt: WallTime? = nil,
        generatorURL: String = ""
    ) {
        self.labels = labels
        self.annotations = annotations
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.generatorURL = generatorURL
    }

    public var isResolved: Bool { endsAt != nil }

    /// Alertmanager's fingerprint of the labels.
    public var fingerprint: Fingerprint { Fingerprint(labels) }

    /// The same alert, resolved at `time`.
    public func resolved(at time: WallTime) -> Alert {
        var copy = self
        copy.endsAt = time
        return copy
    }
}

/// What one round of rule evaluation hands the notifier: every alert firing after it, and
/// the alerts that stopped firing in it (`endsAt` set). The notifier takes both as they are.
public struct AlertRound: Sendable, Hashable {
    public var firing: [Alert]
    public var resolved: [Alert]

    public init(firing: [Alert] = [], resolved: [Alert] = []) {
        self.firing = firing
        self.resolved = resolved
    }
}

/// Alertmanager's alert fingerprint (prometheus/common `model.LabelSet.Fingerprint`):
/// FNV-1a 64 over each label name and value in name order, each followed by the 0xff
/// separator byte, printed as 16 hex digits.
public struct Fingerprint: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let value: UInt64

    public init(value: UInt64) { self.value = value }

    public init(_ labels: Labels) {
        var h: UInt64 = 14_695_981_039_346_656_037
        @inline(__always) func add(_ b: UInt8) {
            h ^= UInt64(b)
            h &*= 1_099_511_628_211
        }
        // Labels keeps its pairs sorted by name, the order the hash needs.
        for label in labels {
            for b in label.name.utf8 { add(b) }
            add(0xff)
            for b in label.value.utf8 { add(b) }
            add(0xff)
        }
        value = h
    }

    public static func < (a: Self, b: Self) -> Bool { a.value < b.value }

    /// `%016x`, as Alertmanager prints it.
    public var description: String {
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
