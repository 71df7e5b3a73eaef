import LookoutCore
import PromQL
import Series
import Testing
@testable import Rules

/// The alert state machine driven by explicit evaluation timestamps.
@Suite struct AlertStateTests {
    let t0 = WallTime(secondsSinceEpoch: 1_790_000_000)
    let labels: Labels = ["alertname": "Slow", "target": "api", "severity": "warning"]

    func at(_ seconds: Double) -> WallTime { t0 + .seconds(seconds) }

    func element(_ value: Double, summary: String = "s") -> AlertStateMachine.Element {
        AlertStateMachine.Element(labels: labels, annotations: ["summary": summary], value: value)
    }

    @Test func pendingThenFiringAfterFor() throws {
        var m = AlertStateMachine(holdDuration: .seconds(120))
        let active0 = try m.apply([element(3)], at: at(0))
        #expect(active0.map(\.state) == [.pending])
        #expect(m.active.first?.activeAt == at(0))
        // Pending alerts do not fire.
        #expect(m.firing.isEmpty)
        try m.apply([element(4)], at: at(119))
        #expect(m.active.map(\.state) == [.pending])
        #expect(m.active.first?.value == 4)
        try m.apply([element(5)], at: at(120))
        let a = try #require(m.active.first)
        #expect(a.state == .firing)
        #expect(a.firedAt == at(120))
        #expect(a.activeAt == at(0))
        #expect(m.state == .firing)
        #expect(m.firing.map(\.labels) == [labels])
    }

    @Test func withoutForItFiresAtOnce() throws {
        var m = AlertStateMachine(holdDuration: .zero)
        try m.apply([element(1)], at: at(0))
        #expect(m.active.map(\.state) == [.firing])
    }

    @Test func aPendingAlertThatGoesAwayIsForgotten() throws {
        var m = AlertStateMachine(holdDuration: .seconds(60))
        try m.apply([element(1)], at: at(0))
        try m.apply([], at: at(30))
        #expect(m.alerts.isEmpty)
        #expect(m.firing.isEmpty)
        // Back: a new alert with a new activeAt.
        try m.apply([element(1)], at: at(40))
        #expect(m.active.first?.activeAt == at(40))
    }

    @Test func firingThenResolvedAndKeptFifteenMinutes() throws {
        var m = AlertStateMachine(holdDuration: .zero)
        try m.apply([element(1)], at: at(0))
        #expect(m.firing.count == 1)
        try m.apply([element(1)], at: at(61))
        #expect(m.firing.first?.firedAt == at(0))
        // Resolved at the evaluation that no longer returns it.
        try m.apply([], at: at(70))
        #expect(m.active.isEmpty)
        #expect(m.firing.isEmpty)
        #expect(m.alerts.values.first?.state == .inactive)
        #expect(m.alerts.values.first?.resolvedAt == at(70))
        // Kept 15 minutes after resolving, then dropped.
        try m.apply([], at: at(70 + 900))
        #expect(m.alerts.count == 1)
        try m.apply([], at: at(70 + 901))
        #expect(m.alerts.isEmpty)
    }

    @Test func aResolvedAlertThatComesBackStartsOver() throws {
        var m = AlertStateMachine(holdDuration: .seconds(10))
        try m.apply([element(1)], at: at(0))
        try m.apply([element(1)], at: at(10))
        #expect(m.active.first?.state == .firing)
        try m.apply([], at: at(20))
        try m.apply([element(1)], at: at(30))
        let a = try #require(m.active.first)
        #expect(a.state == .pending)
        #expect(a.activeAt == at(30))
        #expect(a.resolvedAt == nil)
    }

    @Test func keepFiringFor() throws {
        var m = AlertStateMachine(holdDuration: .zero, keepFiringFor: .seconds(180))
        try m.apply([element(2)], at: at(0))
        try m.apply([], at: at(60))
        var a = try #require(m.active.first)
        #expect(a.state == .firing)
        #expect(a.keepFiringSince == at(60))
        #expect(a.value == 2)
        try m.apply([], at: at(239))
        #expect(m.active.first?.state == .firing)
        // The condition returns: keepFiringSince is cleared and counting starts again later.
        try m.apply([element(3)], at: at(240))
        a = try #require(m.active.first)
        #expect(a.keepFiringSince == nil)
        try m.apply([], at: at(300))
        try m.apply([], at: at(479))
        #expect(m.active.first?.state == .firing)
        try m.apply([], at: at(480))
        #expect(m.active.isEmpty)
        #expect(m.alerts.values.first?.resolvedAt == at(480))
        // A pending alert does not keep firing.
        var p = AlertStateMachine(holdDuration: .seconds(60), keepFiringFor: .seconds(180))
        try p.apply([element(1)], at: at(0))
        try p.apply([], at: at(10))
        #expect(p.alerts.isEmpty)
    }

    @Test func annotationsAndValueFollowTheLatestEvaluation() throws {
        var m = AlertStateMachine(holdDuration: .seconds(60))
        try m.apply([element(1, summary: "one")], at: at(0))
        try m.apply([element(2, summary: "two")], at: at(1))
        let a = try #require(m.active.first)
        #expect(a.annotations == ["summary": "two"])
        #expect(a.value == 2)
        #expect(a.activeAt == at(0))
    }

    @Test func limitAndDuplicates() throws {
        var m = AlertStateMachine(holdDuration: .zero)
        let two = [element(1), AlertStateMachine.Element(labels: labels.setting("target", "db"), annotations: [:], value: 1)]
        #expect(throws: EvalError.self) { try m.apply(two, at: at(0), limit: 1) }
        #expect(m.alerts.isEmpty)
        #expect(throws: EvalError.self) { try m.apply([element(1), element(2)], at: at(0)) }
        try m.apply(two, at: at(0), limit: 2)
        #expect(m.active.count == 2)
    }
}
