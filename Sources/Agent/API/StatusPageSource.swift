import LookoutCore
import Notify
import Probing
import Profiles
import RemoteWrite
import Rules
import Sampling

/// Gathers the status page's model from the components' snapshots (no I/O).
struct StatusPageSource: Sendable {
    let clock: any AgentClock
    let startedAt: WallTime
    let configSource: @Sendable () -> String
    let readiness: Readiness
    let sampler: Sampler
    let stacks: StackSamplingState
    let prober: Prober
    let rules: RuleEngine
    let notifier: Notifier
    let remoteWriter: RemoteWriter

    func model() -> StatusPageModel {
        let settings = sampler.metrics.settings
        let ticks = sampler.metrics.ticks, missed = sampler.metrics.missedTicks
        var m = StatusPageModel(
            startedAt: startedAt, now: clock.wallNow, configSource: configSource(), ready: readiness.isReady,
            samplerFrequency: settings.frequency, ticks: Double(ticks), missedTicks: Double(missed))
        for target in prober.targetsStatus() {
            for e in target.endpoints {
                let last = e.last
                var row = StatusPageModel.TargetRow(
                    target: target.name, endpoint: e.endpoint.rawValue, url: e.url,
                    verdict: last?.verdict.rawValue ?? "unknown", status: last.flatMap { $0.status > 0 ? $0.status : nil },
                    totalSeconds: last?.timings.total,
                    phases: last?.timings.labeled.filter { $0.phase != "total" }.map { ($0.phase, $0.seconds) } ?? [],
                    reason: last?.reason?.rawValue, lastProbe: last?.time, circuitOpen: e.circuitOpen)
                if let reading = e.components {
                    row.components = (reading.report?.components ?? []).map { ($0.name, $0.status, $0.up, $0.durationSeconds) }
                    row.componentsError = reading.error
                    if let s = reading.sequential, s.isSequential { row.sequential = s.explanation }
                }
                m.targets.append(row)
            }
        }
        for a in rules.alerts.sorted(by: { ($0.state.rawValue, $0.labels["alertname"] ?? "") > ($1.state.rawValue, $1.labels["alertname"] ?? "") }) {
            m.alerts.append(
                .init(
                    name: a.labels["alertname"] ?? "", severity: a.labels["severity"] ?? "", state: a.state.rawValue,
                    labels: a.labels.filter { $0.name != "alertname" && $0.name != "severity" }.map { ($0.name, $0.value) },
                    summary: a.annotations["summary"] ?? "", activeAt: a.activeAt, value: GoValue.format(a.value)))
        }
        let history = sampler.history()
        // The ring starts empty: show the seconds there are, not a run of zeros before them.
        func points(_ values: [Double?]) -> [Double] { values.drop { $0 == nil }.map { $0 ?? 0 } }
        m.hostCPU = .init(name: "host", points: points(history.host.mean))
        m.groupCPU = history.groups.map { .init(name: $0.group ?? "", points: points($0.mean)) }
        if let limit = sampler.metrics.cgroupLimit {
            m.cgroupLimit = .init(cores: limit.cores, weight: limit.weight)
        }
        m.stackSampling = stacks.status.rawValue
        m.stackGroups = stacks.groups
        if let last = stacks.lastMinute {
            m.topFunctions = m.stackGroups.map { g in
                let samples = last.aggregate.stacks.reduce(Int64(0)) { $0 + (last.aggregate.labels[Int($1.group)] == g ? $1.count : 0) }
                return .init(
                    group: g, samples: samples,
                    functions: last.topFunctions(10, group: g).map { ($0.name, $0.flat, $0.cumulative) })
            }
        }
        let outbox = notifier.status()
        m.outboxLength = outbox.length
        if let age = outbox.oldestAgeSeconds { m.outboxOldestAge = .seconds(age) }
        for r in outbox.receivers {
            var detail = "\(Int(r.success)) delivered, \(r.pending) pending"
            if let error = r.lastError, !error.isEmpty { detail += ", last error: \(error)" }
            m.receivers.append(.init(name: r.name, detail: detail))
        }
        if remoteWriter.currentSettings != nil {
            m.walBytes = remoteWriter.metrics.walBytes
            m.remoteWrite = remoteWriter.metrics.endpoints.map { e in
                .init(
                    url: e.url, sent: e.sent, pending: e.pending, dropped: e.dropped,
                    lastSent: e.sent > 0 ? WallTime(secondsSinceEpoch: e.highestSentTimestamp) : nil, lastError: e.lastError)
            }
        }
        return m
    }
}

/// Values shown the way Prometheus' UI shows them.
enum GoValue {
    static func format(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return String((v * 1000).rounded() / 1000)
    }
}
