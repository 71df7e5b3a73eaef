import LookoutCore
import Series
import Testing

@testable import Notify

/// The dispatcher state machine, driven by a ManualClock; no sockets.
@Suite struct GroupingTests {
    let clock = ManualClock()

    func alert(_ name: String, target: String, severity: String = "warning", endpoint: String = "live",
               startsAt: WallTime? = nil) -> Alert
    {
        Alert(
            labels: ["alertname": name, "target": target, "severity": severity, "endpoint": endpoint],
            annotations: ["summary": "\(name) on \(target)"], startsAt: startsAt ?? clock.wallNow)
    }

    func grouper(_ settings: GroupingSettings = GroupingSettings()) -> AlertGrouper {
        AlertGrouper(receiver: "oncall", settings: settings)
    }

    func insert(_ g: inout AlertGrouper, _ a: Alert) { g.insert(a, now: clock.now, wallNow: clock.wallNow) }

    func flush(_ g: inout AlertGrouper, muted: (Alert) -> Bool = { _ in false }) -> [GroupNotification] {
        g.flush(now: clock.now, isMuted: muted)
    }

    @Test func newGroupWaitsGroupWaitThenCollectsLateAlerts() {
        var g = grouper()
        insert(&g, alert("TargetSlow", target: "api", endpoint: "live"))
        #expect(g.nextDeadline == clock.now + .seconds(5))
        #expect(flush(&g).isEmpty)
        clock.advance(by: .seconds(2))
        insert(&g, alert("TargetSlow", target: "api", endpoint: "ready"))
        insert(&g, alert("TargetSlow", target: "db"))
        #expect(g.groupCount == 2)
        clock.advance(by: .seconds(3))
        let sent = flush(&g)
        // api's group waited from its first alert; db's group has 2 s to go.
        #expect(sent.count == 1)
        #expect(sent[0].groupLabels == ["alertname": "TargetSlow", "target": "api"])
        #expect(sent[0].alerts.map { $0.labels["endpoint"] } == ["live", "ready"])
        #expect(sent[0].groupKey == "{}:{alertname=\"TargetSlow\", target=\"api\"}")
        clock.advance(by: .seconds(2))
        #expect(flush(&g).map(\.groupLabels) == [["alertname": "TargetSlow", "target": "db"]])
    }

    @Test func unchangedGroupIsRepeatedAfterRepeatIntervalOnly() {
        var g = grouper(GroupingSettings(groupWait: .seconds(5), groupInterval: .seconds(60), repeatInterval: .seconds(300)))
        let a = alert("TargetSlow", target: "api")
        insert(&g, a)
        clock.advance(by: .seconds(5))
        #expect(flush(&g).count == 1)
        // Re-sent by every evaluation, unchanged: nothing until repeat_interval.
        for _ in 0..<4 {
            clock.advance(by: .seconds(60))
            insert(&g, a)
            #expect(flush(&g).isEmpty)
        }
        clock.advance(by: .seconds(60))
        let repeated = flush(&g)
        #expect(repeated.count == 1)
        #expect(repeated[0].alerts == [a])
    }

    @Test func newAlertInAGroupGoesOutAtTheNextGroupInterval() {
        var g = grouper(GroupingSettings(groupWait: .seconds(5), groupInterval: .seconds(60)))
        insert(&g, alert("TargetSlow", target: "api", endpoint: "live"))
        clock.advance(by: .seconds(5))
        #expect(flush(&g).count == 1)
        clock.advance(by: .seconds(10))
        insert(&g, alert("TargetSlow", target: "api", endpoint: "ready"))
        #expect(flush(&g).isEmpty)
        #expect(g.nextDeadline == clock.now + .seconds(50))
        clock.advance(by: .seconds(50))
        let sent = flush(&g)
        #expect(sent.count == 1)
        #expect(sent[0].alerts.count == 2)
    }

    @Test func resolvedAlertsAreSentAndLeaveTheGroup() {
        var g = grouper(GroupingSettings(groupWait: .seconds(1), groupInterval: .seconds(10)))
        let live = alert("TargetSlow", target: "api", endpoint: "live")
        let ready = alert("TargetSlow", target: "api", endpoint: "ready")
        insert(&g, live)
        insert(&g, ready)
        clock.advance(by: .seconds(1))
        #expect(flush(&g).first?.alerts.count == 2)
        clock.advance(by: .seconds(3))
        insert(&g, live.resolved(at: clock.wallNow))
        clock.advance(by: .seconds(7))
        let partly = flush(&g)
        #expect(partly.count == 1)
        #expect(partly[0].status == "firing")
        #expect(partly[0].alerts.map(\.isResolved) == [true, false])
        #expect(g.alerts(inGroup: partly[0].groupLabels).count == 1)
        // The same state again: nothing new to say.
        clock.advance(by: .seconds(10))
        #expect(flush(&g).isEmpty)
        insert(&g, ready.resolved(at: clock.wallNow))
        clock.advance(by: .seconds(10))
        let all = flush(&g)
        #expect(all.count == 1)
        #expect(all[0].status == "resolved")
        #expect(all[0].alerts.map { $0.labels["endpoint"] } == ["ready"])
        #expect(g.groupCount == 0)
        #expect(g.nextDeadline == nil)
    }

    @Test func withoutSendResolvedOnlyFiringAlertsAreSent() {
        var g = grouper(GroupingSettings(groupWait: .seconds(1), groupInterval: .seconds(10), sendResolved: false))
        let live = alert("TargetSlow", target: "api", endpoint: "live")
        let ready = alert("TargetSlow", target: "api", endpoint: "ready")
        insert(&g, live)
        insert(&g, ready)
        clock.advance(by: .seconds(1))
        #expect(flush(&g).count == 1)
        insert(&g, live.resolved(at: clock.wallNow))
        clock.advance(by: .seconds(10))
        #expect(flush(&g).isEmpty)
        insert(&g, ready.resolved(at: clock.wallNow))
        clock.advance(by: .seconds(10))
        #expect(flush(&g).isEmpty)
        #expect(g.groupCount == 0)
    }

    @Test func anAlertThatFiresAndResolvesBeforeTheFirstFlushIsNeverSent() {
        var g = grouper()
        let a = alert("TargetSlow", target: "api")
        insert(&g, a)
        clock.advance(by: .seconds(2))
        insert(&g, a.resolved(at: clock.wallNow))
        clock.advance(by: .seconds(3))
        #expect(flush(&g).isEmpty)
        #expect(g.groupCount == 0)
        // A resolved alert for a group that does not exist makes none.
        insert(&g, alert("Other", target: "x").resolved(at: clock.wallNow))
        #expect(g.groupCount == 0)
    }

    @Test func groupWaitZeroAndOldAlertsFlushAtOnce() {
        var g = grouper(GroupingSettings(groupWait: .zero))
        insert(&g, alert("TargetDown", target: "api", severity: "critical"))
        #expect(g.nextDeadline == clock.now)
        #expect(flush(&g).count == 1)
        var h = grouper()
        insert(&h, alert("TargetDown", target: "api", startsAt: clock.wallNow - .seconds(60)))
        #expect(h.nextDeadline == clock.now)
    }

    @Test func groupByAllMakesOneGroupPerAlertAndMaxAlertsTruncates() {
        var all = grouper(GroupingSettings(groupBy: ["..."], groupWait: .zero))
        insert(&all, alert("TargetSlow", target: "api", endpoint: "live"))
        insert(&all, alert("TargetSlow", target: "api", endpoint: "ready"))
        let sent = flush(&all)
        #expect(sent.count == 2)
        #expect(sent[0].groupLabels == sent[0].alerts[0].labels)

        var capped = grouper(GroupingSettings(groupBy: ["alertname"], groupWait: .zero, maxAlerts: 2))
        for t in ["a", "b", "c", "d"] { insert(&capped, alert("TargetSlow", target: t)) }
        let one = flush(&capped)
        #expect(one.count == 1)
        #expect(one[0].alerts.map { $0.labels["target"] } == ["a", "b"])
        #expect(one[0].truncatedAlerts == 2)
    }

    @Test func mutedAlertsAreLeftOutAndGoOutWhenTheMuteEnds() {
        var g = grouper(GroupingSettings(groupBy: ["target"], groupWait: .seconds(1), groupInterval: .seconds(10)))
        let critical = alert("TargetTimeout", target: "api", severity: "critical")
        let warning = alert("TargetSlow", target: "api", severity: "warning", endpoint: "ready")
        insert(&g, critical)
        insert(&g, warning)
        let inhibitor = Inhibitor(rules: InhibitRule.defaults)
        var firing = [critical, warning]
        let muted: (Alert) -> Bool = { inhibitor.isMuted($0.labels, firing: firing) }
        clock.advance(by: .seconds(1))
        let first = flush(&g, muted: muted)
        #expect(first.count == 1)
        #expect(first[0].alerts.map { $0.labels["alertname"] } == ["TargetTimeout"])
        // The critical alert resolves: the warning is unmuted and goes out with the resolution.
        let resolved = critical.resolved(at: clock.wallNow)
        insert(&g, resolved)
        firing = [warning]
        clock.advance(by: .seconds(10))
        let second = flush(&g) { inhibitor.isMuted($0.labels, firing: [warning]) }
        #expect(second.count == 1)
        #expect(second[0].alerts.map { $0.labels["alertname"] } == ["TargetSlow", "TargetTimeout"])
        #expect(second[0].alerts.map(\.isResolved) == [false, true])
    }

    @Test func aGroupWhoseOnlyAlertIsMutedSendsNothing() {
        var g = grouper(GroupingSettings(groupWait: .zero))
        let warning = alert("TargetSlow", target: "api")
        insert(&g, warning)
        #expect(flush(&g) { _ in true }.isEmpty)
        #expect(g.groupCount == 1)
        clock.advance(by: .seconds(300))
        #expect(flush(&g).count == 1)
    }

    @Test func reconfigureKeepsWhatWasNotifiedAndRegroupsOnNewGroupBy() {
        var g = grouper(GroupingSettings(groupWait: .zero, groupInterval: .seconds(300)))
        insert(&g, alert("TargetSlow", target: "api"))
        #expect(flush(&g).count == 1)
        g.reconfigure(GroupingSettings(groupWait: .zero, groupInterval: .seconds(30)), now: clock.now, wallNow: clock.wallNow)
        #expect(g.nextDeadline == clock.now + .seconds(30))
        clock.advance(by: .seconds(30))
        #expect(flush(&g).isEmpty)
        g.reconfigure(GroupingSettings(groupBy: ["alertname"], groupWait: .seconds(5)), now: clock.now, wallNow: clock.wallNow)
        #expect(g.groupLabels == [["alertname": "TargetSlow"]])
        clock.advance(by: .seconds(5))
        #expect(flush(&g).count == 1)
    }
}

@Suite struct AlertmanagerPusherTests {
    let clock = ManualClock()

    func alert(_ name: String, annotation: String = "x") -> Alert {
        Alert(
            labels: ["alertname": name, "severity": "critical"], annotations: ["value": annotation],
            startsAt: WallTime(secondsSinceEpoch: 1_790_000_000))
    }

    @Test func sendsOnChangeAndEveryResendDelay() {
        var p = AlertmanagerPusher(resendDelay: .seconds(60))
        #expect(p.due(now: clock.now) == nil)
        p.update(alert("A"), now: clock.now)
        #expect(p.nextDeadline(now: clock.now) == clock.now)
        #expect(p.due(now: clock.now)?.count == 1)
        #expect(p.due(now: clock.now) == nil)
        // A new value in an annotation rides with the next resend.
        clock.advance(by: .seconds(1))
        p.update(alert("A", annotation: "y"), now: clock.now)
        #expect(p.due(now: clock.now) == nil)
        // A new alert goes at once, with the others.
        p.update(alert("B"), now: clock.now)
        #expect(p.due(now: clock.now)?.map { $0.labels["alertname"] } == ["A", "B"])
        clock.advance(by: .seconds(59))
        #expect(p.due(now: clock.now) == nil)
        clock.advance(by: .seconds(1))
        let resent = p.due(now: clock.now)
        #expect(resent?.first?.annotations["value"] == "y")
    }

    @Test func resolvedAlertsGoAtOnceAndStayFifteenMinutes() {
        var p = AlertmanagerPusher(resendDelay: .seconds(60))
        let a = alert("A")
        p.update(a, now: clock.now)
        _ = p.due(now: clock.now)
        clock.advance(by: .seconds(5))
        p.update(a.resolved(at: clock.wallNow), now: clock.now)
        #expect(p.due(now: clock.now)?.first?.isResolved == true)
        clock.advance(by: .seconds(14 * 60))
        #expect(p.due(now: clock.now)?.count == 1)
        clock.advance(by: .seconds(60))
        #expect(p.due(now: clock.now) == nil)
        #expect(p.count == 0)
    }
}
