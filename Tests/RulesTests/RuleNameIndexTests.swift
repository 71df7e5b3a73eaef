import LookoutCore
import Series
import Synchronization
import TestSupport
import Testing

@testable import Rules

/// The families a rules round gathers: the names the loaded rules' selectors and literal
/// template queries can read, or every family when one of them can read any.
@Suite struct RuleNameIndexTests {
    func rules(_ body: String) -> String {
        "groups:\n  - name: g\n    rules:\n" + body
    }

    func filter(_ text: String) throws -> FamilyNameFilter {
        let (groups, diagnostics) = RuleFileLoader.parse(text: text, file: "r.yml")
        #expect(diagnostics.isEmpty, "\(diagnostics)")
        try #require(!groups.isEmpty)
        return RuleNameIndex.filter(groups)
    }

    @Test func exactNamesOfEverySelector() throws {
        let f = try filter(
            rules(
                """
                      - alert: A
                        expr: rate(http_requests_total{code="500"}[5m]) > 0 and on() max_over_time(up[1m]) == 1
                      - record: job:latency:p99
                        expr: histogram_quantile(0.99, sum by (le) (rate(latency_seconds_bucket[5m])))
                      - alert: B
                        expr: '{__name__="queue_length"} > 5 unless sum_over_time(errors[10m:1m]) > 0'
                """))
        for name in ["http_requests_total", "http_requests", "up", "latency_seconds", "latency_seconds_bucket", "queue_length", "errors"] {
            #expect(f.accepts(name), "\(name)")
        }
        for name in ["http", "latency", "job:latency:p99", "unrelated", "lookout_build_info"] {
            #expect(!f.accepts(name), "\(name)")
        }
    }

    @Test func regexesOfAlternativesNameTheirNames() throws {
        let f = try filter(rules("      - alert: A\n        expr: '{__name__=~\"cpu_seconds_total|mem_bytes\"} > 0'\n"))
        #expect(f.accepts("cpu_seconds_total"))
        #expect(f.accepts("mem_bytes"))
        #expect(!f.accepts("disk_bytes"))
        #expect(!f.acceptsAll)
    }

    @Test(arguments: [
        "'{__name__=~\"cpu_.*\"} > 0'",
        "'{__name__!=\"cpu\", job=\"x\"} > 0'",
        "'{__name__!~\"cpu\", job=\"x\"} > 0'",
        "'{job=\"x\"} > 0'",
        "'count({instance=~\".+\"}) > 0 and up == 1'",
    ])
    func selectorsWithoutAnExactNameReadEverything(_ expr: String) throws {
        #expect(try filter(rules("      - alert: A\n        expr: \(expr)\n")).acceptsAll)
    }

    @Test func literalTemplateQueriesAreIndexed() throws {
        let f = try filter(
            rules(
                """
                      - alert: A
                        expr: x > 1
                        labels:
                          peer: '{{ query "peer_load_total" | first | value }}'
                        annotations:
                          avg: '{{ "avg_over_time(peer_latency_seconds_sum[2m])" | query | first | value }}'
                """))
        #expect(f.accepts("x"))
        #expect(f.accepts("peer_load_total"))
        #expect(f.accepts("peer_latency_seconds"))
        #expect(!f.accepts("other"))
        #expect(!f.acceptsAll)
    }

    @Test(arguments: [
        "'{{ query (printf \"peer_load{i=%q}\" $labels.i) }}'",
        "'{{ with $q := \"up\" }}{{ query $q }}{{ end }}'",
        "'{{ printf \"up\" | query }}'",
    ])
    func nonLiteralTemplateQueriesReadEverything(_ template: String) throws {
        let text = rules("      - alert: A\n        expr: x > 1\n        annotations:\n          q: \(template)\n")
        #expect(try filter(text).acceptsAll)
    }

    @Test func theEngineIndexesWhatItLoadsAndReloads() {
        let engine = RuleEngine(clock: ManualClock())
        #expect(!engine.familyFilter.accepts("x"))
        #expect(engine.load(text: rules("      - alert: A\n        expr: x > 1\n"), file: "r.yml").isEmpty)
        #expect(engine.familyFilter.accepts("x"))
        #expect(!engine.familyFilter.accepts("y"))
        #expect(engine.load(text: rules("      - alert: A\n        expr: y > 1\n"), file: "r.yml").isEmpty)
        #expect(!engine.familyFilter.accepts("x"))
        #expect(engine.familyFilter.accepts("y"))
        // A bad file changes nothing.
        #expect(!engine.load(text: rules("      - alert: A\n        expr: z >\n"), file: "r.yml").isEmpty)
        #expect(engine.familyFilter.accepts("y"))
        // Unit tests keep every series, so they read every family.
        let everything = RuleEngine(clock: ManualClock(), options: RuleEngine.Options(retainEverything: true))
        #expect(everything.familyFilter.acceptsAll)
        #expect(everything.load(text: rules("      - alert: A\n        expr: x > 1\n"), file: "r.yml").isEmpty)
        #expect(everything.familyFilter.acceptsAll)
    }

    /// The run loop over a registry: the default rules fire on the probe source's families,
    /// the round gathers only the families they read (the other source renders nothing),
    /// and a reload gathers what the new rules read.
    @Test func theRunLoopGathersWhatTheRulesRead() async throws {
        final class Other: MetricsSource {
            let asked = Mutex<[FamilyNameFilter]>([])
            let depth = Mutex(3.0)
            func collect() -> [MetricFamily] {
                [.gauge("queue_depth", help: "", [(Labels.empty, depth.withLock { $0 })]), .gauge("unrelated", help: "", [(Labels.empty, 1)])]
            }
            func collect(matching filter: FamilyNameFilter) -> [MetricFamily] {
                asked.withLock { $0.append(filter) }
                return collect().filter { filter.accepts($0.name) }
            }
        }
        let clock = ManualClock()
        let board = ProbeBoard()
        let other = Other()
        let registry = Registry([ClosureSource { board.families() }, other])
        let engine = RuleEngine(clock: clock, gatherMatching: { registry.gather(matching: $0) })
        #expect(engine.load(text: RuleEngineTests.defaultRules, file: "lookout.rules.yml").isEmpty)
        let task = Task { try await engine.run() }
        defer { task.cancel() }
        #expect(await clock.waitForSleepers(1))

        board.set("api", Probe(duration: 3))
        await stepRunLoop(clock)
        #expect(engine.alerts.filter { $0.state == .firing }.map { $0.labels["alertname"] } == ["TargetSlow"])
        let asked = other.asked.withLock { $0 }
        #expect(!asked.isEmpty && asked.allSatisfy { !$0.acceptsAll && !$0.accepts("queue_depth") && $0.accepts("lookout_probe_success") })
        #expect(engine.historySamples(["__name__": "unrelated_metric", "x": "1"]).isEmpty)

        #expect(
            engine.load(text: rules("      - alert: Deep\n        expr: queue_depth > 2\n"), file: "deep.yml").isEmpty)
        #expect(engine.familyFilter.accepts("queue_depth"))
        #expect(!engine.familyFilter.accepts("lookout_probe_success"))
        await stepRunLoop(clock)
        #expect(engine.alerts.filter { $0.state == .firing }.map { $0.labels["alertname"] } == ["Deep"])
        #expect(other.asked.withLock { $0.last?.accepts("queue_depth") } == true)
        other.depth.withLock { $0 = 1 }
        await stepRunLoop(clock)
        #expect(engine.alerts.isEmpty)
    }
}
