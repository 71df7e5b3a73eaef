import Logging
import LookoutCore
import Synchronization
import Testing

@testable import Series

/// Scraped targets as a prober publishes them: set by the test, one generation per scrape.
final class FakeScrapes: ScrapedMetricsSource {
    private let state = Mutex<(version: UInt64, targets: [ScrapedTarget])>((0, []))

    /// A new scrape of `target` (added at the end if new).
    func scrape(_ target: String, _ families: [MetricFamily]) {
        state.withLock { s in
            s.version += 1
            let t = ScrapedTarget(name: target, generation: s.version, families: families)
            if let i = s.targets.firstIndex(where: { $0.name == target }) { s.targets[i] = t } else { s.targets.append(t) }
        }
    }

    func remove(_ target: String) {
        state.withLock { s in
            s.version += 1
            s.targets.removeAll { $0.name == target }
        }
    }

    func scrapedTargets() -> (version: UInt64, targets: [ScrapedTarget]) { state.withLock { $0 } }
}

/// Log lines, captured.
final class LogLines: Sendable {
    let lines = Mutex<[String]>([])
    var logger: Logger {
        Logger(label: "scrape") { label in
            LogfmtHandler(label: label, level: .info) { line in self.lines.withLock { $0.append(line) } }
        }
    }
    var all: [String] { lines.withLock { $0 } }
}

@Suite struct DroppedFamiliesTests {
    let scrapes = FakeScrapes()
    let log = LogLines()

    func registry(own: [MetricFamily] = []) -> Registry {
        Registry([SnapshotBox(own)], scraped: [scrapes], logger: log.logger)
    }

    func dropped(_ families: [MetricFamily]) -> [String: Double] {
        guard let f = families.first(where: { $0.name == "lookout_scrape_dropped_families_total" }) else { return [:] }
        #expect(f.type == .counter)
        return Dictionary(uniqueKeysWithValues: f.metrics.map { ("\($0.labels["target"]!)/\($0.labels["reason"]!)", $0.value.singleValue!) })
    }

    func gauge(_ name: String, _ target: String, _ v: Double = 1) -> MetricFamily {
        .gauge(name, help: "", [(Labels(["target": target]), v)])
    }

    func counter(_ name: String, _ target: String, _ v: Double = 1) -> MetricFamily {
        .counter(name, help: "", [(Labels(["target": target]), v)])
    }

    @Test func nothingDroppedNothingAdded() {
        let r = registry(own: [.gauge("lookout_build_info", help: "", [([:], 1)])])
        scrapes.scrape("a", [gauge("jobs", "a")])
        scrapes.scrape("b", [gauge("jobs", "b")])
        let families = r.gather()
        #expect(families.map(\.name) == ["jobs", "lookout_build_info"])
        #expect(families[0].metrics.count == 2)
        #expect(log.all.isEmpty)
    }

    /// Two targets exposing one name with different types: the later target's family goes,
    /// counted once per scrape however often the exposition is read, and logged once.
    @Test func aTypeConflictBetweenTargetsIsCountedOncePerScrape() {
        let r = registry()
        scrapes.scrape("a", [gauge("jobs", "a")])
        scrapes.scrape("b", [counter("jobs", "b"), gauge("other", "b")])
        let families = r.gather()
        #expect(families.first { $0.name == "jobs" }?.type == .gauge)
        #expect(families.contains { $0.name == "other" })
        #expect(dropped(families) == ["b/type_conflict": 1])
        #expect(dropped(r.gather()) == ["b/type_conflict": 1])
        // Another scrape of a: b's family was not scraped again.
        scrapes.scrape("a", [gauge("jobs", "a", 2)])
        #expect(dropped(r.gather()) == ["b/type_conflict": 1])
        // Another scrape of b: dropped again.
        scrapes.scrape("b", [counter("jobs", "b", 2)])
        #expect(dropped(r.gather()) == ["b/type_conflict": 2])
        let warnings = log.all.filter { $0.contains("level=warn") }
        #expect(warnings.count == 1)
        #expect(warnings.first?.contains("target=b") == true)
        #expect(warnings.first?.contains("reason=type_conflict") == true)
        #expect(warnings.first?.contains("family=jobs") == true)
    }

    /// A target cannot write into lookout's namespace: its `lookout_*` families are not
    /// exposed (so no rule reads them) and are counted.
    @Test func scrapedFamiliesInLookoutsNamespaceAreDropped() {
        let r = registry(own: [.gauge("lookout_probe_timed_out", help: "", [(["target": "x", "endpoint": "live"], 0)])])
        scrapes.scrape(
            "evil",
            [
                .gauge("lookout_probe_timed_out", help: "", [(["target": "evil", "endpoint": "fake"], 1)]),
                gauge("lookout_brand_new", "evil"), gauge("fine", "evil"),
            ])
        let families = r.gather()
        #expect(families.map(\.name) == ["fine", "lookout_probe_timed_out", "lookout_scrape_dropped_families_total"])
        #expect(families[1].metrics.map(\.labels) == [["target": "x", "endpoint": "live"]])
        #expect(dropped(families) == ["evil/reserved_name": 2])
        #expect(log.all.filter { $0.contains("reason=reserved_name") }.count == 1)
    }

    /// A scraped family that clashes with one of the agent's own goes, counted for every target
    /// whose series it held; a name clash is told apart from a type clash.
    @Test func clashesWithTheAgentsOwnFamilies() {
        let r = registry(own: [counter("process_cpu_seconds_total", "self")])
        scrapes.scrape("a", [gauge("process_cpu_seconds_total", "a"), gauge("process_cpu_seconds", "a")])
        scrapes.scrape("b", [gauge("process_cpu_seconds_total", "b")])
        let families = r.gather()
        #expect(families.first { $0.name == "process_cpu_seconds_total" }?.metrics.count == 1)
        #expect(!families.contains { $0.name == "process_cpu_seconds" })
        #expect(dropped(families) == ["a/type_conflict": 1, "a/name_conflict": 1, "b/type_conflict": 1])
        #expect(dropped(r.gather()) == ["a/type_conflict": 1, "a/name_conflict": 1, "b/type_conflict": 1])
        // Same name and type: merged, not dropped.
        scrapes.scrape("a", [])
        scrapes.scrape("b", [counter("process_cpu_seconds_total", "b")])
        let merged = r.gather()
        #expect(merged.first { $0.name == "process_cpu_seconds_total" }?.metrics.count == 2)
        #expect(dropped(merged)["b/type_conflict"] == 1)
        #expect(log.all.filter { $0.contains("level=warn") }.count == 3)
    }

    @Test func aRemovedTargetTakesItsCountsWithIt() {
        let r = registry()
        scrapes.scrape("a", [gauge("jobs", "a")])
        scrapes.scrape("b", [counter("jobs", "b")])
        #expect(dropped(r.gather()) == ["b/type_conflict": 1])
        scrapes.remove("b")
        let families = r.gather()
        #expect(dropped(families).isEmpty)
        #expect(families.map(\.name) == ["jobs"])
        // Back again: counted from the start and told again.
        scrapes.scrape("b", [counter("jobs", "b")])
        #expect(dropped(r.gather()) == ["b/type_conflict": 1])
        #expect(log.all.filter { $0.contains("level=warn") }.count == 2)
    }
}
