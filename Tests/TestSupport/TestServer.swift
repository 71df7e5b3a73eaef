import LookoutCore

/// The scriptable HTTP server of `testserver.py`, started on a free loopback port and
/// killed by PID when released. See the script for the paths it answers.
public final class TestServer: @unchecked Sendable {
    public let port: Int
    private let process: ChildProcess

    public init() throws {
        var lastError: (any Error)?
        for _ in 0..<5 {
            let port = Net.freePort()
            do {
                let p = try ChildProcess(["python3", Repo.path("Tests/TestSupport/testserver.py"), String(port)])
                let deadline = SystemClock().now + .seconds(10)
                while !Net.isListening(port) && p.isRunning && SystemClock().now < deadline {
                    usleepMillis(10)
                }
                if Net.isListening(port) {
                    self.port = port
                    self.process = p
                    return
                }
                p.kill()
            } catch {
                lastError = error
            }
        }
        throw lastError ?? ChildProcess.SpawnError(command: "testserver.py", errno: 0)
    }

    /// Starts the server on `port` (one chosen earlier, e.g. a receiver's URL that was down
    /// until now). Throws when the port cannot be bound.
    public init(port: Int) throws {
        let p = try ChildProcess(["python3", Repo.path("Tests/TestSupport/testserver.py"), String(port)])
        let deadline = SystemClock().now + .seconds(10)
        while !Net.isListening(port) && p.isRunning && SystemClock().now < deadline {
            usleepMillis(10)
        }
        guard Net.isListening(port), p.isRunning else {
            p.kill()
            throw ChildProcess.SpawnError(command: "testserver.py on port \(port)", errno: 0)
        }
        self.port = port
        self.process = p
    }

    deinit { process.kill() }

    /// Stops the server now (a receiver going down); the port is free again afterwards.
    public func stop() { process.kill() }

    public var baseURL: String { "http://127.0.0.1:\(port)" }

    public func url(_ path: String) -> String { baseURL + path }

    /// Sets what `path` answers: status, body, headers, delay (s), fail_times/fail_status, hang.
    public func set(
        _ path: String, status: Int = 200, body: String = "", headers: [String: String] = [:], delay: Double = 0,
        failTimes: Int = 0, failStatus: Int = 500, hang: Bool = false
    ) {
        let spec: JSON = [
            "status": .number(Double(status)), "body": .string(body),
            "headers": .object(headers.map { ($0.key, .string($0.value)) }), "delay": .number(delay),
            "fail_times": .number(Double(failTimes)), "fail_status": .number(Double(failStatus)), "hang": .bool(hang),
        ]
        let r = TestHTTP.post(url("/_set?path=\(path)"), body: Array(spec.serialized().utf8))
        precondition(r.status == 200, "test server did not accept /_set: \(r.error ?? "\(r.status)")")
    }

    public struct Received: Sendable {
        public var method: String
        public var headers: [String: String]
        public var body: String
        /// The body's bytes as sent (binary bodies do not survive `body`'s UTF-8 decoding).
        public var bodyBytes: [UInt8]
        public var time: Double
    }

    /// The requests `path` has received so far.
    public func received(_ path: String) -> [Received] {
        let r = TestHTTP.get(url("/_received?path=\(path)"))
        guard r.status == 200, let json = try? JSON(parsing: r.body), let items = json.arrayValue else { return [] }
        return items.map { item in
            var headers: [String: String] = [:]
            for (k, v) in item["headers"]?.objectValue ?? [] { headers[k] = v.stringValue ?? "" }
            return Received(
                method: item["method"]?.stringValue ?? "", headers: headers, body: item["body"]?.stringValue ?? "",
                bodyBytes: Self.unhex(item["body_hex"]?.stringValue ?? ""), time: item["time"]?.doubleValue ?? 0)
        }
    }

    public func clear() {
        _ = TestHTTP.post(url("/_clear"))
    }

    static func unhex(_ s: String) -> [UInt8] {
        func nibble(_ c: UInt8) -> UInt8 { c <= 57 ? c - 48 : (c | 0x20) - 87 }
        let u = Array(s.utf8)
        return stride(from: 0, to: u.count - 1, by: 2).map { nibble(u[$0]) << 4 | nibble(u[$0 + 1]) }
    }
}

/// `testserver.py` over https, with a fresh self-signed certificate for 127.0.0.1 that
/// clients trust through `certFile`.
public final class TLSTestServer: @unchecked Sendable {
    public let port: Int
    /// The server's certificate (PEM), to use as the CA file.
    public let certFile: String
    private let dir = TemporaryDirectory()
    private let process: ChildProcess

    public struct StartError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Waits for the server without blocking a thread of the cooperative pool.
    public init() async throws {
        certFile = dir.path + "/cert.pem"
        let key = dir.path + "/key.pem"
        let gen = Shell.run([
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj",
            "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-days", "1", "-keyout", key, "-out", certFile,
        ])
        guard gen.status == 0 else { throw StartError(description: "openssl: \(gen.output)") }
        let port = Net.freePort()
        self.port = port
        process = try ChildProcess(
            ["python3", Repo.path("Tests/TestSupport/testserver.py"), String(port), "--tls", certFile, key])
        guard await waitUntil(timeout: .seconds(10), { Net.isListening(port) }) else {
            process.kill()
            throw StartError(description: "testserver.py --tls did not listen on \(port)")
        }
    }

    deinit { process.kill() }

    public func url(_ path: String) -> String { "https://127.0.0.1:\(port)" + path }
}

#if canImport(Glibc)
import Glibc
#endif

func usleepMillis(_ ms: Int) { usleep(UInt32(ms * 1000)) }
