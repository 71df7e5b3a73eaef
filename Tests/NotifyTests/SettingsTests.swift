import LookoutCore
import Series
import TestSupport
import Testing

@testable import Notify

@Suite struct NotifySettingsTests {
    /// Parses `text` as the value of `notify:`; returns the settings and the diagnostics.
    static func parse(_ text: String, file: String = "/etc/lookout/lookout.yml") -> (NotifySettings, [String]) {
        let doc = YAMLDocument(text: text, file: file)
        let s = NotifySettings.parse(doc.root!)
        return (s, doc.diagnostics.map(\.description))
    }

    @Test func defaults() throws {
        let (s, errors) = Self.parse("webhooks:\n  - url: http://127.0.0.1:5001/hook\n")
        #expect(errors.isEmpty)
        let w = try #require(s.webhooks.first)
        #expect(w.name == "127.0.0.1:5001")
        #expect(w.sendResolved)
        #expect(w.groupBy == ["alertname", "target"])
        #expect(w.groupWait == .seconds(5))
        #expect(w.groupInterval == .seconds(300))
        #expect(w.repeatInterval == .seconds(4 * 3600))
        #expect(w.maxAlerts == 0)
        #expect(w.timeout == .seconds(10))
        #expect(w.bearerToken == nil && w.basicAuth == nil && w.hmacSecret == nil)
        #expect(s.inhibitRules == InhibitRule.defaults)
        #expect(s.outbox == "data/outbox")
        #expect(s.outboxMaxEntries == 10_000)
        #expect(s.outboxMaxBytes == 16 << 20)
        #expect(s.minBackoff == .milliseconds(500))
        #expect(s.maxBackoff == .seconds(300))
        #expect(s.resendDelay == .seconds(60))
    }

    @Test func everyKeyIsRead() throws {
        let dir = TemporaryDirectory()
        dir.write("hook.key", "k3y-bytes\n")
        dir.write("token", "  tok3n \n")
        dir.write("pw", "p4ss\n")
        let (s, errors) = Self.parse(
            """
            webhooks:
              - url: https://hooks.example/a
                name: oncall
                send_resolved: false
                group_by: ['...']
                group_wait: 0s
                group_interval: 1m
                repeat_interval: 2h
                max_alerts: 5
                timeout: 3s
                bearer_token_file: token
                hmac_secret_file: \(dir.path)/hook.key
              - url: http://127.0.0.1:9/b
                basic_auth: {username: ops, password_file: pw}
                hmac_secret: inline
            inhibit_rules:
              - source_matchers: ['severity="critical"']
                target_matchers: ['severity=~"warning|info"', 'alertname!="Watchdog"']
                equal: [target, endpoint]
            alertmanagers: [http://127.0.0.1:9093/, http://am2:9093]
            outbox: /var/lib/lookout/outbox
            outbox_max_entries: 50
            outbox_max_bytes: 1MiB
            min_backoff: 100ms
            max_backoff: 30s
            resend_delay: 10s
            alertmanager_timeout: 2s
            external_url: http://lookout.example:9477
            """, file: dir.path + "/lookout.yml")
        #expect(errors == [])
        #expect(s.webhooks.count == 2)
        let a = s.webhooks[0]
        #expect(a.name == "oncall")
        #expect(!a.sendResolved)
        #expect(a.groupsByAll)
        #expect(a.groupWait == .zero)
        #expect(a.groupInterval == .seconds(60))
        #expect(a.repeatInterval == .seconds(7200))
        #expect(a.maxAlerts == 5)
        #expect(a.timeout == .seconds(3))
        #expect(a.bearerToken?.text == "tok3n")
        #expect(a.hmacSecret?.text == "k3y-bytes")
        let b = s.webhooks[1]
        #expect(b.name == "127.0.0.1:9")
        #expect(b.basicAuth?.username == "ops")
        #expect(b.basicAuth?.password.text == "p4ss")
        #expect(b.hmacSecret?.text == "inline")
        #expect(s.inhibitRules.count == 1)
        #expect(s.inhibitRules[0].equal == ["target", "endpoint"])
        #expect(s.inhibitRules[0].targetMatchers.map(\.description) == ["severity=~\"warning|info\"", "alertname!=\"Watchdog\""])
        #expect(s.alertmanagers == ["http://127.0.0.1:9093", "http://am2:9093"])
        #expect(s.outbox == "/var/lib/lookout/outbox")
        #expect(s.outboxMaxEntries == 50)
        #expect(s.outboxMaxBytes == 1 << 20)
        #expect(s.minBackoff == .milliseconds(100))
        #expect(s.maxBackoff == .seconds(30))
        #expect(s.resendDelay == .seconds(10))
        #expect(s.alertmanagerTimeout == .seconds(2))
        #expect(s.externalURL == "http://lookout.example:9477")
    }

    @Test func secretsNeverPrint() throws {
        let (s, errors) = Self.parse("webhooks:\n  - url: http://h/\n    hmac_secret: topsecret\n    bearer_token: tok\n")
        #expect(errors.isEmpty)
        let text = "\(s) \(String(reflecting: s))"
        #expect(!text.contains("topsecret"))
        #expect(!text.contains("\"tok\""))
        #expect(text.contains("<secret>"))
        var dumped = ""
        dump(s, to: &dumped)
        #expect(!dumped.contains("topsecret"))
    }

    @Test func unknownKeysAndBadValuesAreErrorsWithPositions() {
        let (_, errors) = Self.parse(
            """
            webhooks:
              - url: http://127.0.0.1:5001/hook
                group_wiat: 5s
              - url: ftp://nope
              - url: http://127.0.0.1:5001/other
              - url: http://x/
                group_by: [alertname, '...']
                bearer_token: a
                basic_auth: {username: u, password: p}
            inhibit_rules:
              - source_matchers: ['severity=="critical"']
                equal: [bad-name]
            outbox_max_bytes: 100
            bogus: 1
            """, file: "cfg.yml")
        #expect(errors.contains("cfg.yml:3:5: unknown key \"group_wiat\" in notify.webhooks[0] (did you mean \"group_wait\"?)"))
        #expect(errors.contains { $0.hasPrefix("cfg.yml:4:10: notify.webhooks[1].url must be an http:// or https:// URL") })
        #expect(errors.contains { $0.hasPrefix("cfg.yml:5:5:") && $0.contains("already used by notify.webhooks[0]") })
        #expect(errors.contains { $0.hasPrefix("cfg.yml:7:15:") && $0.contains("\"...\" must be the only item") })
        #expect(errors.contains { $0.hasPrefix("cfg.yml:9:17:") && $0.contains("either a bearer token or basic_auth") })
        #expect(errors.contains { $0.hasPrefix("cfg.yml:11:23:") && $0.contains("invalid matcher") })
        #expect(errors.contains { $0.hasPrefix("cfg.yml:13:19:") && $0.contains("at least 4KiB") })
        #expect(errors.contains { $0.hasPrefix("cfg.yml:14:1: unknown key \"bogus\" in notify") })
    }

    @Test func missingSecretFileIsAnError() {
        let (_, errors) = Self.parse("webhooks:\n  - url: http://h/\n    hmac_secret_file: /nonexistent/key\n", file: "c.yml")
        #expect(errors.count == 1)
        #expect(errors.first?.hasPrefix("c.yml:3:23: cannot read notify.webhooks[0].hmac_secret_file: /nonexistent/key") == true)
    }

    @Test func emptyInhibitRulesDisableTheDefault() {
        let (s, errors) = Self.parse("inhibit_rules: []\n")
        #expect(errors.isEmpty)
        #expect(s.inhibitRules.isEmpty)
    }
}

@Suite struct InhibitorTests {
    static func alert(_ name: String, _ severity: String, target: String?, endpoint: String = "live") -> Alert {
        var labels: Labels = ["alertname": name, "severity": severity, "endpoint": endpoint]
        if let target { labels.set("target", target) }
        return Alert(labels: labels, startsAt: WallTime(secondsSinceEpoch: 1_790_000_000))
    }

    @Test func defaultRuleMutesTheWarningsOfTheSameTargetOnly() {
        let inhibitor = Inhibitor(rules: InhibitRule.defaults)
        let critical = Self.alert("TargetTimeout", "critical", target: "api", endpoint: "live")
        let warnSame = Self.alert("TargetSlow", "warning", target: "api", endpoint: "ready")
        let warnOther = Self.alert("TargetSlow", "warning", target: "db")
        let overhead = Self.alert("LookoutOverhead", "warning", target: nil)
        let firing = [critical, warnSame, warnOther, overhead]
        #expect(inhibitor.isMuted(warnSame.labels, firing: firing))
        #expect(!inhibitor.isMuted(warnOther.labels, firing: firing))
        #expect(!inhibitor.isMuted(overhead.labels, firing: firing))
        #expect(!inhibitor.isMuted(critical.labels, firing: firing))
        // A critical alert without a target is no source of the default rule.
        let hostCritical = Self.alert("DiskFull", "critical", target: nil)
        #expect(!inhibitor.isMuted(overhead.labels, firing: [hostCritical, overhead]))
        // Resolved sources do not mute.
        let resolved = critical.resolved(at: WallTime(secondsSinceEpoch: 1_790_000_100))
        #expect(!inhibitor.isMuted(warnSame.labels, firing: [resolved, warnSame]))
    }

    @Test func aTargetDownMutesItsDependencyDown() {
        let inhibitor = Inhibitor(rules: InhibitRule.defaults)
        var dependency = Self.alert("DependencyDown", "warning", target: "api", endpoint: "detailed")
        dependency.labels.set("component", "giveaway")
        let down = Self.alert("TargetDown", "critical", target: "api", endpoint: "detailed")
        let otherDown = Self.alert("TargetDown", "critical", target: "db", endpoint: "detailed")
        var sequential = Self.alert("HealthCheckSequential", "info", target: "api", endpoint: "detailed")
        sequential.labels.set("component", "giveaway")
        // While the target itself is down, its dependencies' alerts are noise.
        #expect(inhibitor.isMuted(dependency.labels, firing: [down, dependency]))
        // Another target being down, or an info alert of the same target, mutes nothing.
        #expect(!inhibitor.isMuted(dependency.labels, firing: [otherDown, sequential, dependency]))
        // The info alert is not a warning: a critical alert does not mute it.
        #expect(!inhibitor.isMuted(sequential.labels, firing: [down, sequential]))
    }

    @Test func alertsMatchingBothSidesDoNotMuteEachOther() throws {
        let rule = InhibitRule(
            sourceMatchers: [try LabelMatcher(parsing: "severity=~\"critical|warning\"")],
            targetMatchers: [try LabelMatcher(parsing: "severity=~\"critical|warning\"")], equal: ["target"])
        let inhibitor = Inhibitor(rules: [rule])
        let a = Self.alert("A", "critical", target: "api")
        let b = Self.alert("B", "warning", target: "api")
        #expect(!inhibitor.isMuted(a.labels, firing: [a, b]))
        #expect(!inhibitor.isMuted(b.labels, firing: [a, b]))
    }
}
