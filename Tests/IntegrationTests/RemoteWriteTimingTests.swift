import LookoutCore
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// remote_write against a real Prometheus (`--web.enable-remote-write-receiver`): what arrives,
/// and that nothing is lost while the receiver is away or the agent is killed.
@Suite(.serialized) struct RemoteWriteTimingTests {
    static let prometheusConfig = "global:\n  scrape_interval: 1m\nscrape_configs: []\n"
    static let receiverFlags = ["--web.enable-remote-write-receiver"]

    static func agentConfig(receiverPort: Int) -> String {
        """
        remote_write:
          interval: 1s
          wal: data/wal
          external_labels: { cluster: eu1, instance: host-a }
          endpoints:
            - url: http://127.0.0.1:\(receiverPort)/api/v1/write
              remote_timeout: 5s
              queue: { batch_send_deadline: 100ms, min_backoff: 50ms, max_backoff: 1s }
        """
    }

    /// Raw samples of `selector` over the last `seconds`, per series (labels) → [(t ms, value)].
    static func raw(_ prometheus: PrometheusServer, _ selector: String, seconds: Int) -> [[String: String]: [(Int64, Double)]] {
        var out: [[String: String]: [(Int64, Double)]] = [:]
        for r in prometheus.query("\(selector)[\(seconds)s]") ?? [] {
            var labels: [String: String] = [:]
            for (k, v) in r["metric"]?.objectValue ?? [] { labels[k] = v.stringValue ?? "" }
            out[labels] = (r["values"]?.arrayValue ?? []).compactMap { pair in
                guard let t = pair[0]?.doubleValue, let text = pair[1]?.stringValue else { return nil }
                let v: Double
                switch text {
                case "+Inf": v = .infinity
                case "-Inf": v = -.infinity
                case "NaN": v = .nan
                default: v = Double(text) ?? .nan
                }
                return (Int64((t * 1000).rounded()), v)
            }
        }
        return out
    }

    /// The longest time between two samples of `series` from `from` (ms) on.
    static func largestGap(_ samples: [(Int64, Double)], from: Int64) -> Int64 {
        let ts = samples.map(\.0).filter { $0 >= from }.sorted()
        return zip(ts, ts.dropFirst()).map { $1 - $0 }.max() ?? .max
    }

    static func nowMillis() -> Int64 { SystemClock().wallNow.millisecondsSinceEpoch }

    /// The agent has sent something and its newest acknowledged sample is at most 5 s old.
    static func caughtUp(_ agent: AgentProcess) -> Bool {
        let m = agent.samples()
        guard (m.value("lookout_remote_write_samples_total", ["result": "success"]) ?? 0) > 0,
            let highest = m.value("lookout_remote_write_highest_sent_timestamp_seconds")
        else { return false }
        return highest > Double(nowMillis()) / 1000 - 5
    }

    @Test func prometheusReceivesTheSeriesWithExternalLabelsAndTheValuesMetricsServed() async throws {
        let prometheus = try PrometheusServer(config: Self.prometheusConfig, flags: Self.receiverFlags)
        let agent = try AgentProcess(config: Self.agentConfig(receiverPort: prometheus.port))
        // Let a few snapshots through, then bracket one between two reads of /metrics.
        #expect(await waitUntil(timeout: .seconds(20)) { (prometheus.query("lookout_build_info")?.count ?? 0) > 0 }, "\(agent.log)")
        let before = agent.samples()
        let t0 = Self.nowMillis()
        try await Task.sleep(for: .milliseconds(2500))
        let t1 = Self.nowMillis()
        let after = agent.samples()
        #expect(before.count > 50)
        #expect(await waitUntil(timeout: .seconds(20)) {
            (Self.raw(prometheus, "lookout_build_info", seconds: 30).values.first?.contains { $0.0 >= t0 && $0.0 <= t1 }) ?? false
        })
        let received = Self.raw(prometheus, "{cluster=\"eu1\"}", seconds: 30)
        // Every series /metrics served is in Prometheus, with the external labels added.
        var byIdentity: [String: [(Int64, Double)]] = [:]
        for (labels, samples) in received {
            #expect(labels["cluster"] == "eu1" && labels["instance"] == "host-a")
            var own = labels
            own["cluster"] = nil
            own["instance"] = nil
            let name = own.removeValue(forKey: "__name__") ?? ""
            byIdentity[ExposedSample(name: name, labels: own, value: 0).series] = samples
        }
        let afterBySeries = Dictionary(after.map { ($0.series, $0.value) }, uniquingKeysWith: { a, _ in a })
        var compared = 0, counters = 0
        var missing: [String] = []
        for s in before {
            guard let samples = byIdentity[s.series] else {
                missing.append(s.series)
                continue
            }
            guard let later = afterBySeries[s.series] else { continue }
            let inWindow = samples.filter { $0.0 >= t0 && $0.0 <= t1 }.map(\.1)
            #expect(!inWindow.isEmpty, "\(s.series): no sample between the two reads of /metrics")
            if s.value == later || (s.value.isNaN && later.isNaN) {
                // A value that did not change: Prometheus has exactly it.
                for v in inWindow {
                    #expect(v == s.value || (v.isNaN && s.value.isNaN), "\(s.series): /metrics served \(s.value), Prometheus got \(v)")
                }
                compared += 1
            } else if s.name.hasSuffix("_total") || s.name.hasSuffix("_count") || s.name.hasSuffix("_bucket") {
                // A counter that moved: what Prometheus got lies between the two reads.
                for v in inWindow { #expect(v >= s.value && v <= later, "\(s.series): \(v) not in [\(s.value), \(later)]") }
                counters += 1
            }
        }
        // Series that appear only once the agent has run a while (e.g. a first send's histogram) may be missing from the first snapshot.
        #expect(missing.filter { !$0.hasPrefix("lookout_remote_write") }.isEmpty, "not in Prometheus: \(missing)")
        #expect(compared >= 30, "compared \(compared) steady series")
        #expect(counters >= 3, "compared \(counters) moving counters")
        let m = agent.samples()
        #expect((m.value("lookout_remote_write_samples_total", ["result": "success"]) ?? 0) > 0)
        #expect(m.value("lookout_remote_write_samples_total", ["result": "dropped"]) == 0)
        #expect((m.value("lookout_remote_write_wal_bytes") ?? 0) > 0)
        let page = agent.get("/").text
        #expect(page.contains("Remote write") && page.contains("/api/v1/write"))
    }

    @Test func aReceiverAwayForAMinuteMissesNoSample() async throws {
        let first = try PrometheusServer(config: Self.prometheusConfig, flags: Self.receiverFlags)
        let port = first.port, directory = first.directory
        let agent = try AgentProcess(config: Self.agentConfig(receiverPort: port))
        #expect(await waitUntil(timeout: .seconds(20)) { (first.query("lookout_build_info")?.count ?? 0) > 0 }, "\(agent.log)")
        let outageStart = Self.nowMillis()
        first.stop()
        try await Task.sleep(for: .seconds(60))
        let pendingDuringOutage = agent.samples().value("lookout_remote_write_pending_samples") ?? 0
        #expect(pendingDuringOutage > 0)
        let outageEnd = Self.nowMillis()
        let prometheus = try PrometheusServer(config: Self.prometheusConfig, flags: Self.receiverFlags, port: port, directory: directory)
        #expect(await waitUntil(timeout: .seconds(60), every: .milliseconds(500)) { Self.caughtUp(agent) }, "\(agent.log)")
        try await Task.sleep(for: .seconds(3))
        let seconds = Int((Self.nowMillis() - outageStart) / 1000) + 15
        let series = Self.raw(prometheus, "lookout_build_info{cluster=\"eu1\"}", seconds: seconds)
        let samples = try #require(series.values.first)
        let gap = Self.largestGap(samples, from: outageStart - 5000)
        #expect(gap <= 2000, "largest gap \(gap) ms around a 60 s outage")
        // count_over_time over the outage: one sample per second of it.
        let windowSeconds = Int((outageEnd - outageStart) / 1000)
        let offset = Int((Self.nowMillis() - outageEnd) / 1000)
        let counted = prometheus.query("count_over_time(lookout_build_info{cluster=\"eu1\"}[\(windowSeconds)s] offset \(offset)s)")?.first?["value"]?[1]?.stringValue
        #expect(Double(counted ?? "") ?? 0 >= Double(windowSeconds) - 1, "count_over_time \(counted ?? "-") over \(windowSeconds)s")
        let m = agent.samples()
        #expect((m.value("lookout_remote_write_samples_total", ["result": "retried"]) ?? 0) > 0)
        #expect(m.value("lookout_remote_write_samples_total", ["result": "dropped"]) == 0)
    }

    @Test func anAgentKilledDuringAnOutageResendsAfterRestartWithoutAnErrorLoop() async throws {
        let first = try PrometheusServer(config: Self.prometheusConfig, flags: Self.receiverFlags)
        let port = first.port, directory = first.directory
        let workdir = TemporaryDirectory(prefix: "lookout-agent")
        let config = Self.agentConfig(receiverPort: port)
        var agent: AgentProcess? = try AgentProcess(config: config, workingDirectory: workdir)
        #expect(await waitUntil(timeout: .seconds(20)) { (first.query("lookout_build_info")?.count ?? 0) > 0 })
        let outageStart = Self.nowMillis()
        first.stop()
        try await Task.sleep(for: .seconds(10))
        // SIGKILL mid-outage: nothing acknowledged since the receiver went away; the WAL has it all.
        let killedAt = Self.nowMillis()
        agent!.process.kill()
        agent = nil
        let restarted = try AgentProcess(config: config, workingDirectory: workdir)
        let restartedAt = Self.nowMillis()
        try await Task.sleep(for: .seconds(10))
        let prometheus = try PrometheusServer(config: Self.prometheusConfig, flags: Self.receiverFlags, port: port, directory: directory)
        #expect(await waitUntil(timeout: .seconds(60), every: .milliseconds(500)) { Self.caughtUp(restarted) }, "\(restarted.log)")
        try await Task.sleep(for: .seconds(3))
        let seconds = Int((Self.nowMillis() - outageStart) / 1000) + 15
        let samples = try #require(Self.raw(prometheus, "lookout_build_info{cluster=\"eu1\"}", seconds: seconds).values.first)
        // Before the kill and after the restart every second arrived; the only hole is the
        // time no agent ran (the kill, the restart and the first snapshot interval).
        let beforeKill = samples.filter { $0.0 < killedAt }
        let afterRestart = samples.filter { $0.0 >= restartedAt }
        #expect(Self.largestGap(beforeKill, from: outageStart - 5000) <= 2000)
        #expect(Self.largestGap(afterRestart, from: restartedAt) <= 2000)
        #expect(Self.largestGap(samples, from: outageStart - 5000) <= 4000, "the restart left a hole")
        let outageSecondsBeforeKill = Int((killedAt - outageStart) / 1000)
        #expect(
            beforeKill.filter { $0.0 >= outageStart }.count >= outageSecondsBeforeKill - 1,
            "samples of the \(outageSecondsBeforeKill) s of outage before the kill")
        // No duplicate-error loop: once caught up, nothing is dropped or retried any more.
        let m1 = restarted.samples()
        try await Task.sleep(for: .seconds(5))
        let m2 = restarted.samples()
        let dropped1 = m1.value("lookout_remote_write_samples_total", ["result": "dropped"]) ?? -1
        let dropped2 = m2.value("lookout_remote_write_samples_total", ["result": "dropped"]) ?? -1
        let retried1 = m1.value("lookout_remote_write_samples_total", ["result": "retried"]) ?? -1
        let retried2 = m2.value("lookout_remote_write_samples_total", ["result": "retried"]) ?? -1
        #expect(dropped1 == dropped2 && retried1 == retried2, "dropped \(dropped1)→\(dropped2), retried \(retried1)→\(retried2)")
        #expect((m2.value("lookout_remote_write_samples_total", ["result": "success"]) ?? 0) > (m1.value("lookout_remote_write_samples_total", ["result": "success"]) ?? 0))
    }
}
