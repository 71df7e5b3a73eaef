import LookoutCore

#if canImport(Glibc)
import Glibc
#endif

/// A real Prometheus (Debian `prometheus`) on a free loopback port, with its own data
/// directory; killed by PID on release.
public final class PrometheusServer: @unchecked Sendable {
    public let port: Int
    public let directory: TemporaryDirectory
    private let process: ChildProcess

    /// - Parameters:
    ///   - config: prometheus.yml text; rule files can be written into `directory` first via `files`.
    ///   - files: extra files (relative path → content) written next to the config.
    ///   - flags: extra command-line flags (e.g. `--enable-feature=native-histograms`).
    ///   - port, directory: those of an earlier server, to start it again with its data (a
    ///     receiver coming back after an outage).
    public init(
        config: String, files: [String: String] = [:], flags: [String] = [], port: Int? = nil,
        directory: TemporaryDirectory? = nil
    ) throws {
        self.directory = directory ?? TemporaryDirectory(prefix: "lookout-prometheus")
        let directory = self.directory
        for (path, content) in files { directory.write(path, content) }
        let configPath = directory.write("prometheus.yml", config)
        self.port = port ?? Net.freePort()
        let port = self.port
        let log = directory.path + "/prometheus.log"
        process = try ChildProcess(
            [
                "prometheus", "--config.file=\(configPath)", "--storage.tsdb.path=\(directory.path)/data",
                "--web.listen-address=127.0.0.1:\(port)", "--web.enable-lifecycle",
                "--storage.tsdb.retention.time=1h",
            ] + flags, stdout: log, stderr: log, workingDirectory: directory.path)
        let ready = try waitReady(url: "http://127.0.0.1:\(port)/-/ready", process: process, timeout: .seconds(30))
        if !ready { throw ChildProcess.SpawnError(command: "prometheus (not ready): \(self.log)", errno: 0) }
    }

    deinit { process.terminate(grace: .seconds(5)) }

    /// Stops the server now (SIGTERM: it closes its TSDB cleanly); the port is free afterwards.
    public func stop() { process.terminate(grace: .seconds(10)) }

    public var baseURL: String { "http://127.0.0.1:\(port)" }
    public var log: String { (try? FileIO.readText(directory.path + "/prometheus.log")) ?? "" }

    /// `GET /api/v1/query?query=...` → the `data.result` array (nil on error).
    public func query(_ promql: String) -> [JSON]? {
        let r = TestHTTP.get(baseURL + "/api/v1/query?query=" + URLEncoding.encode(promql))
        guard r.status == 200, let json = try? JSON(parsing: r.body), json["status"]?.stringValue == "success" else {
            return nil
        }
        return json["data"]?["result"]?.arrayValue
    }

    /// The error text Prometheus gives for a query, if any.
    public func queryError(_ promql: String) -> String? {
        let r = TestHTTP.get(baseURL + "/api/v1/query?query=" + URLEncoding.encode(promql))
        guard let json = try? JSON(parsing: r.body) else { return "HTTP \(r.status): \(r.text)" }
        if json["status"]?.stringValue == "success" { return nil }
        return json["error"]?.stringValue ?? r.text
    }

    /// A JSON API document, e.g. `/api/v1/targets`, `/api/v1/rules`, `/api/v1/alerts`.
    public func api(_ path: String) -> JSON? {
        let r = TestHTTP.get(baseURL + path)
        guard r.status == 200 else { return nil }
        return try? JSON(parsing: r.body)
    }
}

/// A real Alertmanager (Debian `prometheus-alertmanager`), clustering off.
public final class AlertmanagerServer: @unchecked Sendable {
    public let port: Int
    public let directory: TemporaryDirectory
    private let process: ChildProcess

    public init(config: String) throws {
        directory = TemporaryDirectory(prefix: "lookout-alertmanager")
        let configPath = directory.write("alertmanager.yml", config)
        port = Net.freePort()
        let log = directory.path + "/alertmanager.log"
        process = try ChildProcess(
            [
                "prometheus-alertmanager", "--config.file=\(configPath)", "--storage.path=\(directory.path)/data",
                "--web.listen-address=127.0.0.1:\(port)", "--cluster.listen-address=",
            ], stdout: log, stderr: log)
        let ready = try waitReady(url: "http://127.0.0.1:\(port)/-/ready", process: process, timeout: .seconds(30))
        if !ready { throw ChildProcess.SpawnError(command: "alertmanager (not ready): \(self.log)", errno: 0) }
    }

    deinit { process.terminate(grace: .seconds(5)) }

    public var baseURL: String { "http://127.0.0.1:\(port)" }
    public var log: String { (try? FileIO.readText(directory.path + "/alertmanager.log")) ?? "" }

    /// `GET /api/v2/alerts`.
    public func alerts() -> [JSON] {
        let r = TestHTTP.get(baseURL + "/api/v2/alerts")
        return (try? JSON(parsing: r.body))?.arrayValue ?? []
    }
}

/// A real node_exporter (Debian `prometheus-node-exporter`).
public final class NodeExporter: @unchecked Sendable {
    public let port: Int
    private let process: ChildProcess
    private let directory = TemporaryDirectory(prefix: "lookout-node-exporter")

    public init(flags: [String] = ["--collector.disable-defaults", "--collector.cpu"]) throws {
        port = Net.freePort()
        let log = directory.path + "/node_exporter.log"
        process = try ChildProcess(
            ["prometheus-node-exporter", "--web.listen-address=127.0.0.1:\(port)"] + flags, stdout: log, stderr: log)
        let ready = try waitReady(url: "http://127.0.0.1:\(port)/metrics", process: process, timeout: .seconds(20))
        if !ready { throw ChildProcess.SpawnError(command: "node_exporter did not start", errno: 0) }
    }

    deinit { process.terminate(grace: .seconds(5)) }

    public var metricsURL: String { "http://127.0.0.1:\(port)/metrics" }
}

private func waitReady(url: String, process: ChildProcess, timeout: Duration) throws -> Bool {
    let deadline = SystemClock().now + timeout
    while SystemClock().now < deadline {
        if TestHTTP.get(url, timeout: 1).status == 200 { return true }
        if !process.isRunning { return false }
        usleep(50_000)
    }
    return false
}

public enum URLEncoding {
    /// Percent-encodes everything but unreserved characters (RFC 3986).
    public static func encode(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case 65...90, 97...122, 48...57, 45, 46, 95, 126: out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                let hex = Array("0123456789ABCDEF")
                out += "%\(hex[Int(b >> 4)])\(hex[Int(b & 15)])"
            }
        }
        return out
    }
}
