import LookoutCore
import Notify
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Agent configs for the notification fault tests: targets that fail at once (connection
/// refused), the `ProbeFailed` rule, one or more webhook receivers.
enum NotifyFaultConfig {
    struct Receiver {
        var name: String
        var url: String
        var groupBy = "[alertname, target]"
        var groupInterval = "10m"
        var sendResolved = false
    }

    /// A port nothing listens on: connections to it are refused at once.
    static func deadURL() -> String { "http://127.0.0.1:\(Net.freePort())/live" }

    static func make(
        targets: [(name: String, url: String)], receivers: [Receiver], targetInterval: String = "1s",
        ruleInterval: String = "1s", extraNotify: String = ""
    ) -> String {
        var s = "targets:\n"
        if targets.isEmpty { s = "targets: []\n" }
        for t in targets {
            s += """
                  - name: \(t.name)
                    health:
                      live: \(t.url)
                    interval: \(targetInterval)
                    timeout: 500ms

                """
        }
        s += """
            rules:
              files: [rules.yml]
              interval: \(ruleInterval)
            notify:
              min_backoff: 100ms
              max_backoff: 400ms
            \(extraNotify)
              webhooks:

            """
        for r in receivers {
            s += """
                    - url: \(r.url)
                      name: \(r.name)
                      group_by: \(r.groupBy)
                      group_wait: 0s
                      group_interval: \(r.groupInterval)
                      repeat_interval: 1h
                      send_resolved: \(r.sendResolved)
                      timeout: 500ms

                """
        }
        return s
    }

    /// A working directory with the rule file the configs name.
    static func directory() -> TemporaryDirectory {
        let dir = TemporaryDirectory(prefix: "lookout-notify-faults")
        dir.write("rules.yml", probeFailedRules)
        return dir
    }
}

/// What the outbox log in `directory` holds now, decoded as the agent would replay it.
struct OutboxOnDisk {
    var decoded: OutboxCodec.Decoded
    /// Entries without an ack, by id.
    var live: [UInt64: OutboxEntry]

    init(_ directory: String) {
        let bytes = (try? FileIO.read(directory + "/" + Outbox.fileName, limit: 1 << 30)) ?? []
        decoded = OutboxCodec.decode(bytes)
        live = [:]
        for r in decoded.records {
            switch r {
            case .entry(let e): live[e.id] = e
            case .ack(let id, _): live[id] = nil
            }
        }
    }
}

extension TestServer.Received {
    var json: JSON? { try? JSON(parsing: body) }
    var groupTarget: String? { json?["groupLabels"]?["target"]?.stringValue }
}

@Suite struct NotificationFaultHeavyTests {
    /// The receiver is down, then slower than the webhook timeout, then answers 500, then
    /// recovers: every notification arrives, byte for byte what was first sent, once.
    @Test func receiverDownSlowFailingThenRecoveredGetsEverything() async throws {
        let port = Net.freePort()
        let dir = NotifyFaultConfig.directory()
        let names = ["t1", "t2", "t3"]
        let config = NotifyFaultConfig.make(
            targets: names.map { ($0, NotifyFaultConfig.deadURL()) },
            receivers: [.init(name: "oncall", url: "http://127.0.0.1:\(port)/hook")])
        let agent = try AgentProcess(config: config, workingDirectory: dir)
        func counter(_ result: String) -> Double {
            agent.samples().value("lookout_notifications_total", ["receiver": "oncall", "result": result]) ?? 0
        }

        // Down: connections refused; the three notifications wait in the outbox.
        let queued = await waitUntil(timeout: .seconds(30), every: .milliseconds(200)) {
            let s = agent.samples()
            return s.value("lookout_notification_outbox_length") == 3
                && s.value("lookout_notifications_total", ["receiver": "oncall", "result": "retry"]) ?? 0 >= 3
        }
        #expect(queued, "\(agent.get("/metrics").text.split(separator: "\n").filter { $0.contains("notif") })\n\(agent.log)")

        // Slow: the receiver takes 2 s, the webhook timeout is 500 ms.
        let server = try TestServer(port: port)
        server.set("/hook", status: 200, body: "ok", delay: 2)
        let retriesBeforeSlow = counter("retry")
        #expect(
            await waitUntil(timeout: .seconds(20), every: .milliseconds(200)) {
                server.received("/hook").count >= 2 && counter("retry") >= retriesBeforeSlow + 2
            })

        // 500s.
        server.set("/hook", status: 500, body: "broken")
        let retriesBefore500 = counter("retry")
        let receivedBefore500 = server.received("/hook").count
        #expect(
            await waitUntil(timeout: .seconds(20), every: .milliseconds(200)) {
                server.received("/hook").count >= receivedBefore500 + 2 && counter("retry") >= retriesBefore500 + 2
            })
        #expect(counter("success") == 0)
        let attempts = server.received("/hook")

        // Recovered. (An attempt already on its way may still get a 500: it is retried.)
        server.set("/hook", status: 200, body: "ok")
        let delivered = await waitUntil(timeout: .seconds(20), every: .milliseconds(200)) {
            let s = agent.samples()
            return s.value("lookout_notification_outbox_length") == 0
                && s.value("lookout_notifications_total", ["receiver": "oncall", "result": "success"]) == 3
        }
        #expect(delivered, "\(agent.log)")
        let received = Array(server.received("/hook").dropFirst(attempts.count))
        #expect(received.count >= 3 && received.count <= 4, "\(received.map(\.body))")
        #expect(Set(received.map(\.body)).count == 3)
        #expect(Set(received.compactMap(\.groupTarget)) == Set(names))
        for r in received {
            let json = try #require(r.json)
            #expect(json["status"] == "firing")
            #expect(json["groupKey"]?.stringValue == "{}:{alertname=\"ProbeFailed\", target=\"\(r.groupTarget ?? "")\"}")
            #expect(json["alerts"]?.arrayValue?.count == 1)
        }
        // What was tried while the receiver misbehaved went out unchanged once it recovered.
        #expect(!attempts.isEmpty)
        for a in attempts {
            let target = a.groupTarget
            let final = received.first { $0.groupTarget == target }
            #expect(final?.body == a.body, "notification for \(target ?? "?") changed between attempts")
        }
        // Nothing was lost or sent twice: one 2xx per notification.
        #expect(counter("success") == 3)
        #expect(counter("dropped") == 0)
    }

    /// kill -9 while notifications wait for a receiver that is down: a new agent on the same
    /// working directory delivers, from the outbox, exactly what was waiting.
    @Test func sigkillDuringDeliveryLosesNothing() async throws {
        let port = Net.freePort()
        let dir = NotifyFaultConfig.directory()
        let names = ["a", "b", "c", "d"]
        let receivers = [NotifyFaultConfig.Receiver(name: "oncall", url: "http://127.0.0.1:\(port)/hook")]
        let first = try AgentProcess(
            config: NotifyFaultConfig.make(targets: names.map { ($0, NotifyFaultConfig.deadURL()) }, receivers: receivers),
            workingDirectory: dir)
        let queued = await waitUntil(timeout: .seconds(30), every: .milliseconds(200)) {
            let s = first.samples()
            return s.value("lookout_notification_outbox_length") == 4
                && s.value("lookout_notifications_total", ["receiver": "oncall", "result": "retry"]) ?? 0 >= 2
        }
        #expect(queued, "\(first.log)")
        first.process.kill()
        #expect(!first.process.isRunning)

        let outbox = dir.path + "/data/outbox"
        let onDisk = OutboxOnDisk(outbox)
        #expect(onDisk.decoded.corruptRecords == 0)
        #expect(onDisk.live.count == 4)
        let waiting = onDisk.live.values.map(\.body)

        // The receiver comes up; the new agent has no failing targets, so whatever arrives
        // came out of the outbox.
        let server = try TestServer(port: port)
        server.set("/hook", status: 200, body: "ok")
        let logStart = logSize(dir)
        let second = try AgentProcess(
            config: NotifyFaultConfig.make(targets: [], receivers: receivers), workingDirectory: dir)
        let delivered = await waitUntil(timeout: .seconds(20), every: .milliseconds(200)) {
            server.received("/hook").count >= 4 && second.samples().value("lookout_notification_outbox_length") == 0
        }
        #expect(delivered, "\(second.log(since: logStart))")
        let received = server.received("/hook")
        #expect(received.map(\.body).sorted() == waiting.map { String(decoding: $0, as: UTF8.self) }.sorted())
        #expect(Set(received.compactMap(\.groupTarget)) == Set(names))
        let resending = second.log(since: logStart).split(separator: "\n").filter {
            $0.contains("outbox: resending notifications not delivered before the restart")
        }
        #expect(resending.count == 1 && resending[0].contains("count=4"), "\(resending)")
        #expect(OutboxOnDisk(outbox).live.isEmpty)
    }
}

/// kill -9 at random moments while the outbox is compacted after almost every delivery:
/// every record on disk stays readable, what was waiting at each kill is delivered later,
/// and a torn last record (as a kill during a write leaves it) is skipped with a log line.
@Suite struct OutboxCrashHeavyTests {
    @Test func sigkillDuringCompactionCorruptsNothingAndLosesNothing() async throws {
        let server = try TestServer()
        // Two receivers that fail every other request (retries, acks, compactions) and one
        // that is down until the end (a backlog that must survive every kill).
        let downPort = Net.freePort()
        var receivers = [
            NotifyFaultConfig.Receiver(name: "flap1", url: server.url("/flap/1/r1")),
            NotifyFaultConfig.Receiver(name: "flap2", url: server.url("/flap/2/r2")),
            NotifyFaultConfig.Receiver(name: "down", url: "http://127.0.0.1:\(downPort)/hook"),
        ]
        for i in 0..<2 {
            receivers[i].groupBy = "['...']"
            receivers[i].groupInterval = "500ms"
            receivers[i].sendResolved = true
        }
        receivers[2].groupBy = "[alertname]"
        receivers[2].groupInterval = "5s"
        receivers[2].sendResolved = true
        // Targets whose probes alternate between success and failure: alerts fire and resolve
        // all the time, so notifications keep coming.
        let targets = (1...6).map { ("f\($0)", server.url("/flap/1/f\($0)")) }
        let compactOften = "  outbox_compaction_min_bytes: 1\n"
        let dir = NotifyFaultConfig.directory()
        let outbox = dir.path + "/data/outbox"
        let logPath = outbox + "/" + Outbox.fileName
        let tmpPath = logPath + ".tmp"

        var waitingAtKills: [String: Set<String>] = [:]  // receiver → bodies
        var killsDuringCompaction = 0
        var lastTornTail = false
        for cycle in 0..<4 {
            let agent = try AgentProcess(
                config: NotifyFaultConfig.make(
                    targets: targets, receivers: receivers, targetInterval: "500ms", ruleInterval: "250ms",
                    extraNotify: compactOften),
                workingDirectory: dir)
            // Let deliveries (and so compactions) get going, watching the log being replaced.
            let flowing = await waitUntil(timeout: .seconds(20), every: .milliseconds(100)) {
                agent.samples().value("lookout_notifications_total", ["receiver": "flap1", "result": "success"]) ?? 0 >= 3
            }
            #expect(flowing, "cycle \(cycle): \(agent.log)")
            // Kill the moment a compaction has begun (its temporary file exists), after a
            // random pause so the kills land at different points of the agent's work.
            let earliest = monotonicSeconds() + Double.random(in: 0...0.8)
            let deadline = monotonicSeconds() + 20
            var compacting = false
            while monotonicSeconds() < deadline {
                if access(tmpPath, F_OK) == 0 && monotonicSeconds() >= earliest {
                    agent.process.signal(SIGKILL)
                    compacting = true
                    break
                }
                usleep(200)
            }
            #expect(compacting, "cycle \(cycle): no compaction within 20 s")
            agent.process.kill()
            if FileIO.exists(tmpPath) { killsDuringCompaction += 1 }
            let onDisk = OutboxOnDisk(outbox)
            #expect(onDisk.decoded.corruptRecords == 0, "cycle \(cycle)")
            #expect(onDisk.decoded.records.count > 0, "cycle \(cycle)")
            lastTornTail = onDisk.decoded.tornTail
            for e in onDisk.live.values {
                waitingAtKills[e.receiver, default: []].insert(String(decoding: e.body, as: UTF8.self))
            }
        }
        // Most kills interrupt a compaction between its write and its rename (a kill can come
        // a moment too late, after the rename).
        #expect(killsDuringCompaction >= 1, "\(killsDuringCompaction) of 4 kills interrupted a compaction")
        #expect(!(waitingAtKills["down"] ?? []).isEmpty)

        // As a kill in the middle of a write leaves them: half a record at the end of the log,
        // and a compaction's temporary file that never got renamed.
        let torn = OutboxCodec.encode(
            .entry(
                OutboxEntry(
                    id: 1 << 40, createdAt: WallTime(nanosecondsSinceEpoch: 0), kind: .webhook, receiver: "down",
                    url: "http://127.0.0.1:\(downPort)/hook", body: Array("{\"torn\":true}".utf8))))
        if !lastTornTail {
            let fd = open(logPath, O_WRONLY | O_APPEND)
            #expect(fd >= 0)
            _ = torn.withUnsafeBytes { write(fd, $0.baseAddress, torn.count - 5) }
            close(fd)
        }
        if !FileIO.exists(tmpPath) { try FileIO.writeAtomically(tmpPath, Array(torn.prefix(11))) }

        // The down receiver comes up; no more alerts: everything that was waiting goes out.
        let down = try TestServer(port: downPort)
        down.set("/hook", status: 200, body: "ok")
        let logStart = logSize(dir)
        let final = try AgentProcess(
            config: NotifyFaultConfig.make(targets: [], receivers: receivers, extraNotify: compactOften),
            workingDirectory: dir)
        // (The length reads 0 until the outbox has been replayed: wait for the replay and as
        // many deliveries as it restored.)
        let drained = await waitUntil(timeout: .seconds(30), every: .milliseconds(200)) {
            let restored = final.log(since: logStart).split(separator: "\n").first {
                $0.contains("outbox: resending notifications not delivered before the restart")
            }.flatMap { line in line.split(separator: " ").first { $0.hasPrefix("count=") }.flatMap { Int($0.dropFirst(6)) } }
            guard let restored else { return false }
            let s = final.samples()
            let delivered = ["flap1", "flap2", "down"].map {
                s.value("lookout_notifications_total", ["receiver": $0, "result": "success"]) ?? 0
            }.reduce(0, +)
            return delivered >= Double(restored) && s.value("lookout_notification_outbox_length") == 0
        }
        #expect(drained, "\(final.log(since: logStart))")
        let replayed = final.log(since: logStart).split(separator: "\n").filter { $0.contains("lost in damaged records; every intact record was kept") }
        #expect(replayed.count == 1, "\(final.log(since: logStart))")
        #expect(replayed.first?.contains("torn_tail=true") == true, "\(replayed)")
        #expect(replayed.first?.contains("corrupt_records=0") == true, "\(replayed)")
        // The torn record was the one being written at the kill.
        #expect(replayed.first?.contains("outbox: 1 notification lost") == true, "\(replayed)")
        #expect(!FileIO.exists(tmpPath))
        #expect(OutboxOnDisk(outbox).live.count == 0)

        // Everything that was waiting at any kill arrived (some twice: at least once).
        let paths = ["flap1": "/flap/1/r1", "flap2": "/flap/2/r2"]
        for (receiver, bodies) in waitingAtKills {
            let got = Set((receiver == "down" ? down.received("/hook") : server.received(paths[receiver]!)).map(\.body))
            let missing = bodies.subtracting(got)
            #expect(missing.count == 0, "\(receiver): \(missing.count) of \(bodies.count) never arrived")
        }
        #expect(!down.received("/hook").contains { $0.body.contains("torn") })
        // Reported for the record: how many kills hit a compaction between its write and its rename.
        let waiting = waitingAtKills.map { "\($0.key) \($0.value.count)" }.sorted().joined(separator: ", ")
        print("outbox crash test: \(killsDuringCompaction) of 4 kills interrupted a compaction; waiting at the kills: \(waiting)")
    }

}
