import LookoutCore
import Testing

@testable import Agent

@Suite struct StatusPageTests {
    func model() -> StatusPageModel {
        let now = WallTime(secondsSinceEpoch: 1_790_000_100)
        var m = StatusPageModel(
            startedAt: WallTime(secondsSinceEpoch: 1_790_000_000), now: now, configSource: "/etc/lookout.yml",
            ready: true, samplerFrequency: 19, ticks: 1900, missedTicks: 0)
        m.targets = [
            .init(
                target: "api<script>", endpoint: "live", url: "http://127.0.0.1:8000/health/live", verdict: "warning", status: 200,
                totalSeconds: 3.02, phases: [("connect", 0.001), ("processing", 3.0)], reason: nil,
                lastProbe: now - .seconds(4), circuitOpen: false)
        ]
        m.alerts = [
            .init(
                name: "TargetSlow", severity: "warning", state: "firing", labels: [("target", "api")],
                summary: "api live took 3.02s", activeAt: now - .seconds(30), value: "3.02")
        ]
        m.hostCPU = .init(name: "host", points: [0.1, 0.5, 0.2])
        m.groupCPU = [.init(name: "api", points: [1.0, 2.0])]
        m.outboxLength = 2
        return m
    }

    @Test func showsEachStackSampledGroupsTopFunctionsWithItsFlameGraph() {
        var m = model()
        m.stackSampling = "active"
        m.stackGroups = ["api", "db worker"]
        m.topFunctions = [
            .init(group: "api", samples: 200, functions: [("parse<T>", 120, 150), ("main", 0, 200)]),
            .init(group: "db worker", samples: 0, functions: []),
        ]
        let html = StatusPage.render(m)
        #expect(html.contains("CPU stacks (stack sampling active)"))
        #expect(html.contains("<h3>api <a href=\"/debug/pprof/flamegraph?seconds=10&amp;group=api\">flame graph</a></h3>"))
        #expect(html.contains("<code>parse&lt;T&gt;</code></a></td><td class=\"num\">60.0%</td><td class=\"num\">75.0%</td>"))
        #expect(html.contains("group=db+worker"))
        #expect(html.contains("No samples in the last minute."))
        #expect(html.contains("href=\"/debug/pprof/flamegraph?seconds=10\""))

        m.topFunctions = nil
        #expect(StatusPage.render(m).contains("The top functions appear after a minute of samples."))
        m.stackSampling = "denied"
        #expect(StatusPage.render(m).contains("perf events were refused"))
        m.stackSampling = "off"
        #expect(StatusPage.render(m).contains("No group is stack-sampled"))
    }

    @Test func showsTargetsAlertsAndSparklines() {
        let html = StatusPage.render(model())
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.contains("data-target=\"api&lt;script&gt;\""))
        #expect(!html.contains("<script>"))
        #expect(html.contains("data-alertname=\"TargetSlow\" data-state=\"firing\""))
        #expect(html.contains("<td class=\"num\">3.02 s</td>"))
        #expect(html.contains("<polyline"))
        #expect(html.contains("group api (cores): now 200%, peak 200%"))
        #expect(html.contains("Outbox: 2 pending"))
        #expect(html.contains("href=\"/api/v1/targets\""))
        #expect(!html.contains("src=") && !html.contains("<link") && !html.contains("<script"))  // no external assets, no scripts
    }

    @Test func showsTheCgroupCPULimitAndWeight() {
        var m = model()
        #expect(!StatusPage.render(m).contains("cgroup CPU limit"))
        m.cgroupLimit = .init(cores: 1.5, weight: 1024)
        var html = StatusPage.render(m)
        #expect(html.contains("cgroup CPU limit: <span class=\"num\">1.5</span> cores, weight <span class=\"num\">1024</span>"))
        m.cgroupLimit = .init(cores: nil, weight: 100)
        html = StatusPage.render(m)
        #expect(html.contains("cgroup CPU limit: none, weight <span class=\"num\">100</span>"))
    }

    @Test func emptyStateIsExplained() {
        var m = model()
        m.targets = []
        m.alerts = []
        let html = StatusPage.render(m)
        #expect(html.contains("No targets configured."))
        #expect(html.contains("No pending or firing alerts."))
    }

    @Test func showsRemoteWriteEndpointsWhenOn() {
        var m = model()
        #expect(!StatusPage.render(m).contains("Remote write"))
        m.walBytes = 3 << 20
        m.remoteWrite = [
            .init(
                url: "https://mimir.example/api/v1/push", sent: 1200, pending: 40, dropped: 2,
                lastSent: m.now - .seconds(12), lastError: "HTTP 400: out of order <sample>"),
            .init(url: "http://127.0.0.1:9090/api/v1/write", sent: 0, pending: 900, dropped: 0, lastSent: nil, lastError: ""),
        ]
        let html = StatusPage.render(m)
        #expect(html.contains("<section id=\"remote-write\"><h2>Remote write</h2><p>WAL: 3072 KiB</p>"))
        #expect(html.contains("<td>https://mimir.example/api/v1/push</td><td>1200</td><td>40</td><td>2</td>"))
        #expect(html.contains("HTTP 400: out of order &lt;sample&gt;"))
        #expect(html.contains("<td>none yet</td>"))
    }
}
