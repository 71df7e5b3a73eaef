import LookoutCore
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// What the agent shows and writes never holds a watched process' command line or
/// environment, nor a credential from its configuration: not in /metrics (any format),
/// /api/v1/*, the status page, a profile, the logs (at debug level) or the outbox on disk.
@Suite struct DataHygieneTests {
    @Test func noCommandLineEnvironmentOrSecretIsExportedLoggedOrStored() async throws {
        let server = try TestServer()
        server.set("/metrics", body: "app_up 1\n", headers: ["Content-Type": "text/plain; version=0.0.4"])
        server.set("/hook", status: 200, body: "ok")
        server.set("/hook-failing", status: 500, body: "no")
        let dir = TemporaryDirectory(prefix: "lookout-hygiene")
        dir.write("rules.yml", probeFailedRules)

        // Each secret is distinctive, so any trace of it (whole) is found.
        let argvSecret = "ARGV-SECRET-7f3a9c"
        let envSecret = "ENV-SECRET-51be0d"
        let secrets: [String: String] = [
            "target bearer token": "tok-TARGET-BEARER-c0ffee",
            "target header": "hdr-TARGET-HEADER-9d2e41",
            "target basic password": "pw-TARGET-BASIC-77aa1c",
            "target URL password": "pw-TARGET-URL-4b8f02",
            "target bearer token file": "tok-TARGET-FILE-e61d5a",
            "webhook bearer token": "tok-WEBHOOK-BEARER-0a9f33",
            "webhook HMAC secret": "hmac-WEBHOOK-SECRET-12ab9e",
            "webhook HMAC secret file": "hmac-WEBHOOK-FILE-5c4d7e",
            "webhook basic password": "pw-WEBHOOK-BASIC-d00d1e",
            "webhook URL password": "pw-WEBHOOK-URL-8e7f60",
            "own bearer token": "tok-WEB-OWN-3141592",
            "own basic password": "pw-WEB-OWN-2718281",
            "refused bearer token": "tok-WRONG-GUESS-161803",
            "refused basic password": "pw-WRONG-GUESS-141421",
            "command line": argvSecret,
            "environment": envSecret,
        ]
        dir.write("target.token", secrets["target bearer token file"]! + "\n")
        dir.write("hook.key", secrets["webhook HMAC secret file"]! + "\n")
        dir.write("web.token", secrets["own bearer token"]! + "\n")
        let hash = try #require(Self.bcrypt(secrets["own basic password"]!))
        let webConfig = dir.write(
            "web.yml",
            """
            basic_auth_users:
              admin: '\(hash)'
            bearer_token_files: [web.token]
            unauthenticated_paths: [/-/healthy]
            """)
        let dead = Net.freePort()
        let config = """
            processes:
              - name: hygiene
                comm: "^lkhygiene$"
                threads: true
              - name: bycmdline
                cmdline: ".*\(argvSecret).*"
            targets:
              - name: bearer
                health:
                  live: \(server.url("/status/401"))
                bearer_token: \(secrets["target bearer token"]!)
                headers:
                  X-Api-Key: \(secrets["target header"]!)
                interval: 500ms
                timeout: 500ms
              - name: basic
                health:
                  live: \(server.url("/ok"))
                basic_auth:
                  username: alice
                  password: \(secrets["target basic password"]!)
                interval: 500ms
                timeout: 500ms
              - name: userinfo
                health:
                  live: http://bob:\(secrets["target URL password"]!)@127.0.0.1:\(server.port)/status/500
                interval: 500ms
                timeout: 500ms
              - name: tokenfile
                metrics: \(server.url("/metrics"))
                bearer_token_file: target.token
                interval: 500ms
                timeout: 500ms
            rules:
              files: [rules.yml]
              interval: 500ms
            notify:
              min_backoff: 100ms
              max_backoff: 200ms
              webhooks:
                - url: \(server.url("/hook"))
                  name: signed
                  group_wait: 0s
                  bearer_token: \(secrets["webhook bearer token"]!)
                  hmac_secret: \(secrets["webhook HMAC secret"]!)
                - url: \(server.url("/hook-failing"))
                  name: failing
                  group_wait: 0s
                  hmac_secret_file: hook.key
                - url: http://carol:\(secrets["webhook URL password"]!)@127.0.0.1:\(dead)/hook
                  name: down
                  group_wait: 0s
                - url: \(server.url("/hook-basic"))
                  name: basic
                  group_wait: 0s
                  basic_auth:
                    username: dave
                    password: \(secrets["webhook basic password"]!)
            """
        // The watched process: its comm is the link's name; the secret is in its arguments
        // and its environment.
        dir.symlink("lkhygiene", to: "/bin/sh")
        let watched = try ChildProcess(
            [dir.path + "/lkhygiene", "-c", "while :; do sleep 0.2; done", "lkhygiene", "--password=\(argvSecret)"],
            environment: ["LOOKOUT_TEST_PASSWORD": envSecret])
        defer { watched.kill() }

        let agent = try AgentProcess(
            config: config, arguments: ["--log.level", "debug", "--web.config.file", webConfig], workingDirectory: dir)
        let auth = "Authorization: Bearer \(secrets["own bearer token"]!)"
        let basicAuth = "Authorization: Basic \(Self.base64("admin:\(secrets["own basic password"]!)"))"

        // Until every part has done its work: the groups sampled, the probes failed, the
        // notifications sent, retried and refused.
        let busy = await waitUntil(timeout: .seconds(30), every: .milliseconds(250)) {
            let r = agent.get("/metrics", headers: [auth])
            guard r.status == 200 else { return false }
            let s = ExpositionText.parse(r.text)
            return s.value("lookout_processes", ["group": "hygiene"]) ?? 0 >= 1
                && s.value("lookout_processes", ["group": "bycmdline"]) ?? 0 >= 1
                && s.value("lookout_notifications_total", ["receiver": "signed", "result": "success"]) ?? 0 >= 1
                && s.value("lookout_notifications_total", ["receiver": "basic", "result": "dropped"]) ?? 0 >= 1
                && s.value("lookout_notifications_total", ["receiver": "failing", "result": "retry"]) ?? 0 >= 1
                && s.value("lookout_notifications_total", ["receiver": "down", "result": "retry"]) ?? 0 >= 1
                && s.value("app_up", ["target": "tokenfile"]) == 1
        }
        #expect(busy, "\(agent.get("/metrics", headers: [auth]).text.split(separator: "\n").filter { $0.contains("notif") || $0.contains("lookout_processes") })\n\(agent.log)")

        // Not vacuous: the secrets were in use.
        #expect(server.received("/status/401").last?.headers["Authorization"] == "Bearer \(secrets["target bearer token"]!)")
        #expect(server.received("/status/401").last?.headers["X-Api-Key"] == secrets["target header"])
        #expect(server.received("/metrics").last?.headers["Authorization"] == "Bearer \(secrets["target bearer token file"]!)")
        #expect(server.received("/hook").first?.headers["Authorization"] == "Bearer \(secrets["webhook bearer token"]!)")
        #expect(server.received("/hook").first?.headers["X-Lookout-Signature"]?.hasPrefix("sha256=") == true)
        #expect(agent.get("/metrics", headers: [basicAuth]).status == 200)
        let cmdline = (try? FileIO.read("/proc/\(watched.pid)/cmdline", limit: 4096)) ?? []
        #expect(String(decoding: cmdline, as: UTF8.self).contains(argvSecret))

        // Refused credentials are not logged either.
        let refused = [
            "Authorization: Bearer \(secrets["refused bearer token"]!)",
            "Authorization: Basic \(Self.base64("admin:\(secrets["refused basic password"]!)"))",
        ]
        for h in refused { #expect(agent.get("/api/v1/targets", headers: [h]).status == 401) }

        var outputs: [(String, [UInt8])] = []
        for (name, accept) in [
            ("text", "text/plain"), ("openmetrics", "application/openmetrics-text; version=1.0.0"),
            ("protobuf", "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"),
        ] {
            let r = agent.get("/metrics", headers: [auth, "Accept: \(accept)"])
            #expect(r.status == 200, "\(name)")
            outputs.append(("/metrics (\(name))", r.body))
        }
        for path in ["/api/v1/targets", "/api/v1/alerts", "/api/v1/rules", "/", "/-/ready", "/-/healthy"] {
            let r = agent.get(path, headers: [auth])
            outputs.append((path, r.body))
        }
        let profile = agent.get("/debug/pprof/profile?seconds=1", headers: [auth])
        #expect(profile.status == 200)
        let gz = dir.write("profile.pb.gz", profile.body)
        let unzipped = Shell.run(["sh", "-c", "gzip -dc < '\(gz)'"])
        #expect(unzipped.status == 0)
        outputs.append(("/debug/pprof/profile", Array(unzipped.output.utf8)))
        outputs.append(("the log", Array(agent.log.utf8)))
        for file in Self.files(under: dir.path + "/data") {
            outputs.append((file, (try? FileIO.read(file, limit: 1 << 26)) ?? []))
        }
        #expect(outputs.contains { $0.0.hasSuffix("outbox.log") }, "\(outputs.map(\.0))")

        // Basic credentials as they travel in headers.
        let encoded = [
            "alice:\(secrets["target basic password"]!)", "bob:\(secrets["target URL password"]!)",
            "dave:\(secrets["webhook basic password"]!)", "carol:\(secrets["webhook URL password"]!)",
            "admin:\(secrets["own basic password"]!)", "admin:\(secrets["refused basic password"]!)",
        ].map(Self.base64)
        for (what, bytes) in outputs {
            let text = String(decoding: bytes, as: UTF8.self)
            // (The found flags keep the output's bytes out of the failure message.)
            for (kind, secret) in secrets {
                let found = text.contains(secret)
                #expect(!found, "the \(kind) appears in \(what)")
            }
            for e in encoded {
                let found = text.contains(e)
                #expect(!found, "basic credentials \(e) appear in \(what)")
            }
            let environment = text.contains("LOOKOUT_TEST_PASSWORD")
            #expect(!environment, "the watched process' environment appears in \(what)")
        }
        #expect(agent.log.contains("level=debug"))
    }

    static func base64(_ s: String) -> String {
        let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        let bytes = Array(s.utf8)
        var out = ""
        var i = 0
        while i < bytes.count {
            let b0 = UInt32(bytes[i]), b1 = i + 1 < bytes.count ? UInt32(bytes[i + 1]) : 0
            let b2 = i + 2 < bytes.count ? UInt32(bytes[i + 2]) : 0
            let v = b0 << 16 | b1 << 8 | b2
            out.append(table[Int(v >> 18 & 63)])
            out.append(table[Int(v >> 12 & 63)])
            out.append(i + 1 < bytes.count ? table[Int(v >> 6 & 63)] : "=")
            out.append(i + 2 < bytes.count ? table[Int(v & 63)] : "=")
            i += 3
        }
        return out
    }

    /// A bcrypt hash made by Python's crypt module (Debian's python3 still has it) or htpasswd.
    static func bcrypt(_ password: String) -> String? {
        let script = "import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))"
        let r = Shell.run(["/usr/bin/python3", "-W", "ignore", "-c", script, password])
        let hash = r.output.split(separator: "\n").last.map(String.init) ?? ""
        return r.status == 0 && hash.hasPrefix("$2") ? hash : nil
    }

    static func files(under path: String) -> [String] {
        var out: [String] = []
        guard let d = opendir(path) else { return out }
        defer { closedir(d) }
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name == "." || name == ".." { continue }
            let full = path + "/" + name
            var st = stat()
            if lstat(full, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR { out += files(under: full) } else { out.append(full) }
        }
        return out
    }
}
