import Synchronization
import Testing

@testable import Series

/// A source that counts its collections and what it was asked for.
final class CountingSource: MetricsSource {
    let families: [MetricFamily]
    let collections = Mutex(0)

    init(_ families: [MetricFamily]) { self.families = families }

    func collect() -> [MetricFamily] {
        collections.withLock { $0 += 1 }
        return families
    }
}

/// `Registry.gather(matching:)`: the full gather restricted to the filter, whatever the
/// merge keeps, combines or drops, and the same drop accounting.
@Suite struct FilteredGatherTests {
    func gauge(_ name: String, _ labels: Labels = .empty, _ v: Double = 1) -> MetricFamily {
        .gauge(name, help: "", [(labels, v)])
    }

    func counter(_ name: String, _ labels: Labels = .empty, _ v: Double = 1) -> MetricFamily {
        .counter(name, help: "", [(labels, v)])
    }

    func histogramFamily(_ name: String, _ labels: Labels = .empty) -> MetricFamily {
        .histogram(name, help: "", [(labels, histogram([0.1, 2]))])
    }

    @Test func rootsStripEveryExpositionSuffix() {
        #expect(FamilyNameFilter.root(of: "a_sum_count") == "a")
        #expect(FamilyNameFilter.root(of: "http_requests_total") == "http_requests")
        #expect(FamilyNameFilter.root(of: "x_gsum") == "x")
        #expect(FamilyNameFilter.root(of: "x_gcount") == "x")
        #expect(FamilyNameFilter.root(of: "build_info") == "build")
        #expect(FamilyNameFilter.root(of: "up") == "up")
        #expect(FamilyNameFilter.root(of: "_total") == "_total")
        #expect(FamilyNameFilter.root(of: "x_total_total_count") == "x")
        // UTF-8 names (quoted in the exposition): the suffixes are cut at their bytes.
        #expect(FamilyNameFilter.root(of: "délai_sum") == "délai")
        #expect(FamilyNameFilter.root(of: "x_totalé") == "x_totalé")
        #expect(FamilyNameFilter.root(of: "x_tota\u{301}l_count") == "x_tota\u{301}l")
        let f = FamilyNameFilter(names: ["latency_seconds_bucket", "jobs_total"])
        #expect(f.accepts("latency_seconds"))
        #expect(f.accepts("latency_seconds_count"))
        #expect(f.accepts("jobs"))
        #expect(f.accepts("jobs_total"))
        #expect(!f.accepts("latency"))
        #expect(!f.accepts("other"))
        #expect(!FamilyNameFilter.none.accepts("up"))
        #expect(FamilyNameFilter.all.accepts("up"))
        #expect(f.union(.none) == f)
        #expect(f.union(.all).acceptsAll)
    }

    /// Own and scraped sources whose families combine, clash by type, clash by exposed
    /// name (through families the filter does not name), and use lookout's namespace.
    func sources() -> (own: [CountingSource], scrapes: FakeScrapes) {
        let first = CountingSource([
            gauge("temperature", ["room": "a"]),
            counter("process_cpu_seconds_total", .empty, 7),
            // A gauge that takes `rpc_duration_seconds_count` from the scraped histogram.
            gauge("rpc_duration_seconds_count"),
            // An own gauge `queue` makes the scraped counter `queue` go (type conflict).
            gauge("queue"),
            gauge("unrelated_own"),
        ])
        let second = CountingSource([
            gauge("temperature", ["room": "b"]),
            // The same name and another type as an earlier own family: left out.
            counter("rpc_duration_seconds_count"),
        ])
        let scrapes = FakeScrapes()
        scrapes.scrape("t1", [
            counter("process_cpu_seconds_total", ["target": "t1"], 3),
            histogramFamily("rpc_duration_seconds", ["target": "t1"]),
            counter("queue", ["target": "t1"]),
            gauge("lookout_probe_success", ["target": "t1"]),
            gauge("jobs", ["target": "t1"]),
            gauge("unrelated_scraped", ["target": "t1"]),
        ])
        scrapes.scrape("t2", [
            // Another type than t1's `jobs`: left out.
            counter("jobs", ["target": "t2"]),
            gauge("jobs_info", ["target": "t2"]),
            gauge("temperature", ["target": "t2"]),
        ])
        return ([first, second], scrapes)
    }

    static let filters: [FamilyNameFilter] = [
        FamilyNameFilter(names: ["temperature"]),
        FamilyNameFilter(names: ["rpc_duration_seconds_bucket"]),
        FamilyNameFilter(names: ["rpc_duration_seconds_count", "queue"]),
        FamilyNameFilter(names: ["queue"]),
        FamilyNameFilter(names: ["jobs", "lookout_scrape_dropped_families_total"]),
        FamilyNameFilter(names: ["lookout_probe_success", "process_cpu_seconds_total"]),
        FamilyNameFilter(names: ["absent"]),
        .none, .all,
    ]

    @Test(arguments: filters)
    func filteredGatherIsTheFullGatherRestricted(_ filter: FamilyNameFilter) {
        let (own, scrapes) = sources()
        let full = Registry(own, scraped: [scrapes]).gather()
        // A fresh registry for each, so both count the drops.
        let filtered = Registry(own, scraped: [scrapes]).gather(matching: filter)
        #expect(filtered == full.filter { filter.accepts($0.name) })
        // And again once the drops are counted.
        let r = Registry(own, scraped: [scrapes])
        _ = r.gather(matching: filter)
        #expect(r.gather(matching: filter) == full.filter { filter.accepts($0.name) })
        #expect(r.gather() == full)
    }

    /// A clash that depends on families the filter does not name directly comes out as the
    /// full gather decides it.
    @Test func clashesThroughUnnamedFamiliesAreKept() throws {
        let (own, scrapes) = sources()
        let r = Registry(own, scraped: [scrapes])
        let families = r.gather(matching: FamilyNameFilter(names: ["rpc_duration_seconds_bucket", "queue"]))
        // The scraped histogram is left out for the own `rpc_duration_seconds_count` gauge,
        // the scraped counter `queue` for the own gauge `queue`.
        #expect(families.map(\.name) == ["queue", "rpc_duration_seconds_count"])
        #expect(families.map(\.type) == [.gauge, .gauge])
    }

    /// Drops are counted, and the first one logged, the same whether the rounds gather all
    /// families or only a few, and however the two interleave.
    @Test func dropsAreCountedTheSameWithAFilter() throws {
        func run(_ filter: FamilyNameFilter) -> (counts: [String: Double], log: [String]) {
            let (own, scrapes) = sources()
            let log = LogLines()
            let r = Registry(own, scraped: [scrapes], logger: log.logger)
            _ = r.gather(matching: filter)
            _ = r.gather(matching: filter)
            scrapes.scrape("t2", [counter("jobs", ["target": "t2"])])
            _ = r.gather(matching: filter)
            let families = r.gather()
            let f = families.first { $0.name == Registry.droppedFamiliesName }
            let counts = Dictionary(
                uniqueKeysWithValues: (f?.metrics ?? []).map { ("\($0.labels["target"]!)/\($0.labels["reason"]!)", $0.value.singleValue!) })
            // Without the time stamp.
            return (counts, log.all.map { String($0.drop { $0 != " " }) })
        }
        let expected = run(.all)
        #expect(expected.counts == ["t1/name_conflict": 1, "t1/type_conflict": 1, "t1/reserved_name": 1, "t2/type_conflict": 2])
        #expect(expected.log.count == 4)
        for filter in [FamilyNameFilter.none, FamilyNameFilter(names: ["temperature"])] {
            let got = run(filter)
            #expect(got.counts == expected.counts)
            #expect(got.log == expected.log)
        }
    }

    /// Sources are collected only as far as the filter needs, and a source that renders on
    /// demand sees the filter.
    @Test func sourcesAreAskedWithTheFilter() {
        final class Recording: MetricsSource {
            let asked = Mutex<[FamilyNameFilter]>([])
            func collect() -> [MetricFamily] { [] }
            func collect(matching filter: FamilyNameFilter) -> [MetricFamily] {
                asked.withLock { $0.append(filter) }
                return []
            }
        }
        let source = Recording()
        let r = Registry([source])
        let filter = FamilyNameFilter(names: ["up"])
        #expect(r.gather(matching: filter).isEmpty)
        #expect(source.asked.withLock { $0 } == [filter])
    }
}
