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

    @Test func versionPrintsTheVersion() {
        let (status, output) = LookoutBinary.run(["version"])
        #expect(status == 0)
        #expect(output.hasPrefix("lookout, version \(LookoutVersion.version)"))
    }

    @Test func stopsWithinTwoSecondsOnSIGTERM() throws {
        let agent = try AgentProcess(config: nil)
        let start = SystemClock().now
        let status = agent.process.terminate(grace: .seconds(5))
        let elapsed = SystemClock().now - start
        #expect(status == 0, "\(agent.log)")
        #expect(elapsed < .seconds(2))
    }
}
