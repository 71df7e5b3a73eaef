import LookoutCore
import Probing
import Sampling
import TestSupport
import Testing

@testable import Agent

@Suite struct AgentConfigTests {
    @Test func parsesTheDesignExample() throws {
        let text = """
            listen: 0.0.0.0:9477
            sampling:
              frequency: 19
              cpu: true
              block: false
              mutex: false
              peak_window: 15s
            processes:
              - name: api
                comm: "^gunicorn$"
                threads: true
              - name: db
                pid: 1234
            targets:
              - name: participant
                metrics: http://127.0.0.1:8000/metrics
                health:
                  live: http://127.0.0.1:8000/health/live
                  ready: http://127.0.0.1:8000/health/ready
                  health: http://127.0.0.1:8000/health
                  detailed: http://127.0.0.1:8000/health/detailed
                interval: 15s
                timeout: 5s
                body_size_limit: 10MiB
                sample_limit: 50000
            rules:
              files: [ alerts/lookout.rules.yml ]
              interval: 1s
              max_lookback: 2h
            notify:
              webhooks:
                - url: http://127.0.0.1:5001/hook
                  send_resolved: true
                  group_wait: 5s
              alertmanagers: [ http://127.0.0.1:9093 ]
              outbox: /var/lib/lookout/outbox
            remote_write:
              interval: 15s
              wal: /var/lib/lookout/wal
              max_wal_bytes: 256MiB
              external_labels: { cluster: eu1 }
              endpoints:
                - url: http://127.0.0.1:9090/api/v1/write
                  remote_timeout: 30s
                  write_relabel: { keep: '^(lookout_.*|up)$' }
                  queue: { max_samples_per_send: 2000, batch_send_deadline: 5s, min_backoff: 30ms, max_backoff: 5s }
            """
        let c = try AgentConfig.parse(text, file: "lookout.yml")
        #expect(c.listen == "0.0.0.0:9477")
        #expect(c.sampling.frequency == 19)
        #expect(c.sampling.peakWindow == .seconds(15))
        #expect(c.processes.map(\.name) == ["api", "db"])
        #expect(c.processes[0].threads)
        #expect(c.processes[1].selector == .pid(1234))
        #expect(c.targets.count == 1)
        #expect(c.targets[0].endpoints.map(\.kind) == [.metrics, .live, .ready, .health, .detailed])
        #expect(c.targets[0].bodySizeLimit == 10 << 20)
        #expect(c.rules.files == ["alerts/lookout.rules.yml"])
        #expect(c.rules.maxLookback == .seconds(7200))
        #expect(c.notify.alertmanagers.map(\.url) == ["http://127.0.0.1:9093"])
                let rw = try #require(c.remoteWrite)
        #expect(rw.wal == "/var/lib/lookout/wal")
        #expect(rw.endpoints.map(\.url) == ["http://127.0.0.1:9090/api/v1/write"])
        #expect(rw.endpoints[0].keeps("up") && !rw.endpoints[0].keeps("process_cpu_seconds_total"))
    }

    @Test func emptyFileIsTheDefaults() throws {
        let c = try AgentConfig.parse("", file: "empty.yml")
        #expect(c.remoteWrite == nil)
        #expect(c.listen == "0.0.0.0:9477")
        #expect(c.sampling.frequency == 19)
        #expect(!c.sampling.block && !c.sampling.mutex)
        #expect(c.targets.isEmpty)
        #expect(c.rules.maxLookback == .seconds(3600))
    }

    /// State goes under systemd's $STATE_DIRECTORY when set, else under data/ beside the config file.
    @Test func outboxDefaultsToTheStateDirectory() throws {
        let receivers = "notify:\n  webhooks:\n    - url: http://127.0.0.1:5001/hook\n"
        var c = try AgentConfig.parse(receivers, file: "/etc/lookout/lookout.yml", stateDirectory: "/var/lib/lookout")
        #expect(c.notify.outbox == "/var/lib/lookout/outbox")
        c = try AgentConfig.parse(receivers, file: "/etc/lookout/lookout.yml", stateDirectory: nil)
        #expect(c.notify.outbox == "/etc/lookout/data/outbox")
        c = try AgentConfig.parse(receivers, file: "lookout.yml", stateDirectory: nil)
        #expect(c.notify.outbox == "data/outbox")
        c = try AgentConfig.parse(receivers + "  outbox: /srv/outbox\n", file: "/etc/lookout/lookout.yml", stateDirectory: "/var/lib/lookout")
        #expect(c.notify.outbox == "/srv/outbox")
        // The remote_write WAL too; a relative wal is relative to the config file.
        let rw = "remote_write:\n  endpoints:\n    - url: http://127.0.0.1:9090/api/v1/write\n"
        c = try AgentConfig.parse(rw, file: "/etc/lookout/lookout.yml", stateDirectory: "/var/lib/lookout")
        #expect(c.remoteWrite?.wal == "/var/lib/lookout/wal")
        c = try AgentConfig.parse(rw, file: "/etc/lookout/lookout.yml", stateDirectory: nil)
        #expect(c.remoteWrite?.wal == "/etc/lookout/data/wal")
        c = try AgentConfig.parse(rw + "  wal: queue\n", file: "/etc/lookout/lookout.yml", stateDirectory: "/var/lib/lookout")
        #expect(c.remoteWrite?.wal == "/etc/lookout/queue")
    }

    @Test func stackSamplingKeys() throws {
        let text = """
            sampling:
              stacks: false
              dwarf_unwinding: always
            processes:
              - name: api
                pid: 1
                stacks: true
              - name: db
                pid: 2
            """
        let c = try AgentConfig.parse(text, file: "stacks.yml")
        #expect(!c.sampling.stacks)
        #expect(c.sampling.dwarfUnwinding == "always")
        #expect(c.processes.map { $0.samplesStacks(c.sampling) } == [true, false])
        // Defaults: every group of a config file is stack-sampled, DWARF where needed.
        let d = try AgentConfig.parse("processes:\n  - name: api\n    pid: 1\n", file: "d.yml")
        #expect(d.sampling.stacks && d.sampling.dwarfUnwinding == "auto")
        #expect(d.processes[0].stacks == nil && d.processes[0].samplesStacks(d.sampling))
    }

    @Test func embeddedDefaultWatchesTheAgentItself() {
        let c = AgentConfig.embeddedDefault
        #expect(c.processes.count == 1)
        #expect(c.processes[0].selector == .current)
        // ...without sampling its own stacks.
        #expect(!c.processes[0].samplesStacks(c.sampling))
        #expect(c.sampling.stacks)
        #expect(c.targets.isEmpty)
        #expect(c.rules.files == nil)
    }

    /// Each problem is reported, each with the file, line and column where it is.
    @Test func reportsEveryProblemWithItsPosition() {
        let text = """
            listen: 127.0.0.1:9477
            sampling:
              frequncy: 19
            processes:
              - name: api
                comm: "gunicorn("
            targets:
              - name: web
                metrics: http://127.0.0.1:8000/metrics
                interval: 15 seconds
            """
        #expect {
            try AgentConfig.parse(text, file: "bad.yml")
        } throws: { error in
            guard let d = error as? Diagnostics else { return false }
            let lines = d.items.map(\.description)
            return lines.count == 3
                && lines.contains { $0.hasPrefix("bad.yml:3:3: unknown key \"frequncy\" in sampling (did you mean \"frequency\"?)") }
                && lines.contains { $0.hasPrefix("bad.yml:6:11: processes[0].comm: invalid regex \"gunicorn(\"") }
                && lines.contains { $0.hasPrefix("bad.yml:10:15: targets[0].interval: invalid duration \"15 seconds\"") }
        }
    }

    @Test(arguments: [
        ("sampling:\n  frequency: 0\n", "2:14", "sampling.frequency must be between 1 and 1000, found 0"),
        ("sampling:\n  frequency: 5000\n", "2:14", "sampling.frequency must be between 1 and 1000, found 5000"),
        ("processes:\n  - name: a\n", "2:5", "processes[0] (a) needs exactly one of comm, cmdline, cgroup, pidfile, pid; found none"),
        ("processes:\n  - name: a\n    pid: 1\n  - name: a\n    pid: 2\n", "4:5", "duplicate group name \"a\""),
        ("targets:\n  - name: t\n    metrics: ftp://x/metrics\n", "3:14", "must be an http:// or https:// URL"),
        ("targets:\n  - name: t\n", "2:5", "has no endpoints"),
        ("listen: nonsense\n", "1:9", "listen must be HOST:PORT"),
        ("listen: [1, 2]\n", "1:9", "listen must be a string, found a list"),
        ("sampling: [1]\n", "1:11", "sampling must be a mapping, found a list"),
        ("sampling:\n  cpu: maybe\n", "2:8", "sampling.cpu must be true or false, found \"maybe\""),
        ("sampling:\n  cpu: true\n  cpu: false\n", "3:3", "duplicate key \"cpu\""),
        ("targets:\n  - name: t\n    metrics: http://a/m\n    timeout: 20s\n    interval: 10s\n", "2:5", "timeout 20s is longer than interval 10s"),
        ("key: [unclosed\n", "2:1", "YAML syntax error"),
        (
            "sampling:\n  dwarf_unwinding: sometimes\n", "2:20",
            "sampling.dwarf_unwinding must be one of auto, always, never, found \"sometimes\""
        ),
        ("sampling:\n  stacks: 1\n", "2:11", "sampling.stacks must be true or false, found \"1\""),
        ("processes:\n  - name: a\n    pid: 1\n    stacks: maybe\n", "4:13", "processes[0].stacks must be true or false"),
        ("remote_write:\n  interval: 15s\n", "2:3", "remote_write needs endpoints"),
        ("remote_write:\n  endpoints:\n    - url: http://a/w\n      queue: { max_backoff: 0s }\n", "4:29", "remote_write.endpoints[0].queue.max_backoff must be greater than 0"),
        ("remote_write:\n  endpoints:\n    - url: http://a/w\n      retries: 3\n", "4:7", "unknown key \"retries\" in remote_write.endpoints[0]"),
    ])
    func rejects(_ text: String, _ position: String, _ message: String) {
        #expect {
            try AgentConfig.parse(text, file: "c.yml")
        } throws: { error in
            guard let d = error as? Diagnostics, let first = d.items.first else { return false }
            let ok = first.description.hasPrefix("c.yml:\(position): ") && first.description.contains(message)
            if !ok { Issue.record("got: \(d.items.map(\.description))") }
            return ok
        }
    }

    @Test func listenAddressForms() {
        #expect(ListenAddress("127.0.0.1:9477")?.host == "127.0.0.1")
        #expect(ListenAddress(":9477")?.host == "0.0.0.0")
        #expect(ListenAddress("[::1]:9477")?.host == "::1")
        #expect(ListenAddress("[::1]:9477")?.description == "[::1]:9477")
        #expect(ListenAddress("localhost") == nil)
        #expect(ListenAddress("a:70000") == nil)
    }
}
