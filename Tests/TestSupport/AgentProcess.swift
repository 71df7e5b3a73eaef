import LookoutCore

#if canImport(Glibc)
import Glibc
#endif

/// The `lookout` executable built next to the test bundle.
public enum LookoutBinary {
    public static var path: String {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        let exe = n > 0 ? String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
        var dir = exe
        while let slash = dir.lastIndex(of: "/") {
            dir = String(dir[..<slash])
            if FileIO.exists(dir + "/lookout") && !dir.hasSuffix(".xctest") { return dir + "/lookout" }
            if dir.hasSuffix("/debug") || dir.hasSuffix("/release") { break }
        }
        return Repo.path(".build/debug/lookout")
    }

    /// Runs the binary to completion with `args`; returns exit status and combined output.
    public static func run(_ args: [String], timeout: Duration = .seconds(60)) -> (status: Int32, output: String) {
        Shell.run([path] + args, timeout: timeout)
    }
}

/// A running `lookout run` on a free loopback port, stopped (SIGTERM, then SIGKILL) on release.
public final class AgentProcess: @unchecked Sendable {
    public let port: Int
    public let process: ChildProcess
    public let logPath: String
    private let directory: TemporaryDirectory

    /// Starts the agent with `config` (YAML text; nil = the embedded default) and extra arguments;
    /// waits until `/-/healthy` answers (sent with `healthHeaders`, e.g. credentials). `launcher`
    /// runs it (e.g. `setpriv` with other IDs).
    public init(
        config: String?, arguments: [String] = [], port: Int? = nil, workingDirectory: TemporaryDirectory? = nil,
        healthHeaders: [String] = [], launcher: [String] = []
    ) throws {
        let dir = workingDirectory ?? TemporaryDirectory(prefix: "lookout-agent")
        self.directory = dir
        self.port = port ?? Net.freePort()
        var args = launcher + [LookoutBinary.path, "run", "--listen", "127.0.0.1:\(self.port)"]
        if let config {
            args += ["--config", dir.write("lookout.yml", config)]
        }
        args += arguments
        logPath = dir.path + "/agent.log"
        process = try ChildProcess(args, stdout: logPath, stderr: logPath, workingDirectory: dir.path)
        let deadline = SystemClock().now + .seconds(20)
        while SystemClock().now < deadline {
            if TestHTTP.get("http://127.0.0.1:\(self.port)/-/healthy", headers: healthHeaders, timeout: 1).status == 200 { return }
            if !process.isRunning { break }
            usleep(20_000)
        }
        throw ChildProcess.SpawnError(command: "lookout run (did not become healthy): \(log)", errno: 0)
    }

    deinit { process.terminate(grace: .seconds(3)) }

    public var baseURL: String { "http://127.0.0.1:\(port)" }
    public var configPath: String { directory.path + "/lookout.yml" }
    public var workingDirectory: String { directory.path }
    public var log: String { (try? FileIO.readText(logPath)) ?? "" }

    public func get(_ path: String, headers: [String] = []) -> TestHTTP.Response {
        TestHTTP.get(baseURL + path, headers: headers)
    }

    /// Replaces the config file atomically (for reload tests), as config management tools do.
    public func writeConfig(_ text: String) {
        try? FileIO.writeAtomically(configPath, Array(text.utf8))
    }
}
