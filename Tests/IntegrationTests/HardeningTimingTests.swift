import LookoutCore
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The attacks of a hostile client that are judged by the clock or by memory, against the
/// agent binary. Each prints its figures (`HARDENING ...` lines) for the record.
@Suite(.serialized) struct HardeningTimingTests {
    static let mib = 1 << 20

    /// Latencies of `/-/healthy` (and other requests) while an attack runs, in seconds.
    struct Probes {
        var seconds: [String: [Double]] = [:]
        var failures: [String] = []

        mutating func probe(_ name: String, _ url: String, headers: [String] = []) {
            let r = TestHTTP.get(url, headers: headers, timeout: 5)
            if r.status == 200 { seconds[name, default: []].append(r.seconds) } else { failures.append("\(name): \(r.status) \(r.error ?? "")") }
        }

        func summary(_ name: String) -> String {
            let s = seconds[name] ?? []
            return "\(name): n=\(s.count) median \(fixed(percentile(s, 50) * 1000, 1)) ms p90 \(fixed(percentile(s, 90) * 1000, 1)) ms max \(fixed((s.max() ?? .nan) * 1000, 1)) ms"
        }
    }

    /// One connection pipelining requests without ever reading the answers.
    func pipelineWithoutReading(_ agent: AgentProcess, seconds: Double, request: String) -> (peak: Int, sent: Int, probes: Probes) {
        let fd = rawConnect(agent.port)
        var small: Int32 = 4096
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        var peak = 0, sent = 0
        var probes = Probes()
        let start = monotonicSeconds()
        while monotonicSeconds() - start < seconds {
            sent += rawWritePipelined(fd, request, max: 1 << 30)
            peak = max(peak, residentBytes(of: agent.process.pid) ?? 0)
            probes.probe("healthy", agent.baseURL + "/-/healthy", headers: [WebUsers.header(WebUsers.alice)])
            usleep(100_000)
        }
        close(fd)
        return (peak, sent, probes)
    }

    @Test func aClientThatPipelinesWithoutReadingKeepsTheAgentSmall() async throws {
        let agent = try AgentProcess(config: nil)
        let baseline = try #require(residentBytes(of: agent.process.pid))
        let (peak, sent, probes) = await onOwnThread {
            pipelineWithoutReading(agent, seconds: 10, request: "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        }
        try await Task.sleep(for: .seconds(2))
        let after = try #require(residentBytes(of: agent.process.pid))
        print("HARDENING pipelining /metrics without reading, 10 s: \(sent) requests sent, RSS baseline \(baseline / Self.mib) MiB, peak \(peak / Self.mib) MiB, 2 s after \(after / Self.mib) MiB; \(probes.summary("healthy"))")
        #expect(sent >= 5000)
        #expect(peak < 100 * Self.mib)
        #expect(after < baseline + 20 * Self.mib)
        #expect(probes.failures.isEmpty, "\(probes.failures)")
    }

    @Test func unanswered401sDoNotPileUpEither() async throws {
        let dir = TemporaryDirectory(prefix: "lookout-web")
        let web = dir.write("web.yml", WebUsers.config([WebUsers.alice]))
        let agent = try AgentProcess(config: nil, arguments: ["--web.config.file", web], healthHeaders: [WebUsers.header(WebUsers.alice)])
        let baseline = try #require(residentBytes(of: agent.process.pid))
        let (peak, sent, probes) = await onOwnThread {
            pipelineWithoutReading(agent, seconds: 6, request: "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        }
        print("HARDENING pipelining unauthenticated requests without reading, 6 s: \(sent) sent, RSS baseline \(baseline / Self.mib) MiB, peak \(peak / Self.mib) MiB; \(probes.summary("healthy"))")
        #expect(sent >= 5000)
        #expect(peak < 100 * Self.mib)
        #expect(probes.failures.isEmpty, "\(probes.failures)")
    }

    @Test func idleAndSlowlorisSocketsLeaveHealthyFast() async throws {
        let agent = try AgentProcess(config: nil)
        let port = agent.port
        let result = await onOwnThread { () -> (Probes, Int) in
            let partial = "GET /metrics HTTP/1.1\r\nHost: x\r\n"
            func slowloris() -> Int32 {
                let fd = rawConnect(port, nonBlocking: true)
                rawWrite(fd, partial)
                return fd
            }
            var idle = (0..<300).map { _ in rawConnect(port, nonBlocking: true) }
            var slow = (0..<300).map { _ in slowloris() }
            var reconnects = 0
            var probes = Probes()
            let start = monotonicSeconds()
            var lastTrickle = start, lastProbe = start
            // 15 s: past the agent's 10 s request deadline, so closed sockets come back at once.
            while monotonicSeconds() - start < 15 {
                for i in idle.indices where rawPeerClosed(idle[i]) {
                    close(idle[i])
                    idle[i] = rawConnect(port, nonBlocking: true)
                    reconnects += 1
                }
                for i in slow.indices where rawPeerClosed(slow[i]) {
                    close(slow[i])
                    slow[i] = slowloris()
                    reconnects += 1
                }
                let now = monotonicSeconds()
                if now - lastTrickle >= 1 {
                    for fd in slow { rawWrite(fd, "X-a: b\r\n") }
                    lastTrickle = now
                }
                if now - lastProbe >= 0.25 {
                    probes.probe("healthy", "http://127.0.0.1:\(port)/-/healthy")
                    lastProbe = monotonicSeconds()
                }
                usleep(5_000)
            }
            for fd in idle + slow { close(fd) }
            return (probes, reconnects)
        }
        let (probes, reconnects) = result
        print("HARDENING 300 idle + 300 slowloris sockets for 15 s (\(reconnects) reconnects after the agent closed them): \(probes.summary("healthy"))")
        #expect(probes.failures.isEmpty, "\(probes.failures)")
        let healthy = probes.seconds["healthy"] ?? []
        #expect(healthy.count >= 40)
        #expect(percentile(healthy, 50) < 0.1)
        #expect(percentile(healthy, 90) < 0.1)
        #expect(agent.process.isRunning)
    }

    @Test func wrongPasswordsLeaveHealthyAndMetricsFast() async throws {
        let dir = TemporaryDirectory(prefix: "lookout-web")
        let web = dir.write("web.yml", WebUsers.config([WebUsers.alice], extra: "unauthenticated_paths: [/-/healthy]\n"))
        let agent = try AgentProcess(config: nil, arguments: ["--web.config.file", web])
        let port = agent.port
        let good = WebUsers.header(WebUsers.alice)
        // Warm the cache of verified passwords, as a scraper's first request does.
        #expect(agent.get("/metrics", headers: [good]).status == 200)
        let result = await onOwnThread { () -> (Probes, Int, Int) in
            // 16 clients, each from an address of its own, each trying wrong passwords as fast as answered.
            let request = "GET /metrics HTTP/1.1\r\nHost: x\r\n\(WebUsers.header(WebUsers.alice, password: "guess"))\r\n\r\n"
            func attacker(_ i: Int) -> Int32 {
                let fd = rawConnect(port, from: "127.0.0.\(i + 2)")
                rawWrite(fd, request)
                return fd
            }
            var fds = (0..<16).map(attacker)
            var answers = 0, limited = 0
            var probes = Probes()
            var buf = [UInt8](repeating: 0, count: 4096)
            let start = monotonicSeconds()
            var lastProbe = start, which = 0
            while monotonicSeconds() - start < 10 {
                var polls = fds.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
                _ = poll(&polls, nfds_t(polls.count), 5)
                for i in polls.indices where polls[i].revents != 0 {
                    let n = buf.withUnsafeMutableBytes { recv(fds[i], $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                    if n <= 0 {
                        close(fds[i])
                        fds[i] = attacker(i)
                        continue
                    }
                    let text = String(decoding: buf[0..<n], as: UTF8.self)
                    answers += text.components("HTTP/1.1 ")
                    limited += text.components("HTTP/1.1 429")
                    rawWrite(fds[i], request)
                }
                if monotonicSeconds() - lastProbe >= 0.2 {
                    if which % 2 == 0 {
                        probes.probe("healthy", "http://127.0.0.1:\(port)/-/healthy")
                    } else {
                        probes.probe("metrics (authenticated)", "http://127.0.0.1:\(port)/metrics", headers: [good])
                    }
                    which += 1
                    lastProbe = monotonicSeconds()
                }
            }
            for fd in fds { close(fd) }
            return (probes, answers, limited)
        }
        let (probes, answers, limited) = result
        print("HARDENING 16 wrong-password clients for 10 s (\(answers) refusals, \(limited) of them 429): \(probes.summary("healthy")); \(probes.summary("metrics (authenticated)"))")
        #expect(answers >= 16)  // every client was refused at least once: the attack ran
        #expect(probes.failures.isEmpty, "\(probes.failures)")
        let healthy = probes.seconds["healthy"] ?? [], metrics = probes.seconds["metrics (authenticated)"] ?? []
        #expect(healthy.count >= 15 && metrics.count >= 15)
        #expect(percentile(healthy, 50) < 0.1)
        #expect(percentile(healthy, 90) < 0.1)
        #expect(percentile(metrics, 50) < 0.2)
        #expect(percentile(metrics, 90) < 0.2)
    }

    @Test func abandonedProfilesFreeTheirSlot() async throws {
        let agent = try AgentProcess(config: nil)
        #expect(await waitUntil { agent.get("/-/ready").status == 200 })
        let port = agent.port
        let (full, freedAfter) = await onOwnThread { () -> (Int, Double) in
            // Eight clients ask for 300 s profiles (every slot), then hang up after a second.
            let fds = (0..<8).map { _ in rawConnect(port) }
            for fd in fds { rawWrite(fd, "GET /debug/pprof/profile?seconds=300 HTTP/1.1\r\nHost: x\r\n\r\n") }
            usleep(1_000_000)
            let full = TestHTTP.get("http://127.0.0.1:\(port)/debug/pprof/profile?seconds=1", timeout: 3).status
            for fd in fds { close(fd) }
            let closed = monotonicSeconds()
            // A request that is not refused at once has a slot (it records until its client gives up).
            while monotonicSeconds() - closed < 10 {
                let asked = monotonicSeconds() - closed
                let r = TestHTTP.get("http://127.0.0.1:\(port)/debug/pprof/profile?seconds=5", timeout: 0.3)
                if r.status != 429 { return (full, asked) }
                usleep(10_000)
            }
            return (full, .infinity)
        }
        print("HARDENING 8 abandoned 300 s profiles: the first request \(fixed(freedAfter * 1000, 0)) ms after their clients left got a slot")
        #expect(full == 429)
        #expect(freedAfter < 1)
    }
}
