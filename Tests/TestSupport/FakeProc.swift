#if canImport(Glibc)
import Glibc
#endif
import LookoutCore

/// A procfs and sysfs tree on disk, written the way the kernel formats its files, for
/// tests of /proc readers. Files are rewritten in place (same inode), so readers that keep
/// them open see new content, as with the real /proc.
public final class FakeProc: @unchecked Sendable {
    public let directory: TemporaryDirectory
    public var root: String { directory.path + "/proc" }
    public var sysRoot: String { directory.path + "/sys" }

    public struct Thread: Sendable {
        public var tid: Int32
        public var comm: String
        public var state: Character
        /// On-CPU nanoseconds (schedstat).
        public var runNanoseconds: UInt64
        public var utime: UInt64
        public var stime: UInt64
        public var voluntarySwitches: UInt64
        public var nonvoluntarySwitches: UInt64
        /// `0` when not waiting.
        public var wchan: String
        /// `task/TID/syscall` content, e.g. "running" or "202 0x7f00 0x80 ...".
        public var syscall: String

        public init(
            tid: Int32, comm: String, state: Character = "S", runNanoseconds: UInt64 = 0, utime: UInt64 = 0, stime: UInt64 = 0,
            voluntarySwitches: UInt64 = 0, nonvoluntarySwitches: UInt64 = 0, wchan: String = "0", syscall: String = "running"
        ) {
            self.tid = tid
            self.comm = comm
            self.state = state
            self.runNanoseconds = runNanoseconds
            self.utime = utime
            self.stime = stime
            self.voluntarySwitches = voluntarySwitches
            self.nonvoluntarySwitches = nonvoluntarySwitches
            self.wchan = wchan
            self.syscall = syscall
        }
    }

    public struct Process: Sendable {
        public var pid: Int32
        public var comm: String
        public var state: Character = "S"
        public var ppid: Int32 = 1
        public var flags: UInt64 = 0x0040_0100
        /// Whole-process ticks (including exited threads).
        public var utime: UInt64 = 0
        public var stime: UInt64 = 0
        public var startTime: UInt64 = 1000
        public var rssPages: UInt64 = 100
        public var openFDs: Int = 3
        public var cmdline: [String] = []
        public var cgroup: String = "0::/\n"
        /// Empty: one thread with tid == pid, named like the process.
        public var threads: [Thread] = []

        public init(pid: Int32, comm: String) {
            self.pid = pid
            self.comm = comm
        }

        var allThreads: [Thread] { threads.isEmpty ? [Thread(tid: pid, comm: comm, state: state)] : threads }
    }

    public init() {
        directory = TemporaryDirectory(prefix: "lookout-fakeproc")
        directory.mkdir("proc")
        directory.mkdir("sys")
    }

    /// Writes `proc/<relative>`.
    public func write(_ relative: String, _ content: String) {
        directory.write("proc/" + relative, content)
    }

    /// Writes `sys/<relative>`.
    public func writeSys(_ relative: String, _ content: String) {
        directory.write("sys/" + relative, content)
    }

    public func remove(_ relative: String) {
        directory.remove("proc/" + relative)
    }

    /// /proc/stat with one line per CPU: [user, nice, system, idle, iowait, irq, softirq, steal, guest, guest_nice].
    public func setStat(_ cpus: [[UInt64]]) {
        var total = [UInt64](repeating: 0, count: 10)
        for c in cpus { for (i, v) in c.enumerated() { total[i] += v } }
        var s = "cpu  " + total.map(String.init).joined(separator: " ") + "\n"
        for (n, c) in cpus.enumerated() { s += "cpu\(n) " + c.map(String.init).joined(separator: " ") + "\n" }
        s += "intr 12345 " + String(repeating: "0 ", count: 64) + "\nctxt 987654\nbtime 1790000000\nprocesses 4242\n"
        s += "procs_running 2\nprocs_blocked 0\nsoftirq 1 2 3 4 5 6 7 8 9 10 11\n"
        write("stat", s)
    }

    /// `self` → pid.
    public func setSelf(_ pid: Int32) {
        unlink(root + "/self")
        Glibc.symlink(String(pid), root + "/self")
    }

    public func statLine(_ pid: Int32, comm: String, state: Character, ppid: Int32, flags: UInt64, utime: UInt64, stime: UInt64,
        threads: Int, startTime: UInt64, rssPages: UInt64) -> String
    {
        // 52 fields as proc(5) lists them (kernel 5.x/6.x).
        var f = ["\(pid)", "(\(comm))", String(state), "\(ppid)", "\(pid)", "\(pid)", "0", "-1", "\(flags)", "120", "0", "3", "0",
            "\(utime)", "\(stime)", "0", "0", "20", "0", "\(threads)", "0", "\(startTime)", "\(rssPages * 4096 * 3)", "\(rssPages)",
            "18446744073709551615"]
        while f.count < 38 { f.append("0") }
        f.append("1")  // 39: processor
        while f.count < 52 { f.append("0") }
        return f.joined(separator: " ") + "\n"
    }

    public func addProcess(_ p: Process) {
        let base = "\(p.pid)"
        let threads = p.allThreads
        let kernel = p.flags & 0x0020_0000 != 0
        write(
            base + "/stat",
            statLine(p.pid, comm: p.comm, state: p.state, ppid: p.ppid, flags: p.flags, utime: p.utime, stime: p.stime,
                threads: threads.count, startTime: p.startTime, rssPages: kernel ? 0 : p.rssPages))
        let leader = threads.first { $0.tid == p.pid } ?? threads[0]
        write(base + "/status", status(name: p.comm, state: p.state, tgid: p.pid, pid: p.pid, ppid: p.ppid, threads: threads.count,
            rssPages: kernel ? nil : p.rssPages, voluntary: leader.voluntarySwitches, nonvoluntary: leader.nonvoluntarySwitches))
        write(base + "/statm", kernel ? "0 0 0 0 0 0 0\n" : "\(p.rssPages * 3) \(p.rssPages) 50 10 0 \(p.rssPages) 0\n")
        write(base + "/schedstat", "\(leader.runNanoseconds) 1000 10\n")
        write(base + "/comm", p.comm + "\n")
        write(base + "/cmdline", p.cmdline.isEmpty ? "" : p.cmdline.joined(separator: "\u{0}") + "\u{0}")
        write(base + "/cgroup", p.cgroup)
        directory.mkdir("proc/\(base)/fd")
        for i in 0..<p.openFDs { directory.symlink("proc/\(base)/fd/\(i)", to: "/dev/null") }
        for t in threads { setThread(p.pid, t, threadsInProcess: threads.count, ppid: p.ppid, flags: p.flags, startTime: p.startTime) }
    }

    public func setThread(_ pid: Int32, _ t: Thread, threadsInProcess: Int = 1, ppid: Int32 = 1, flags: UInt64 = 0x0040_0100,
        startTime: UInt64 = 1000)
    {
        let base = "\(pid)/task/\(t.tid)"
        write(
            base + "/stat",
            statLine(t.tid, comm: t.comm, state: t.state, ppid: ppid, flags: flags, utime: t.utime, stime: t.stime,
                threads: threadsInProcess, startTime: startTime, rssPages: 0))
        write(base + "/status", status(name: t.comm, state: t.state, tgid: pid, pid: t.tid, ppid: ppid, threads: threadsInProcess,
            rssPages: nil, voluntary: t.voluntarySwitches, nonvoluntary: t.nonvoluntarySwitches))
        write(base + "/schedstat", "\(t.runNanoseconds) 2000 20\n")
        write(base + "/comm", t.comm + "\n")
        write(base + "/wchan", t.wchan)
        write(base + "/syscall", t.syscall + "\n")
    }

    /// Sets a thread's on-CPU nanoseconds (task/TID/schedstat).
    public func setRun(_ pid: Int32, tid: Int32, _ nanoseconds: UInt64) {
        write("\(pid)/task/\(tid)/schedstat", "\(nanoseconds) 2000 20\n")
    }

    /// The process exits and is reaped: its files go empty (as reads of a dead task's kept-open
    /// files fail) and its directory disappears.
    public func removeProcess(_ pid: Int32) {
        let base = root + "/\(pid)"
        for f in ["stat", "status", "statm", "schedstat", "comm", "cgroup"] { truncate(base + "/" + f, 0) }
        if let dir = opendir(base + "/task") {
            var tids: [String] = []
            while let e = readdir(dir) {
                let name = withUnsafeBytes(of: e.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
                if name != "." && name != ".." { tids.append(name) }
            }
            closedir(dir)
            for t in tids { for f in ["stat", "status", "schedstat", "comm"] { truncate(base + "/task/\(t)/" + f, 0) } }
        }
        Shell.removeTree(base)
    }

    func status(
        name: String, state: Character, tgid: Int32, pid: Int32, ppid: Int32, threads: Int, rssPages: UInt64?, voluntary: UInt64,
        nonvoluntary: UInt64
    ) -> String {
        let stateName: [Character: String] = ["R": "running", "S": "sleeping", "D": "disk sleep", "Z": "zombie", "I": "idle", "T": "stopped"]
        var s = "Name:\t\(name.replacingOccurrences("\\", "\\\\").replacingOccurrences("\n", "\\n"))\nUmask:\t0022\n"
        s += "State:\t\(state) (\(stateName[state] ?? "sleeping"))\nTgid:\t\(tgid)\nNgid:\t0\nPid:\t\(pid)\nPPid:\t\(ppid)\n"
        s += "TracerPid:\t0\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nFDSize:\t64\n"
        if let rssPages {
            s += "VmPeak:\t  \(rssPages * 12) kB\nVmSize:\t  \(rssPages * 12) kB\nVmRSS:\t  \(rssPages * 4) kB\n"
        }
        s += "Threads:\t\(threads)\nSigQ:\t0/31398\nCpus_allowed_list:\t0-1\n"
        s += "voluntary_ctxt_switches:\t\(voluntary)\nnonvoluntary_ctxt_switches:\t\(nonvoluntary)\n"
        return s
    }
}

extension String {
    fileprivate func replacingOccurrences(_ target: String, _ replacement: String) -> String {
        guard contains(target) else { return self }
        var out = ""
        var rest = Substring(self)
        while let r = rest.firstRange(of: target) {
            out += rest[..<r.lowerBound]
            out += replacement
            rest = rest[r.upperBound...]
        }
        return out + rest
    }
}
