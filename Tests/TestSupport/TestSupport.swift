#if canImport(Glibc)
import Glibc
#endif
import LookoutCore

/// Paths of the repository, for tests that need its files (rules, dashboards, scripts).
public enum Repo {
    /// The repository root, derived from this file's location.
    public static let root: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)  // Tests/TestSupport/TestSupport.swift
        return parts.joined(separator: "/")
    }()

    public static func path(_ relative: String) -> String { root + "/" + relative }

    /// Directory for artifacts tests keep (screenshots, logs); created on demand.
    public static var artifacts: String {
        let p = path("artifacts")
        try? FileIO.makeDirectories(p)
        return p
    }
}

/// A temporary directory removed when the value is deinitialized.
public final class TemporaryDirectory: @unchecked Sendable {
    public let path: String

    public init(prefix: String = "lookout-test") {
        var template = Array("/tmp/\(prefix)-XXXXXX".utf8CString)
        let p = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(p != nil, "mkdtemp failed")
        path = String(cString: p!)
    }

    deinit { Shell.removeTree(path) }

    /// Writes `contents` at `relative` (creating directories).
    @discardableResult
    public func write(_ relative: String, _ contents: String) -> String {
        write(relative, Array(contents.utf8))
    }

    @discardableResult
    public func write(_ relative: String, _ bytes: [UInt8]) -> String {
        let full = path + "/" + relative
        if let slash = full.lastIndex(of: "/") { try? FileIO.makeDirectories(String(full[..<slash])) }
        let fd = open(full, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        precondition(fd >= 0, "cannot create \(full)")
        bytes.withUnsafeBytes { _ = Glibc.write(fd, $0.baseAddress, $0.count) }
        close(fd)
        return full
    }

    /// Creates a symbolic link at `relative` pointing to `target`.
    public func symlink(_ relative: String, to target: String) {
        let full = path + "/" + relative
        if let slash = full.lastIndex(of: "/") { try? FileIO.makeDirectories(String(full[..<slash])) }
        Glibc.symlink(target, full)
    }

    public func mkdir(_ relative: String) {
        try? FileIO.makeDirectories(path + "/" + relative)
    }

    public func remove(_ relative: String) {
        Shell.removeTree(path + "/" + relative)
    }
}

public enum Shell {
    /// `rm -rf` without a subprocess.
    public static func removeTree(_ path: String) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            if let dir = opendir(path) {
                while let e = readdir(dir) {
                    let name = withUnsafeBytes(of: e.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
                    if name == "." || name == ".." { continue }
                    removeTree(path + "/" + name)
                }
                closedir(dir)
            }
            rmdir(path)
        } else {
            unlink(path)
        }
    }

    /// The full path of an executable on PATH, or nil.
    public static func which(_ tool: String) -> String? {
        let path = String(cString: getenv("PATH") ?? strdup("/usr/bin:/bin"))
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(tool)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    /// Runs a command to completion; returns its exit status and standard output.
    public static func run(_ args: [String], timeout: Duration = .seconds(60)) -> (status: Int32, output: String) {
        let dir = TemporaryDirectory(prefix: "lookout-run")
        let out = dir.path + "/out"
        guard let p = try? ChildProcess(args, stdout: out, stderr: out) else { return (-1, "cannot start \(args[0])") }
        let status = p.wait(timeout: timeout) ?? { p.kill(); return -9 }()
        return (status, (try? FileIO.readText(out)) ?? "")
    }
}

/// A child process started with posix_spawn; killed by PID when the test is done.
public final class ChildProcess: @unchecked Sendable {
    public let pid: pid_t
    public let arguments: [String]
    public private(set) var exitStatus: Int32?

    public struct SpawnError: Error, CustomStringConvertible {
        public let command: String
        public let errno: Int32
        public var description: String { "cannot start \(command): \(String(cString: strerror(errno)))" }
    }

    /// Starts `args[0]` (looked up on PATH) with `args`; output goes to the given files (or /dev/null).
    public init(
        _ args: [String], stdout: String? = nil, stderr: String? = nil, environment: [String: String] = [:],
        workingDirectory: String? = nil
    ) throws {
        arguments = args
        // posix_spawn has no portable chdir action here: let a shell change directory, then exec.
        let args = workingDirectory.map { ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", $0] + args } ?? args
        let exe = args[0].contains("/") ? args[0] : (Shell.which(args[0]) ?? args[0])
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout ?? "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderr ?? "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0o644)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        // Own process group, so a kill reaches the child's children too.
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        posix_spawnattr_setpgroup(&attr, 0)
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attr, &noSignals)
        var defaults = sigset_t()
        sigfillset(&defaults)
        posix_spawnattr_setsigdefault(&attr, &defaults)

        var env = [String: String]()
        var e = environ
        while let p = e.pointee {
            let s = String(cString: p)
            if let eq = s.firstIndex(of: "=") { env[String(s[..<eq])] = String(s[s.index(after: eq)...]) }
            e += 1
        }
        for (k, v) in environment { env[k] = v }
        let argv = args.map { strdup($0) } + [nil]
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, exe, &actions, &attr, argv, envp)
        guard rc == 0 else { throw SpawnError(command: args[0], errno: rc) }
        self.pid = pid
    }

    deinit { kill() }

    /// Sends a signal to the child process (once: not to its group as well, which would deliver it twice).
    public func signal(_ sig: Int32) {
        guard exitStatus == nil else { return }
        Glibc.kill(pid, sig)
    }

    /// Sends a signal to the child's whole process group (the child and anything it started).
    public func signalGroup(_ sig: Int32) {
        guard exitStatus == nil else { return }
        Glibc.kill(-pid, sig)
    }

    /// SIGKILL to the group, and reap.
    public func kill() {
        guard exitStatus == nil else { return }
        signalGroup(SIGKILL)
        _ = wait(timeout: .seconds(5))
    }

    /// SIGTERM, then SIGKILL if it has not exited within `grace`. Returns the exit status.
    @discardableResult
    public func terminate(grace: Duration = .seconds(5)) -> Int32? {
        signal(SIGTERM)
        if let s = wait(timeout: grace) { return s }
        kill()
        return exitStatus
    }

    public var isRunning: Bool {
        if exitStatus != nil { return false }
        return poll() == nil
    }

    private func poll() -> Int32? {
        if let exitStatus { return exitStatus }
        var status: Int32 = 0
        let r = waitpid(pid, &status, WNOHANG)
        if r == pid {
            // WIFEXITED / WEXITSTATUS / WTERMSIG are macros.
            let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : -(status & 0x7f)
            exitStatus = code
            return code
        }
        if r < 0 { exitStatus = -1; return -1 }
        return nil
    }

    /// Waits for exit; returns the exit code (negative signal number when killed), or nil on timeout.
    public func wait(timeout: Duration) -> Int32? {
        let deadline = SystemClock().now + timeout
        while true {
            if let s = poll() { return s }
            if SystemClock().now >= deadline { return nil }
            usleep(5_000)
        }
    }
}

public enum Net {
    /// A TCP port on 127.0.0.1 that was free a moment ago.
    public static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// Whether something accepts TCP connections on 127.0.0.1:port.
    public static func isListening(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}

/// Polls `condition` until it holds or `timeout` passes (real time).
public func waitUntil(
    timeout: Duration = .seconds(10), every interval: Duration = .milliseconds(20), _ condition: () async throws -> Bool
) async rethrows -> Bool {
    let deadline = SystemClock().now + timeout
    while true {
        if try await condition() { return true }
        if SystemClock().now >= deadline { return false }
        try? await Task.sleep(for: interval)
    }
}

/// `value` with `digits` decimals (like `%.Nf`), for the figures tests print.
public func fixed(_ value: Double, _ digits: Int) -> String {
    guard value.isFinite else { return String(value) }
    var scale = 1
    for _ in 0..<digits { scale *= 10 }
    let n = Int((abs(value) * Double(scale)).rounded())
    let fraction = String(n % scale)
    let padded = String(repeating: "0", count: max(0, digits - fraction.count)) + fraction
    return (value < 0 && n != 0 ? "-" : "") + String(n / scale) + (digits > 0 ? "." + padded : "")
}

/// Runs blocking work (sockets, curl, sleeps) on a thread of its own. Swift's cooperative
/// pool has one thread per core (two here); tests that block them starve the asynchronous
/// code under test, so a test that waits on a blocking client hands it to this.
public func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        let job = Unmanaged.passRetained(ThreadJob { continuation.resume(returning: body()) }).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { arg in
            Unmanaged<ThreadJob>.fromOpaque(arg!).takeRetainedValue().run()
            return nil
        }, job)
        precondition(rc == 0, "pthread_create failed")
        pthread_detach(thread)
    }
}

private final class ThreadJob: @unchecked Sendable {
    let run: () -> Void
    init(_ run: @escaping () -> Void) { self.run = run }
}

/// SplitMix64: a small deterministic generator, so a failing random test can be replayed
/// from its seed.
public struct SplitMix: RandomNumberGenerator {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
