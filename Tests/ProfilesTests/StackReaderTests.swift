#if canImport(Glibc)
import Glibc
#endif
import LookoutCore
import ProcFS
import Sampling
import Series
import Testing

@testable import Profiles

/// The stack reader on a real sampler's ticks: it follows the groups' selection, feeds the
/// recorder, exports its series and turns off on a reload.
@Suite(.serialized) struct StackReaderHeavyTests {
    static func value(_ families: [MetricFamily], _ name: String, _ labels: [String: String] = [:]) -> Double? {
        families.first { $0.name == name }?.metrics.first { $0.labels == Labels(labels) }?.value.singleValue
    }

    @Test func samplesTheStackSampledGroupsAndStopsOnReload() async throws {
        let busy = try await LiveProfileTimingTests.Busy("burn", "sr", threads: 1)
        let settings = SamplerSettings()
        let groups = [
            ProcessGroupSettings(name: "svc", selector: .pid(busy.pid)),
            ProcessGroupSettings(name: "quiet", selector: .pid(getpid()), stacks: false),
        ]
        let recorder = ProfileRecorder()
        let reader = StackReader(settings: settings, groups: groups, recorder: recorder)
        let state = reader.state
        let sampler = Sampler(settings: settings, groups: groups, procfs: try ProcFS(), reporters: [recorder], readers: [reader])
        let recording = try recorder.start(.cpu)
        // Ticks until the busy thread's samples arrive (the first drains load symbol tables).
        var samples = 0.0
        for _ in 0..<600 where samples < 5 {
            await sampler.tick()
            usleep(50_000)
            samples = Self.value(state.collect(), StackMetricNames.samples, ["group": "svc"]) ?? 0
        }
        #expect(samples >= 5)
        #expect(state.status == .active)
        #expect(recorder.stackSamplingActive)
        #expect(state.groups == ["svc"])
        let families = state.collect()
        #expect(Self.value(families, StackMetricNames.stackSampling, ["status": "active"]) == 1)
        #expect(Self.value(families, StackMetricNames.stackSampling, ["status": "denied"]) == 0)
        #expect(Self.value(families, StackMetricNames.samples, ["group": "quiet"]) == nil)
        #expect(Self.value(families, StackMetricNames.lostSamples) != nil)
        #expect(Self.value(families, StackMetricNames.unwindFailures, ["reason": "truncated"]) != nil)
        #expect((Self.value(families, StackMetricNames.symbolCacheBytes) ?? 0) > 0)

        // The running recording got real stacks of the busy thread, none of the agent's own.
        let profile = try #require(recorder.stop(recording))
        let stacks = try #require(profile.stacks)
        #expect(stacks.aggregate.samples > 0)
        #expect(stacks.topFunctions(1, group: "svc").first?.name == "burn", "\(stacks.topFunctions(5))")
        #expect(stacks.aggregate.labels.contains("svc") && !stacks.aggregate.labels.contains("quiet"))
        #expect(profile.folded().split(separator: "\n").allSatisfy { $0.hasPrefix("svc;pid \(busy.pid);sr-a;") })

        // A reload without stacks stops the engine; the counters stay.
        var off = settings
        off.stacks = false
        state.update(settings: off, groups: groups)
        await sampler.tick()
        #expect(state.status == .off)
        #expect(!recorder.stackSamplingActive)
        #expect((Self.value(state.collect(), StackMetricNames.samples, ["group": "svc"]) ?? 0) >= samples)
        let later = try recorder.start(.cpu)
        await sampler.tick()
        #expect(recorder.stop(later)?.stacks == nil)
    }
}

@Suite struct StackMetricsFilterTests {
    /// A gather that names one of the stack sampler's families gets it; one that names none
    /// renders nothing.
    @Test func eachFamilyComesThroughAFilterOfItsName() {
        let state = StackReader(settings: SamplerSettings(), groups: [], recorder: ProfileRecorder()).state
        let families = state.collect()
        #expect(families.count == StackMetricNames.all.count)
        for f in families {
            #expect(state.collect(matching: FamilyNameFilter(names: [f.name])) == [f])
        }
        #expect(state.collect(matching: FamilyNameFilter(names: ["process_cpu_seconds_total"])).isEmpty)
    }
}
