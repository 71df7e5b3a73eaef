import LookoutCore
import TestSupport
import Testing

@Suite struct CommandLineTests {
    @Test func checkConfigReportsEachProblemWithFileLineColumnAndExits2() {
        let dir = TemporaryDirectory()
        let file = dir.write(
            "bad.yml",
            """
            listen: 127.0.0.1:9477
            sampling:
              frequency: 19
              peek_window: 15s
            processes:
              - name: api
                comm: "([a-z]+"
            targets:
              - name: web
                metrics: http://127.0.0.1:8000/metrics
                timeout: 5 sec
            """)
        let (status, output) = LookoutBinary.run(["check-config", file])
        #expect(status == 2)
        let lines = output.split(separator: "\n").map(String.init)
        #expect(lines.count == 3, "\(output)")
        #expect(lines.contains { $0.hasPrefix("\(file):4:3: unknown key \"peek_window\"") })
        #expect(lines.contains { $0.hasPrefix("\(file):7:11: processes[0].comm: invalid regex") })
        #expect(lines.contains { $0.hasPrefix("\(file):11:14: targets[0].timeout: invalid duration \"5 sec\"") })
    }

    @Test func checkConfigAcceptsAValidFile() {
        let dir = TemporaryDirectory()
        let file = dir.write("ok.yml", "listen: 127.0.0.1:9477\nprocesses:\n  - name: me\n    pid: 1\n")
        let (status, output) = LookoutBinary.run(["check-config", file])
        #expect(status == 0, "\(output)")
    }

    @Test func checkConfigOnAMissingFileExits2() {
        let (status, output) = LookoutBinary.run(["check-config", "/nonexistent/lookout.yml"])
        #expect(status == 2)
        #expect(output.contains("/nonexistent/lookout.yml"))
    }

    @Test func usageErrorsExit2() {
        #expect(LookoutBinary.run(["--no-such-flag"]).status == 2)
        #expect(LookoutBinary.run(["run", "--listen", "nonsense"]).status == 2)
        #expect(LookoutBinary.run(["run", "--log.level", "loud"]).status == 2)
    }

    @Test func runWithABadConfigExits2() {
        let dir = TemporaryDirectory()
        let file = dir.write("bad.yml", "bogus: 1\n")
        let (status, output) = LookoutBinary.run(["run", "--config", file, "--listen", "127.0.0.1:0"])
        #expect(status == 2)
        #expect(output.contains("\(file):1:1: unknown key \"bogus\""))
    }

    @Test func probePrintsPhasesAndExitsWithTheVerdict() throws {
        let server = try TestServer()
        let ok = LookoutBinary.run(["probe", server.url("/ok")])
        #expect(ok.status == 0, "\(ok.output)")
        #expect(ok.output.contains("verdict     ok"))
        #expect(ok.output.contains("status      200"))
        for phase in ["resolve", "connect", "tls", "processing", "transfer", "total"] {
            #expect(ok.output.contains("  \(phase) "), "missing \(phase)")
        }
        let failing = LookoutBinary.run(["probe", server.url("/status/500")])
        #expect(failing.status == 2)
        #expect(failing.output.contains("critical"))
        let hanging = LookoutBinary.run(["probe", "--timeout", "500ms", server.url("/hang")])
        #expect(hanging.status == 2)
        #expect(hanging.output.contains("timeout"))
    }

    /// Said the way node_exporter says it: what, where, exit 1, no library call in sight.
    @Test func aListenAddressInUseEndsTheAgentWithAPlainMessage() throws {
        let occupant = try AgentProcess(config: nil)
        let address = "127.0.0.1:\(occupant.port)"
        let (status, output) = LookoutBinary.run(["run", "--listen", address], timeout: .seconds(30))
        #expect(status == 1, "\(output)")
        #expect(output.contains("listen tcp \(address): bind: address already in use"), "\(output)")
        #expect(!output.contains("descriptor") && !output.contains("errno"), "\(output)")
    }

    /// No receiver, no outbox: nothing is written where the agent was started or beside its config.
    @Test func anAgentWithoutReceiversCreatesNoStateDirectory() async throws {
        let dir = TemporaryDirectory(prefix: "lookout-nostate")
        let agent = try AgentProcess(config: "processes:\n  - name: me\n    pid: 1\n", workingDirectory: dir)
        #expect(await waitUntil(timeout: .seconds(20)) { agent.get("/-/ready").status == 200 }, "\(agent.log)")
        try await Task.sleep(for: .milliseconds(500))
        #expect(!FileIO.exists(dir.path + "/data"), "\(agent.log)")
    }

    @Test func versionPrintsTheVersion() {
        let (status, output) = LookoutBinary.run(["version"])
        #expect(status == 0)
        #expect(output.hasPrefix("lookout, version \(LookoutVersion.version)"))
    }
}

/// Wall-clock bounds: run in the serialized pass of `make test`.
@Suite struct CommandLineTimingTests {
    @Test func stopsWithinTwoSecondsOnSIGTERM() throws {
        let agent = try AgentProcess(config: nil)
        let start = SystemClock().now
        let status = agent.process.terminate(grace: .seconds(5))
        let elapsed = SystemClock().now - start
        #expect(status == 0, "\(agent.log)")
        #expect(elapsed < .seconds(2))
    }
}

@Suite struct ProfileCommandLineTimingTests {
    @Test func profileRecordsAProcessWithoutTheServer() throws {
        // A shell loop that burns CPU for the duration of the recording.
        let burner = try ChildProcess(["sh", "-c", "while :; do :; done"])
        defer { burner.kill() }
        let dir = TemporaryDirectory()
        let out = dir.path + "/cpu.folded"
        let (status, output) = LookoutBinary.run(["profile", "--pid", String(burner.pid), "--seconds", "2", "-o", out])
        #expect(status == 0, "\(output)")
        let folded = (try? FileIO.readText(out)) ?? ""
        let samples = folded.split(separator: "\n").compactMap { Int($0.split(separator: " ").last ?? "") }.reduce(0, +)
        #expect(samples >= 19, "\(folded)")  // ~38 ticks in 2 s at 19 Hz, most of them on CPU
        #expect(folded.contains("pid \(burner.pid)"))
        let usage = LookoutBinary.run(["profile", "--seconds", "1", "-o", out])
        #expect(usage.status == 2)
        #expect(usage.output.contains("--pid PID or --group NAME"))
    }

    @Test func blockProfileShowsAThreadInUninterruptibleSleepUnderItsWaitChannel() async throws {
        let parent = try await UninterruptibleSleeper()
        defer { #expect(parent.stop() == 0) }
        #expect(parent.state == "D")
        let dir = TemporaryDirectory()
        let out = dir.path + "/block.folded"
        let (status, output) = LookoutBinary.run([
            "profile", "--pid", String(parent.pid), "--seconds", "2", "--type", "block", "--format", "folded", "-o", out,
        ])
        #expect(status == 0, "\(output)")
        // Still waiting for the child: the wait channel the profile must show.
        #expect(parent.state == "D")
        let wchan = parent.waitChannel
        let folded = (try? FileIO.readText(out)) ?? ""
        // One stack, root first: group (the process name), pid, thread, wait channel; one sample a tick.
        let lines = folded.split(separator: "\n")
        #expect(lines.count == 1, "\(folded)")
        let stack = lines.first.map { String($0[..<($0.lastIndex(of: " ") ?? $0.endIndex)]) } ?? ""
        #expect(!wchan.isEmpty && wchan != "0" && stack == "vfork;pid \(parent.pid);vfork;\(wchan)", "wchan \(wchan): \(folded)")
        let samples = Int(lines.first?.split(separator: " ").last ?? "") ?? 0
        #expect(samples >= 34 && samples <= 40, "\(folded)")  // 38 ticks in 2 s at 19 Hz
    }
}
