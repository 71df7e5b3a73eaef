#if canImport(Glibc)
import Glibc
#endif

struct NativeError: Error, CustomStringConvertible {
    let description: String
}

/// The small C programs of Benchmarks/native (idle processes, a fast HTTP endpoint),
/// compiled with gcc on first use, and child processes started without the allocation
/// counter preloaded.
enum Native {
    /// Benchmarks/native, from this file's place in the source tree.
    static let sourceDirectory: String = {
        let file = #filePath
        var parts = file.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)  // Sources/lookout-bench/Native.swift
        return parts.joined(separator: "/") + "/native"
    }()

    static let buildDirectory = "/tmp/lookout-bench-native-\(getuid())"

    /// Compiles `native/NAME.c` to an executable named `outputName` (the process' comm) and
    /// returns its path.
    static func compile(_ name: String, as outputName: String? = nil) throws -> String {
        mkdir(buildDirectory, 0o755)
        let source = "\(sourceDirectory)/\(name).c"
        let output = "\(buildDirectory)/\(outputName ?? name)"
        guard access(source, R_OK) == 0 else { throw NativeError(description: "\(source) not found") }
        let status = try run(["/usr/bin/env", "gcc", "-O2", "-pthread", "-o", output, source])
        guard status == 0 else { throw NativeError(description: "gcc failed on \(source) (exit \(status))") }
        return output
    }

    /// The environment for children: the allocation counter stays in this process.
    static func childEnvironment() -> [String] {
        var out: [String] = []
        var p = environ
        while let entry = p.pointee {
            let s = String(cString: entry)
            if !s.hasPrefix("LD_PRELOAD=") && !s.hasPrefix("LOOKOUT_BENCH_PRELOADED=") { out.append(s) }
            p += 1
        }
        return out
    }

    /// Starts `argv`; with `captureStdout` its standard output is a pipe whose read end is returned.
    static func spawn(_ argv: [String], captureStdout: Bool = false) throws -> (pid: pid_t, stdout: Int32?) {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var pipeFDs: [Int32] = [-1, -1]
        if captureStdout {
            guard pipe(&pipeFDs) == 0 else { throw NativeError(description: "pipe failed") }
            posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 1)
            posix_spawn_file_actions_addclose(&actions, pipeFDs[0])
        }
        let args = argv.map { strdup($0) } + [nil]
        let env = childEnvironment().map { strdup($0) } + [nil]
        defer {
            for a in args { free(a) }
            for e in env { free(e) }
        }
        // The child starts with no blocked signals and default dispositions (a worker
        // thread may block SIGTERM, and the mask is inherited), so SIGTERM stops it.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for s in [SIGTERM, SIGINT, SIGHUP, SIGPIPE] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid = pid_t()
        let rc = posix_spawnp(&pid, argv[0], &actions, &attributes, args, env)
        if captureStdout { close(pipeFDs[1]) }
        guard rc == 0 else { throw NativeError(description: "cannot start \(argv[0]): \(String(cString: strerror(rc)))") }
        return (pid, captureStdout ? pipeFDs[0] : nil)
    }

    /// Runs `argv` to completion; returns its exit status.
    static func run(_ argv: [String]) throws -> Int32 {
        let (pid, _) = try spawn(argv)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return (status >> 8) & 0xff
    }

    /// Starts `argv` and stops it (SIGTERM, then reaps it) when the benchmark is done.
    @discardableResult
    static func start(_ argv: [String], captureStdout: Bool = false) throws -> (pid: pid_t, stdout: Int32?) {
        let child = try spawn(argv, captureStdout: captureStdout)
        Cleanup.add {
            kill(child.pid, SIGTERM)
            var status: Int32 = 0
            _ = waitpid(child.pid, &status, 0)
            if let fd = child.stdout { close(fd) }
        }
        return child
    }

    /// One line from a pipe (blocking).
    static func readLine(_ fd: Int32) -> String {
        var bytes: [UInt8] = []
        var c: UInt8 = 0
        while read(fd, &c, 1) == 1 && c != 10 { bytes.append(c) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `count` idle processes named `comm`, each with `threads` threads; returns once every
    /// thread exists.
    static func idleProcesses(count: Int, threads: Int, comm: String = "lkb-idle") throws -> [pid_t] {
        let exe = try compile("idle_threads", as: comm)
        var pids: [pid_t] = []
        for _ in 0..<count { pids.append(try start([exe, String(threads)]).pid) }
        for pid in pids {
            var waited = 0
            while threadCount(pid) < threads {
                usleep(1000)
                waited += 1
                if waited > 5000 { throw NativeError(description: "idle process \(pid) did not start its threads") }
            }
        }
        return pids
    }

    static func threadCount(_ pid: pid_t) -> Int {
        guard let dir = opendir("/proc/\(pid)/task") else { return 0 }
        defer { closedir(dir) }
        var n = 0
        while let e = readdir(dir) {
            if withUnsafeBytes(of: e.pointee.d_name, { $0[0] != 46 }) { n += 1 }
        }
        return n
    }

    /// The fast local endpoint (`http_ok`): returns its port.
    static func httpOKServer() throws -> Int {
        let exe = try compile("http_ok")
        let child = try start([exe, "0"], captureStdout: true)
        guard let port = Int(readLine(child.stdout!)) else { throw NativeError(description: "http_ok printed no port") }
        return port
    }

    static func executablePath() -> String {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        guard n > 0 else { return CommandLine.arguments[0] }
        return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
