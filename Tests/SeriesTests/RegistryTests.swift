import Exposition
import Testing

@testable import Series

/// A histogram of `observations` over a few latency buckets.
func histogram(_ observations: [Double]) -> HistogramValue {
    var acc = HistogramAccumulator(upperBounds: [0.005, 0.1, 1, 2.5])
    for o in observations { acc.observe(o) }
    return acc.value
}

@Suite struct RegistryTests {
    @Test func mergesSameNameAndTypeAndSortsEverything() {
        let a = SnapshotBox([
            .counter("process_cpu_seconds_total", help: "", [(["src": "agent"], 1)]),
            .gauge("zeta", help: "z", [([:], 1)]),
        ])
        let b = SnapshotBox([
            .counter("process_cpu_seconds_total", help: "CPU.", unit: "seconds", [(["src": "api"], 2), (["src": "agent"], 9)]),
            .gauge("alpha", help: "a", [([:], 1)]),
        ])
        let families = Registry([a, b]).gather()
        #expect(families.map(\.name) == ["alpha", "process_cpu_seconds_total", "zeta"])
        let cpu = families[1]
        #expect(cpu.help == "CPU.")
        #expect(cpu.unit == "seconds")
        // The first source wins a duplicate series.
        #expect(cpu.metrics.map { $0.labels["src"]! } == ["agent", "api"])
        #expect(cpu.metrics[0].value.singleValue == 1)
    }

    /// One source alone with unsorted or repeated series: the exposition must still be
    /// sorted and free of duplicates (the merge used to sort only families it had combined).
    @Test func sortsAndDeduplicatesASingleSource() {
        let box = SnapshotBox([
            .gauge("g", help: "", [(["i": "2"], 2), (["i": "1"], 1), (["i": "2"], 3)])
        ])
        let families = Registry([box]).gather()
        #expect(families[0].metrics.map { $0.labels["i"]! } == ["1", "2"])
        #expect(families[0].metrics[1].value.singleValue == 2)
        // And the exposition parses: no duplicate series.
        #expect((try? ScrapeParser.parse(TextEncoder.encode(families), format: .text)) != nil)
    }

    @Test func conflictingTypeKeepsTheFirstSource() {
        let families = Registry.merge([
            .gauge("x", help: "", [([:], 1)]),
            .counter("x", help: "", [([:], 2)]),
        ])
        #expect(families.count == 1 && families[0].type == .gauge)
    }

    /// Families whose samples would collide in the exposition, or whose OpenMetrics names
    /// are the same, cannot both be exposed; the earlier source keeps its family.
    @Test func clashingExposedNamesKeepTheFirst() throws {
        let h = histogram([1])
        let families = Registry.merge([
            .histogram("http_latency", help: "", [(Labels.empty, h)]),
            .gauge("http_latency_count", help: "", [([:], 5)]),
            .counter("jobs_total", help: "", [([:], 1)]),
            .gauge("jobs", help: "", [([:], 1)]),
            .gauge("queue", help: "", [([:], 1)]),
            MetricFamily(name: "queue_info", help: "", type: .info, metrics: [Metric(labels: [:], 1)]),
            MetricFamily(name: "db", help: "", type: .summary, metrics: []),
            .gauge("db_sum", help: "", [([:], 1)]),
        ])
        #expect(families.map(\.name) == ["db", "http_latency", "jobs_total", "queue"])
        // What is left parses in both formats.
        _ = try ScrapeParser.parse(TextEncoder.encode(families), format: .text)
        _ = try ScrapeParser.parse(OpenMetricsEncoder.encode(families), format: .openMetrics)
    }

    @Test func withoutTheClashCheckOpenMetricsWouldBeInvalid() {
        // Why the check exists: these two families give two OpenMetrics families "jobs".
        let both: [MetricFamily] = [.counter("jobs_total", help: "", [([:], 1)]), .gauge("jobs", help: "", [([:], 1)])]
        #expect(throws: ScrapeError.self) { try ScrapeParser.parse(OpenMetricsEncoder.encode(both), format: .openMetrics) }
        #expect(Registry.merge(both).count == 1)
    }

    @Test func openMetricsReservedNamesClashToo() throws {
        let families = Registry.merge([
            .counter("jobs_total", help: "", [([:], 1)]),
            .gauge("jobs_created", help: "", [([:], 1)]),
            .counter("tasks", help: "", [([:], 1)]),
            .gauge("tasks_total", help: "", [([:], 1)]),
            MetricFamily(name: "build", help: "", type: .info, metrics: [Metric(labels: [:], 1)]),
            .gauge("build_info", help: "", [([:], 1)]),
        ])
        #expect(families.map(\.name) == ["build", "jobs_total", "tasks"])
        _ = try ScrapeParser.parse(OpenMetricsEncoder.encode(families), format: .openMetrics)
    }

    @Test func unregister() {
        let r = Registry()
        let id = r.register(SnapshotBox([.gauge("a", help: "", [([:], 1)])]))
        r.register(ClosureSource { [.gauge("b", help: "", [([:], 1)])] })
        #expect(r.gather().map(\.name) == ["a", "b"])
        r.unregister(id)
        #expect(r.gather().map(\.name) == ["b"])
    }
}

@Suite struct RelabelTests {
    @Test func addsTheLabelAndKeepsTheTargetsOwnAsExported() {
        let families: [MetricFamily] = [
            .gauge("up", help: "", [
                (["instance": "a"], 1),
                (["target": "theirs", "instance": "b"], 1),
                (["target": "theirs", "exported_target": "older"], 1),
                (["target": ""], 1),
            ])
        ]
        let out = relabel(families, adding: ("target", "api"))
        let labels = out[0].metrics.map(\.labels)
        #expect(labels[0] == ["instance": "a", "target": "api"])
        #expect(labels[1] == ["instance": "b", "exported_target": "theirs", "target": "api"])
        #expect(labels[2] == ["exported_target": "older", "exported_exported_target": "theirs", "target": "api"])
        #expect(labels[3] == ["target": "api"])
        #expect(out[0].metrics.allSatisfy { $0.value == .single(1) })
    }

    @Test func histogramsKeepTheirBuckets() {
        let h = histogram([0.2, 3])
        let out = relabel([.histogram("lat", help: "", [(Labels(["target": "x"]), h)])], adding: ("target", "api"))
        #expect(out[0].metrics[0].value == .histogram(h))
        #expect(out[0].metrics[0].labels == ["exported_target": "x", "target": "api"])
    }
}
