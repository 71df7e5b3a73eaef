import HTTPClient
import LookoutCore
import Series

/// The probe and scrape series of DESIGN.md ("Probes and scrapes"). Each endpoint's
/// series are rendered once per result (`EndpointSeries`); a snapshot only concatenates
/// them, so assembling a snapshot costs little more than copying references.
enum ProbeMetrics {
    static let success = "lookout_probe_success"
    static let duration = "lookout_probe_duration_seconds"
    static let latency = "lookout_probe_latency_seconds"
    static let timedOut = "lookout_probe_timed_out"
    static let timeouts = "lookout_probe_timeouts_total"
    static let failures = "lookout_probe_failures_total"
    static let statusCode = "lookout_probe_http_status_code"
    static let circuitOpen = "lookout_probe_circuit_open"
    static let scrapeSamples = "lookout_scrape_samples"
    static let scrapeBodyBytes = "lookout_scrape_body_bytes"
    static let scrapeDuration = "lookout_scrape_duration_seconds"
    static let scrapeValid = "lookout_scrape_valid"
    static let scrapeDuplicates = "lookout_scrape_duplicate_samples_total"
    static let componentUp = "lookout_health_component_up"
    static let componentDuration = "lookout_health_component_duration_seconds"
    static let checksSequential = "lookout_health_checks_sequential"
    static let componentsDropped = "lookout_health_components_dropped_total"

    /// Prometheus' default latency buckets (0.005 … 10, with 0.1, 0.5, 1, 2, 5 for the
    /// alert thresholds) plus 30 s for long timeouts.
    static let latencyBounds: [Double] = HistogramAccumulator.defaultLatencyBounds + [30]

    /// Phases and reasons in the order of their label values, so every family comes out
    /// sorted the way the registry orders series (label pair by label pair).
    static let sortedPhases: [Int] = PhaseTimings().labeled.enumerated().sorted { $0.element.phase < $1.element.phase }.map(\.offset)
    static let sortedReasons: [FailureReason] = FailureReason.allCases.sorted { $0.rawValue < $1.rawValue }
    static let sortedKinds: [EndpointKind] = EndpointKind.allCases.sorted { $0.rawValue < $1.rawValue }

    /// The labels of one endpoint's series, built once.
    struct EndpointLabels: Sendable {
        let kind: EndpointKind
        let base: Labels
        /// By phase, in `sortedPhases` order.
        let phases: [Labels]

        init(target: String, endpoint: EndpointKind) {
            kind = endpoint
            let base = Labels([("endpoint", endpoint.rawValue), ("target", target)])
            self.base = base
            let all = PhaseTimings().labeled
            phases = ProbeMetrics.sortedPhases.map { base.setting("phase", all[$0].phase) }
        }

        func reason(_ r: FailureReason) -> Labels { base.setting("reason", r.rawValue) }
    }

    /// One endpoint's series after its latest result.
    struct EndpointSeries: Sendable {
        var kind: EndpointKind
        var success: Metric
        /// In `sortedPhases` order.
        var durations: [Metric]
        var latency: Metric
        var timedOut: Metric
        var timeouts: Metric
        /// In `sortedReasons` order, nil for reasons that never happened.
        var failures: [Metric?]
        var statusCode: Metric
        var circuitOpen: Metric
        /// From the body's components, when it is read per component.
        var componentUp: [Metric] = []
        var componentDuration: [Metric] = []
        var checksSequential: Metric?
        var componentsDropped: Metric?

        init(
            labels: EndpointLabels, last: ProbeOutcome, latency: HistogramAccumulator, timeouts: Int,
            failures: [FailureReason: Int], circuitOpen: Bool, health: HealthBodyReading? = nil, droppedComponents: Int = 0
        ) {
            kind = labels.kind
            success = Metric(labels: labels.base, last.success ? 1 : 0)
            let phases = last.timings.labeled
            durations = zip(labels.phases, ProbeMetrics.sortedPhases).map { Metric(labels: $0.0, phases[$0.1].seconds) }
            self.latency = Metric(labels: labels.base, value: .histogram(latency.value))
            timedOut = Metric(labels: labels.base, last.timedOut ? 1 : 0)
            self.timeouts = Metric(labels: labels.base, Double(timeouts))
            self.failures = ProbeMetrics.sortedReasons.map { r in failures[r].map { Metric(labels: labels.reason(r), Double($0)) } }
            statusCode = Metric(labels: labels.base, Double(last.status))
            self.circuitOpen = Metric(labels: labels.base, circuitOpen ? 1 : 0)
            if let health {
                for c in health.report?.components ?? [] {
                    let componentLabels = labels.base.setting("component", c.name)
                    componentUp.append(Metric(labels: componentLabels, c.up))
                    if let d = c.durationSeconds { componentDuration.append(Metric(labels: componentLabels, d)) }
                }
                checksSequential = Metric(labels: labels.base, health.sequential?.isSequential == true ? 1 : 0)
            }
            if health != nil || droppedComponents > 0 {
                componentsDropped = Metric(labels: labels.base, Double(droppedComponents))
            }
        }
    }

    struct TargetSeries: Sendable {
        var name: String
        var endpoints: [EndpointSeries]
        /// Samples and decoded body bytes of the last scrape, when the target has a metrics endpoint that was scraped.
        var scrape: TargetStatus.ScrapeStatus?
    }

    /// The families of all targets; `targets` must be sorted by name.
    static func families(_ targets: [TargetSeries]) -> [MetricFamily] {
        var successM: [Metric] = [], durationM: [Metric] = [], latencyM: [Metric] = [], timedOutM: [Metric] = []
        var timeoutsM: [Metric] = [], failuresM: [Metric] = [], statusM: [Metric] = [], circuitM: [Metric] = []
        var samplesM: [Metric] = [], bytesM: [Metric] = [], scrapeDurationM: [Metric] = [], validM: [Metric] = []
        var duplicatesM: [Metric] = []
        var componentUpM: [Metric] = [], componentDurationM: [Metric] = [], sequentialM: [Metric] = []
        var droppedM: [Metric] = []
        let n = targets.reduce(0) { $0 + $1.endpoints.count }
        successM.reserveCapacity(n)
        durationM.reserveCapacity(n * 6)
        latencyM.reserveCapacity(n)
        timedOutM.reserveCapacity(n)
        timeoutsM.reserveCapacity(n)
        statusM.reserveCapacity(n)
        circuitM.reserveCapacity(n)
        // Series sort by endpoint, then phase or reason, then target.
        for kind in sortedKinds {
            let column = targets.compactMap { t in t.endpoints.first { $0.kind == kind } }
            if column.isEmpty { continue }
            for e in column {
                successM.append(e.success)
                latencyM.append(e.latency)
                timedOutM.append(e.timedOut)
                timeoutsM.append(e.timeouts)
                statusM.append(e.statusCode)
                circuitM.append(e.circuitOpen)
                componentUpM += e.componentUp
                componentDurationM += e.componentDuration
                if let m = e.checksSequential { sequentialM.append(m) }
                if let m = e.componentsDropped { droppedM.append(m) }
            }
            for p in sortedPhases.indices {
                for e in column { durationM.append(e.durations[p]) }
            }
            for r in sortedReasons.indices {
                for e in column { if let m = e.failures[r] { failuresM.append(m) } }
            }
        }
        for t in targets {
            if let s = t.scrape {
                let labels = Labels([("target", t.name)])
                samplesM.append(Metric(labels: labels, Double(s.samples)))
                bytesM.append(Metric(labels: labels, Double(s.bodyBytes)))
                scrapeDurationM.append(Metric(labels: labels, s.durationSeconds))
                validM.append(Metric(labels: labels, s.valid ? 1 : 0))
                duplicatesM.append(Metric(labels: labels, Double(s.duplicateSamplesTotal)))
            }
        }
        // In name order, as the registry sorts them anyway.
        return [
            MetricFamily(
                name: checksSequential,
                help: "1 when the components of the last health body reported times adding up to the whole check's: they ran one after another.",
                type: .gauge, metrics: sequentialM),
            MetricFamily(
                name: componentDuration, help: "The time a component's check took, as the last health body reported it.",
                type: .gauge, unit: "seconds", metrics: componentDurationM),
            MetricFamily(
                name: componentUp, help: "A component of the last health body: 1 up or pass, 0.5 warn or unknown, 0 down or fail.",
                type: .gauge, metrics: componentUpM),
            MetricFamily(
                name: componentsDropped,
                help: "Components of health bodies left out: past the limit of \(HealthBodyParser.defaultComponentLimit) per body, unnamed or named twice.",
                type: .counter, metrics: droppedM),
            MetricFamily(
                name: circuitOpen, help: "1 while the endpoint's circuit breaker is open (probed once per minute).",
                type: .gauge, metrics: circuitM),
            MetricFamily(
                name: duration,
                help: "Duration of the last probe by phase (resolve, connect, tls, processing, transfer, total).",
                type: .gauge, unit: "seconds", metrics: durationM),
            MetricFamily(
                name: failures, help: "Failed probes by reason (timeout, connect, dns, tls, status, body, limit, other).",
                type: .counter, metrics: failuresM),
            MetricFamily(
                name: statusCode, help: "HTTP status of the last probe; 0 when no answer arrived.", type: .gauge,
                metrics: statusM),
            MetricFamily(
                name: latency, help: "Total duration of probes, timeouts and failures included.", type: .histogram,
                unit: "seconds", metrics: latencyM),
            MetricFamily(name: success, help: "1 if the last probe succeeded, else 0.", type: .gauge, metrics: successM),
            MetricFamily(name: timedOut, help: "1 if the last probe timed out, else 0.", type: .gauge, metrics: timedOutM),
            MetricFamily(name: timeouts, help: "Probes that timed out.", type: .counter, metrics: timeoutsM),
            MetricFamily(
                name: scrapeBodyBytes, help: "Decoded size of the last scraped exposition body.", type: .gauge,
                unit: "bytes", metrics: bytesM),
            MetricFamily(
                name: scrapeDuplicates,
                help: "Scraped samples skipped because their series was already in the body (the first is kept, as Prometheus keeps it).",
                type: .counter, metrics: duplicatesM),
            MetricFamily(
                name: scrapeDuration,
                help: "Duration of the last scrape: the request and the parsing of its body, as Prometheus' scrape_duration_seconds.",
                type: .gauge, unit: "seconds", metrics: scrapeDurationM),
            MetricFamily(
                name: scrapeSamples, help: "Samples in the last scrape (0 when it failed).", type: .gauge, metrics: samplesM),
            MetricFamily(
                name: scrapeValid,
                help: "1 if the last scraped body parsed; 0 if it did not (nothing ingested; the reason and line are in /api/v1/targets).",
                type: .gauge, metrics: validM),
        ].filter { !$0.metrics.isEmpty }
    }
}
