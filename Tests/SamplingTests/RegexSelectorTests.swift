import LookoutCore
import Config
import ProcFS
import TestSupport
import Testing

@testable import Sampling

/// Selectors run RE2: a pattern that backtracks for ages elsewhere costs a linear scan.
@Suite struct RegexSelectorTests {
    static let a = String(repeating: "a", count: 10_000)

    /// Two processes: one whose name, command line and cgroup end in `b`, one whose are all a's.
    static func hostileProc() -> FakeProc {
        let fake = FakeProc()
        fake.setStat([SamplerFixtureTests.idleCPU, SamplerFixtureTests.idleCPU])
        var hostile = FakeProc.Process(pid: 700, comm: "aaaaaaaaaaaaaab")
        hostile.cmdline = [a + "b"]
        hostile.cgroup = "0::/" + a + "b\n"
        hostile.utime = 3
        fake.addProcess(hostile)
        var plain = FakeProc.Process(pid: 701, comm: "aaaaaaaaaaaaaaa")
        plain.cmdline = [a]
        plain.cgroup = "0::/" + a + "\n"
        plain.utime = 5
        fake.addProcess(plain)
        return fake
    }

    /// `comm`, `cmdline` and `cgroup` groups over `(a+)+$`.
    static func hostileGroups() throws -> [ProcessGroupSettings] {
        let evil = try AnchoredRegex("(a+)+$")
        return [
            .init(name: "cmd", selector: .cmdline(evil)), .init(name: "comm", selector: .comm(evil)),
            .init(name: "cgroup", selector: .cgroup(try AnchoredRegex("/(a+)+$"))),
        ]
    }

    @Test func backtrackingPatternOnALongCommandLine() async throws {
        let fake = Self.hostileProc()
        let sampler = Sampler(groups: try Self.hostileGroups(), procfs: try fakeProcFS(fake), clock: ManualClock())
        await sampler.tick()
        #expect(sampler.isReady)
        let m = sampler.metrics.collect()
        withExtendedLifetime(fake) {}
        // Only the process whose command line (name, cgroup) is all a's.
        for group in ["cmd", "comm", "cgroup"] {
            #expect(m.value(N.processes, ["group": group]) == 1, "\(group)")
            #expect(m.value(N.processCPUSeconds, ["group": group, "mode": "user"]) == 0.05, "\(group)")
        }
    }

    @Test func refusedPatternsAreConfigErrors() {
        let doc = YAMLDocument(text: "name: api\ncmdline: 'svc (a)\\1'\n", file: "cfg.yml")
        #expect(doc.root.flatMap { ProcessGroupSettings.parse($0, index: 0) } == nil)
        #expect(
            doc.diagnostics.map(\.description)
                == [#"cfg.yml:2:10: processes[0].cmdline: invalid regex "svc (a)\1": invalid escape sequence: \1"#])
    }
}

/// The selection itself, timed: three `(a+)+$` selectors over 10,000-character names.
@Suite(.serialized) struct RegexSelectorTimingTests {
    @Test func selectingOverTenThousandCharactersTakesUnderTenMilliseconds() throws {
        let fake = RegexSelectorTests.hostileProc()
        let procfs = try fakeProcFS(fake)
        let selectors = try RegexSelectorTests.hostileGroups().map(\.selector)
        let selection = ProcessSelection(procfs: procfs, buffer: ReadBuffer(), tracked: [:], onError: { _ in })
        let clock = ContinuousClock()
        var fastest = Duration.seconds(1000)
        for _ in 0..<5 {
            let start = clock.now
            let selected = selection.select(selectors)
            fastest = min(fastest, clock.now - start)
            #expect(selected.map { $0.map(\.pid) } == [[701], [701], [701]])
        }
        #expect(fastest < .milliseconds(10), "\(fastest)")
        withExtendedLifetime(fake) {}
    }
}
