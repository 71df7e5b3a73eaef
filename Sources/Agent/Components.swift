import Config
import Logging
import LookoutCore
import Notify
import Probing
import Profiles
import RemoteWrite
import Rules
import Sampling
import Series

/// The /proc sampler at the configured frequency.
struct SamplingComponent: AgentComponent {
    let name = "sampler"
    let sampler: Sampler
    /// The stack reader's side (it ticks with the sampler).
    let stacks: StackSamplingState

    func run() async throws { try await sampler.run() }

    func apply(_ config: AgentConfig) async {
        sampler.update(settings: config.sampling, groups: config.processes)
        stacks.update(settings: config.sampling, groups: config.processes)
    }
}

/// Health probes and scrapes of the configured targets.
struct ProbingComponent: AgentComponent {
    let name = "prober"
    let prober: Prober

    func run() async throws { try await prober.run() }

    func apply(_ config: AgentConfig) async {
        prober.update(targets: config.targets)
    }
}

/// Alert rules, evaluated where the data is; every round's alerts (firing and resolved) go to the notifier.
struct RulesComponent: AgentComponent {
    let name = "rules"
    let engine: RuleEngine
    let notifier: Notifier

    func run() async throws {
        try await engine.run { [notifier] round in notifier.submit(round) }
    }

    func apply(_ config: AgentConfig) async {
        // Rule files were validated before the reload was accepted.
        _ = engine.update(settings: config.rules, defaultText: AgentConfig.defaultRulesText)
    }
}

/// Notifications to webhooks and Alertmanagers.
struct NotifyComponent: AgentComponent {
    let name = "notifier"
    let notifier: Notifier

    func run() async throws { try await notifier.run() }

    func apply(_ config: AgentConfig) async {
        notifier.update(settings: config.notify)
    }
}

/// remote_write: snapshots of every series into the WAL, one queue per endpoint.
struct RemoteWriteComponent: AgentComponent {
    let name = "remote_write"
    let writer: RemoteWriter

    func run() async throws { try await writer.run() }

    func apply(_ config: AgentConfig) async {
        writer.update(settings: config.remoteWrite)
    }
}

/// `lookout_build_info{version}`, as every Prometheus component exports its build.
func buildInfo() -> MetricFamily {
    .gauge(
        "lookout_build_info", help: "A metric with a constant '1' value labeled by the version lookout was built from.",
        [(Labels(["version": LookoutVersion.version, "buildmode": LookoutVersion.buildMode]), 1)])
}
