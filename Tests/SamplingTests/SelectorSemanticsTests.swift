import Logging
import LookoutCore
import ProcFS
import TestSupport
import Testing

@testable import Sampling

/// What a `processes:` selector selects: `comm`, `cmdline` and `cgroup` search their string the
/// way `pgrep -f` and process-exporter do (`^…$` for an exact match); a group that matches
/// nothing for a minute is logged once, then once an hour.
@Suite struct SelectorSemanticsTests {
    /// PF_KTHREAD in `stat`'s flags.
    static let kernelThreadFlags: UInt64 = 0x0020_0000

    static func host() -> FakeProc {
        let fake = FakeProc()
        fake.setStat([ProcReaderTests.idle])
        var py = FakeProc.Process(pid: 100, comm: "python3")
        py.cmdline = ["/usr/bin/python3", "svc.py", "8081"]
        py.cgroup = "0::/kubepods/burstable/pod1234/api-7f9c\n"
        fake.addProcess(py)
        var other = FakeProc.Process(pid: 101, comm: "python")
        other.cmdline = ["python", "worker.py", "--port=8082"]
        other.cgroup = "12:cpu,cpuacct:/system.slice/worker.service\n0::/system.slice/worker.service\n"
        fake.addProcess(other)
        var gunicorn = FakeProc.Process(pid: 102, comm: "gunicorn")
        gunicorn.cmdline = ["gunicorn: master [app:wsgi]"]
        fake.addProcess(gunicorn)
        var kworker = FakeProc.Process(pid: 2, comm: "kworker/0:1-python")
        kworker.flags = kernelThreadFlags
        fake.addProcess(kworker)
        var zombie = FakeProc.Process(pid: 103, comm: "python3")
        zombie.state = "Z"
        zombie.cmdline = []
        fake.addProcess(zombie)
        return fake
    }

    func select(_ fake: FakeProc, _ selectors: [ProcessSelector]) throws -> [[Int32]] {
        let selection = ProcessSelection(procfs: try fakeProcFS(fake), buffer: ReadBuffer(), tracked: [:], onError: { _ in })
        return selection.select(selectors).map { $0.map(\.pid).sorted() }
    }

    @Test func regexSelectorsSearchLikePgrep() throws {
        let fake = Self.host()
        func r(_ p: String) throws -> AnchoredRegex { try AnchoredRegex(p) }
        let selected = try select(
            fake,
            [
                .comm(try r("python")),  // a search: python and python3, not the kernel thread
                .comm(try r("^python$")),  // an exact match
                .comm(try r("^gunicorn$")),  // the README's example still works
                .cmdline(try r("svc.py 8081")),  // arguments joined by spaces, found inside
                .cmdline(try r("^python3")),  // anchored: argv[0] is /usr/bin/python3
                .cmdline(try r("--port=808[0-9]$")),
                .cgroup(try r("api-")),  // any part of the path
                .cgroup(try r("^/system\\.slice/")),  // any hierarchy's path, anchored
                .comm(try r("nothing-like-this")),
            ])
        withExtendedLifetime(fake) {}
        #expect(selected == [[100, 101], [101], [102], [100], [], [101], [100], [101], []])
    }

    @Test func kernelThreadsAndZombiesAreNeverSelectedByRegex() throws {
        let fake = Self.host()
        let selected = try select(fake, [.comm(try AnchoredRegex("kworker")), .comm(try AnchoredRegex("python3")), .pid(2)])
        withExtendedLifetime(fake) {}
        // A kernel thread only by its PID; the zombie python3 (103) never.
        #expect(selected == [[], [100], [2]])
    }

    // MARK: the empty-group warning

    static func emptyWarnings(_ logs: LogCapture) -> [String] {
        logs.warnings.filter { $0.contains("matches no process") }
    }

    @Test func aGroupThatMatchesNothingForAMinuteIsLoggedOnceThenHourly() throws {
        let fake = Self.host()
        let logs = LogCapture()
        let groups: [ProcessGroupSettings] = [
            .init(name: "api", selector: .cmdline(try AnchoredRegex("svc.py 9090"))),
            .init(name: "py", selector: .comm(try AnchoredRegex("python"))),
        ]
        var r = ProcReaderTests.Ticker(ProcReader(procfs: try fakeProcFS(fake), options: .init(SamplerSettings()), groups: groups, logger: logs.logger))
        _ = r.read()
        for _ in 0..<59 { _ = r.read(after: .seconds(1)) }
        #expect(Self.emptyWarnings(logs).isEmpty, "59 s empty is not yet a minute")
        let t = r.read(after: .seconds(1))
        #expect(t.groups[0].slow?.processes == 0)
        var warnings = Self.emptyWarnings(logs)
        try #require(warnings.count == 1)
        #expect(warnings[0].contains("group=api"))
        #expect(warnings[0].contains(#"selector="cmdline: \"svc.py 9090\"""#), "\(warnings[0])")
        #expect(warnings[0].contains("for=1m"))

        // Not again within the hour, however many selections run.
        for _ in 0..<59 { _ = r.read(after: .seconds(60)) }
        #expect(Self.emptyWarnings(logs).count == 1)
        _ = r.read(after: .seconds(60))
        warnings = Self.emptyWarnings(logs)
        #expect(warnings.count == 2)
        #expect(warnings.last?.contains("group=api") == true && warnings.last?.contains("for=1h1m") == true, "\(warnings)")

        // The service starts: quiet. It stops again: a new minute, a new warning.
        var svc = FakeProc.Process(pid: 200, comm: "python3")
        svc.cmdline = ["python3", "svc.py", "9090"]
        fake.addProcess(svc)
        #expect(r.read(after: .seconds(1)).groups[0].slow?.processes == 1)
        fake.removeProcess(200)
        _ = r.read(after: .seconds(1))
        _ = r.read(after: .seconds(59))
        #expect(Self.emptyWarnings(logs).count == 2)
        _ = r.read(after: .seconds(1))
        #expect(Self.emptyWarnings(logs).count == 3)
        // The group that matches never warned.
        #expect(!logs.warnings.contains { $0.contains("group=py") })
        withExtendedLifetime(fake) {}
    }

    @Test func aReloadWithAnotherSelectorStartsTheMinuteAgain() throws {
        let fake = Self.host()
        let logs = LogCapture()
        let reader = ProcReader(
            procfs: try fakeProcFS(fake), options: .init(SamplerSettings()),
            groups: [.init(name: "api", selector: .comm(try AnchoredRegex("^nginx$")))], logger: logs.logger)
        var r = ProcReaderTests.Ticker(reader)
        _ = r.read()
        _ = r.read(after: .seconds(50))
        reader.configure(options: .init(SamplerSettings()), groups: [.init(name: "api", selector: .comm(try AnchoredRegex("^envoy$")))])
        _ = r.read(after: .seconds(20))
        #expect(Self.emptyWarnings(logs).isEmpty, "the new selector has been empty for 0 s")
        _ = r.read(after: .seconds(60))
        #expect(Self.emptyWarnings(logs).count == 1)
        #expect(Self.emptyWarnings(logs).first?.contains(#"comm: \"^envoy$\""#) == true, "\(logs.warnings)")
        withExtendedLifetime(fake) {}
    }
}
