import LookoutCore
import Series

/// Decides whether an alert is muted by the inhibit rules, given the alerts firing now.
/// The same decision as Alertmanager's inhibitor: a source alert must be firing, have the
/// same values (missing counts as empty) for every `equal` label, and, when the muted alert
/// matches both sides of a rule, must not itself match the target side (so two critical
/// alerts of one rule never mute each other).
public struct Inhibitor: Sendable {
    public let rules: [InhibitRule]

    public init(rules: [InhibitRule]) { self.rules = rules }

    public func isMuted(_ labels: Labels, firing: some Sequence<Alert>) -> Bool {
        for rule in rules where rule.targetMatchers.allMatch(labels) {
            let twoSided = rule.sourceMatchers.allMatch(labels)
            for source in firing where !source.isResolved && rule.sourceMatchers.allMatch(source.labels) {
                if !rule.equal.allSatisfy({ (source.labels[$0] ?? "") == (labels[$0] ?? "") }) { continue }
                if twoSided && rule.targetMatchers.allMatch(source.labels) { continue }
                return true
            }
        }
        return false
    }
}
