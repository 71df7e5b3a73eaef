import LookoutCore
import Sampling
import TestSupport
import Testing

/// Selectors run RE2: a pattern that backtracks for ages elsewhere costs a linear scan.
@Suite struct RegexSelectorTests {
    @Test func backtrackingPatternOnALongCommandLine() async throws {
        let fake = FakeProc()
        fake.setStat([SamplerFixtureTests.idleCPU, SamplerFixtureTests.idleCPU])
        let a = String(repeating: "a", count: 10_000)
        var hostile = FakeProc.Process(pid: 700, comm: "aaaaaaaaaaaaaab")
        hostile.cmdline = [a + "b"]
        hostile.utime = 3
        fake.addProcess(hostile)
        var plain = FakeProc.Process(pid: 701, comm: "aaaaaaaaaaaaaaa")
        plain.cmdline = [a]
        plain.utime = 5
        fake.addProcess(plain)
        let evil = try AnchoredRegex("(a+)+$")
        let sampler = Sampler(
            groups: [.init(name: "cmd", selector: .cmdline(evil)), .init(name: "comm", selector: .comm(evil))],
            procfs: try fakeProcFS(fake), clock: ManualClock())
        await sampler.tick()
        #expect(sampler.isReady)
        let m = sampler.metrics.collect()
        // Only the process whose command line (or name) is all a's.
        #expect(m.value(N.processCount, ["group": "cmd"]) == 1)
        #expect(m.value(N.processCPUSeconds, ["group": "cmd", "mode": "user"]) == 0.05)
        #expect(m.value(N.processCount, ["group": "comm"]) == 1)
        #expect(m.value(N.processCPUSeconds, ["group": "comm", "mode": "user"]) == 0.05)
    }

    @Test func refusedPatternsAreConfigErrors() {
        let doc = YAMLDocument(text: "name: api\ncmdline: 'svc (a)\\1'\n", file: "cfg.yml")
        #expect(doc.root.flatMap { ProcessGroupSettings.parse($0, index: 0) } == nil)
        #expect(
            doc.diagnostics.map(\.description)
                == [#"cfg.yml:2:10: processes[0].cmdline: invalid regex "svc (a)\1": invalid escape sequence: \1"#])
    }
}
