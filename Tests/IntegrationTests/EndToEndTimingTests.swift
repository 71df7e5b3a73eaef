import LookoutCore
import TestSupport
import Testing

/// The whole chain on loopback: services that are fast, slow (3 s), very slow (6 s),
/// hanging and flapping; the agent probing and scraping them; a real Prometheus scraping
/// the agent every second with `alerts/*.rules.yml` loaded; a real Alertmanager fed by both;
/// webhook receivers. Checked through the real servers' APIs: every dashboard panel's query
/// returns data, every rule is healthy, the expected alerts fire in Prometheus and in the
/// agent with the same labels, and the notifications arrive.
@Suite(.serialized) struct EndToEndTimingTests {
    /// The alerts the services must raise: (alertname, target).
    static let expected: Set<AlertKey> = [
        AlertKey(name: "TargetSlow", target: "slow"),
        AlertKey(name: "TargetVerySlow", target: "veryslow"),
        AlertKey(name: "TargetTimeout", target: "hanging"),
        AlertKey(name: "TargetDown", target: "flapping"),
    ]

    struct AlertKey: Hashable, CustomStringConvertible {
        var name: String
        var target: String
        var description: String { "\(name){target=\"\(target)\"}" }
    }

    static func agentConfig(_ services: TestServer, _ receiver: TestServer, alertmanager: AlertmanagerServer) -> String {
        services.set(
            "/metrics",
            body: """
                # HELP app_requests_total Requests served.
                # TYPE app_requests_total counter
                app_requests_total{code="200"} 1027
                # HELP app_up Whether the app is up.
                # TYPE app_up gauge
                app_up 1

                """, headers: ["Content-Type": "text/plain; version=0.0.4"])
        return """
            processes:
              - name: agent
                comm: "^lookout$"
                threads: true
              - name: services
                comm: "^python3"
                threads: true
            targets:
              - name: fast
                metrics: \(services.url("/metrics"))
                health:
                  live: \(services.url("/ok"))
                interval: 1s
                timeout: 900ms
              - name: slow
                health:
                  live: \(services.url("/delay/3"))
                interval: 5s
                timeout: 4s
              - name: veryslow
                health:
                  ready: \(services.url("/delay/6"))
                interval: 10s
                timeout: 8s
              - name: hanging
                health:
                  health: \(services.url("/hang"))
                interval: 3s
                timeout: 2s
              - name: flapping
                health:
                  live: \(services.url("/flap/4"))
                interval: 1s
                timeout: 900ms
              - name: dependencies
                health:
                  detailed: \(services.url("/dependencies/sequential?db=0.2&cache=0.3"))
                interval: 2s
                timeout: 1500ms
            rules:
              interval: 1s
            notify:
              webhooks:
                - url: \(receiver.url("/hook"))
                  name: oncall
                  group_wait: 0s
                  group_interval: 1s
                  send_resolved: true
              alertmanagers: [ \(alertmanager.baseURL) ]
              resend_delay: 2s
              min_backoff: 100ms
              max_backoff: 1s
            remote_write:
              interval: 1s
              endpoints:
                - url: \(receiver.url("/write"))
                  queue: { batch_send_deadline: 100ms }
            """
    }

    static func alertmanagerConfig(_ receiver: TestServer) -> String {
        """
        route:
          receiver: hook
          group_by: [alertname, target]
          group_wait: 1s
          group_interval: 1s
          repeat_interval: 1h
        receivers:
          - name: hook
            webhook_configs:
              - url: \(receiver.url("/am"))
                send_resolved: true
        """
    }

    static func prometheusConfig(agentPort: Int, alertmanagerPort: Int) -> String {
        """
        global:
          scrape_interval: 1s
          evaluation_interval: 1s
        rule_files: [ lookout.rules.yml, lookout-fleet.rules.yml ]
        alerting:
          alertmanagers:
            - static_configs:
                - targets: [ '127.0.0.1:\(alertmanagerPort)' ]
        scrape_configs:
          - job_name: lookout
            static_configs:
              - targets: [ '127.0.0.1:\(agentPort)' ]
        """
    }

    /// Firing alerts as (name, target) from a Prometheus-shaped `/api/v1/alerts` document,
    /// with the labels each carries.
    static func firing(_ doc: JSON?) -> [AlertKey: [String: String]] {
        var out: [AlertKey: [String: String]] = [:]
        for a in doc?["data"]?["alerts"]?.arrayValue ?? [] where a["state"]?.stringValue == "firing" {
            var labels: [String: String] = [:]
            for (k, v) in a["labels"]?.objectValue ?? [] { labels[k] = v.stringValue ?? "" }
            out[AlertKey(name: labels["alertname"] ?? "", target: labels["target"] ?? "")] = labels
        }
        return out
    }

    /// Every PromQL expression of every panel of `dashboard`, with Grafana's variables filled in.
    static func panelQueries(_ dashboard: JSON) -> [(panel: String, expr: String)] {
        var out: [(String, String)] = []
        func walk(_ panels: [JSON]) {
            for p in panels {
                if let nested = p["panels"]?.arrayValue { walk(nested) }
                for t in p["targets"]?.arrayValue ?? [] {
                    guard let expr = t["expr"]?.stringValue else { continue }
                    let filled = expr.replacing("$__rate_interval", with: "20s").replacing("$__interval", with: "5s")
                        .replacing("$instance", with: ".*").replacing("$group", with: ".*").replacing("$target", with: ".*")
                    out.append((p["title"]?.stringValue ?? "?", filled))
                }
            }
        }
        walk(dashboard["panels"]?.arrayValue ?? [])
        return out
    }

    @Test func servicesAgentPrometheusAlertmanagerAndReceivers() async throws {
        let services = try TestServer()
        let receiver = try TestServer()
        receiver.set("/hook", status: 200, body: "ok")
        receiver.set("/am", status: 200, body: "ok")
        receiver.set("/write", status: 204)
        let alertmanager = try AlertmanagerServer(config: Self.alertmanagerConfig(receiver))
        let agent = try AgentProcess(config: Self.agentConfig(services, receiver, alertmanager: alertmanager))
        let rulesDir = Repo.path("alerts")
        let prometheus = try PrometheusServer(
            config: Self.prometheusConfig(agentPort: agent.port, alertmanagerPort: alertmanager.port),
            files: [
                "lookout.rules.yml": try FileIO.readText(rulesDir + "/lookout.rules.yml"),
                "lookout-fleet.rules.yml": try FileIO.readText(rulesDir + "/lookout-fleet.rules.yml"),
            ])

        // 1. The alerts fire in the agent and in Prometheus, with the same labels.
        var seenInAgent: [AlertKey: [String: String]] = [:]
        var seenInPrometheus: [AlertKey: [String: String]] = [:]
        let allFired = await waitUntil(timeout: .seconds(60), every: .milliseconds(500)) {
            seenInAgent.merge(Self.firing(try? JSON(parsing: agent.get("/api/v1/alerts").body))) { a, _ in a }
            seenInPrometheus.merge(Self.firing(prometheus.api("/api/v1/alerts"))) { a, _ in a }
            return Self.expected.isSubset(of: Set(seenInAgent.keys)) && Self.expected.isSubset(of: Set(seenInPrometheus.keys))
        }
        #expect(
            allFired,
            "agent fired \(seenInAgent.keys.sorted { $0.description < $1.description }), Prometheus fired \(seenInPrometheus.keys.sorted { $0.description < $1.description })\n\(agent.log)")
        for key in Self.expected {
            guard let mine = seenInAgent[key], let theirs = seenInPrometheus[key] else { continue }
            // Prometheus adds the scrape's job and instance; everything the agent has, it has too.
            for (k, v) in mine { #expect(theirs[k] == v, "\(key): label \(k) is \"\(v)\" in the agent, \"\(theirs[k] ?? "-")\" in Prometheus") }
            #expect(theirs["job"] == "lookout")
        }

        // 2. Every rule in alerts/ is healthy in Prometheus.
        let rules = prometheus.api("/api/v1/rules")?["data"]?["groups"]?.arrayValue ?? []
        let ruleHealth = rules.flatMap { $0["rules"]?.arrayValue ?? [] }.map {
            ($0["name"]?.stringValue ?? "?", $0["health"]?.stringValue ?? "?", $0["lastError"]?.stringValue ?? "")
        }
        #expect(ruleHealth.count >= 10, "\(ruleHealth)")
        for (name, health, error) in ruleHealth { #expect(health == "ok", "rule \(name): \(health) \(error)") }

        // 3. Every panel of every dashboard returns data (retried: rates need a few scrapes).
        var missing: [String] = []
        var checked = 0
        for file in ["lookout-overview.json", "lookout-targets.json"] {
            let dashboard = try JSON(parsing: try FileIO.readText(Repo.path("dashboards/\(file)")))
            let queries = Self.panelQueries(dashboard)
            #expect(queries.count >= (file == "lookout-overview.json" ? 40 : 4), "\(file): \(queries.count) queries")
            for (panel, expr) in queries {
                // The limit is absent when the agent's cgroup has none (the root cgroup of a
                // machine): the panel shows no limit line then, and that is its data.
                if expr.contains("lookout_cgroup_cpu_limit_cores"),
                    !agent.get("/metrics").text.contains("\nlookout_cgroup_cpu_limit_cores ")
                {
                    continue
                }
                checked += 1
                let hasData = await waitUntil(timeout: .seconds(30), every: .seconds(1)) {
                    (prometheus.query(expr)?.isEmpty == false)
                }
                if !hasData {
                    missing.append("\(file): panel \"\(panel)\": \(expr) → \(prometheus.queryError(expr) ?? "no data")")
                }
            }
        }
        #expect(missing.isEmpty, "\(missing.joined(separator: "\n"))")
        #expect(checked >= 44)

        // 4. The notifications arrive: the agent's own webhook, and Alertmanager's.
        func alertnames(_ path: String) -> Set<String> {
            var names: Set<String> = []
            for r in receiver.received(path) {
                guard let body = try? JSON(parsing: r.body) else { continue }
                for a in body["alerts"]?.arrayValue ?? [] { names.insert(a["labels"]?["alertname"]?.stringValue ?? "") }
            }
            return names
        }
        let wanted = Set(Self.expected.map(\.name))
        #expect(await waitUntil(timeout: .seconds(20)) { wanted.isSubset(of: alertnames("/hook")) }, "webhook got \(alertnames("/hook"))")
        #expect(await waitUntil(timeout: .seconds(20)) { wanted.isSubset(of: alertnames("/am")) }, "Alertmanager's webhook got \(alertnames("/am"))")
        let payload = try #require(receiver.received("/hook").first.flatMap { try? JSON(parsing: $0.body) })
        #expect(payload["version"]?.stringValue == "4")
        #expect(payload["receiver"]?.stringValue == "oncall")
        // Delivered, not merely attempted: the receivers answered 2xx and nothing was dropped.
        let metrics = agent.get("/metrics").text
        #expect(metrics.contains("lookout_notifications_total{receiver=\"oncall\",result=\"success\"}"))
        #expect(!metrics.split(separator: "\n").contains { $0.contains("result=\"dropped\"") && !$0.hasSuffix(" 0") }, "\(metrics)")

        // 5. The status page, in a real browser: targets and alerts are on it.
        if let chromium = Shell.which("chromium") {
            let dom = Shell.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", agent.baseURL + "/"])
            #expect(dom.output.contains("data-target=\"slow\""), "\(dom.output.prefix(2000))")
            #expect(dom.output.contains("data-target=\"hanging\""))
            #expect(dom.output.contains("data-alertname=\"TargetTimeout\""))
            #expect(dom.output.contains("<polyline"))
            let shot = Repo.artifacts + "/status-page.png"
            _ = Shell.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1280,1000", "--screenshot=\(shot)", agent.baseURL + "/"])
            #expect(FileIO.exists(shot))
        } else {
            Issue.record("chromium is not installed (make deps installs it)")
        }
    }
}
