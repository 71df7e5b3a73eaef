#if canImport(Glibc)
import Glibc
#endif
import CLookout

/// A procfs mount and a sysfs mount, as values: `/proc` and `/sys` by default, fixture
/// trees in tests, `/host/proc` when the agent watches its host from a container.
///
/// Every reader returns `nil` when what it reads is gone (the process or thread exited,
/// the kernel has no such file): that is normal on a live system, not an error. Errors
/// are for content that does not parse and for refused reads.
public struct ProcFS: Sendable, Hashable {
    public let root: String
    public let sysRoot: String
    /// Ticks per second of /proc's time counters.
    public let userHZ: Int
    public let pageSize: Int
    /// `root` is a procfs mount (not a fixture tree or a copy): the kernel's own answers.
    public let isLiveProcfs: Bool

    /// Checks that `root` is a directory. `sysRoot` may be missing (no cgroup data then).
    public init(
        root: String = "/proc", sysRoot: String = "/sys", userHZ: Int = Int(lookout_clock_ticks()),
        pageSize: Int = Int(lookout_page_size())
    ) throws(ProcFSError) {
        let trimmed = root.count > 1 && root.hasSuffix("/") ? String(root.dropLast()) : root
        guard ProcFS.isDirectory(trimmed) else {
            throw ProcFSError(kind: .invalidRoot, path: root, reason: "not a directory")
        }
        self.root = trimmed
        self.sysRoot = sysRoot.count > 1 && sysRoot.hasSuffix("/") ? String(sysRoot.dropLast()) : sysRoot
        self.userHZ = max(userHZ, 1)
        self.pageSize = max(pageSize, 1)
        isLiveProcfs = lookout_is_procfs(trimmed) == 1
    }

    // MARK: paths

    public func path(_ relative: String) -> String { root + "/" + relative }
    public func path(pid: Int32, _ file: String) -> String { "\(root)/\(pid)/\(file)" }
    public func path(pid: Int32, tid: Int32, _ file: String) -> String { "\(root)/\(pid)/task/\(tid)/\(file)" }

    // MARK: files opened for repeated reads

    /// A handle for `file` of a process (`stat`, `schedstat`, ...) kept open between reads.
    public func processFile(pid: Int32, _ file: String, keepOpen: Bool = true) -> ProcFile {
        ProcFile(path(pid: pid, file), keepOpen: keepOpen, emptyMeansGone: file != "cmdline")
    }

    public func threadFile(pid: Int32, tid: Int32, _ file: String, keepOpen: Bool = true) -> ProcFile {
        ProcFile(path(pid: pid, tid: tid, file), keepOpen: keepOpen, emptyMeansGone: file == "stat" || file == "schedstat" || file == "status")
    }

    // MARK: one-shot reads

    /// Reads and parses a file once. nil when it does not exist.
    public func read<T>(
        _ path: String, buffer: ReadBuffer? = nil, emptyMeansGone: Bool = false,
        _ parse: (UnsafeRawBufferPointer) throws(ProcFSError) -> T
    ) throws(ProcFSError) -> T? {
        try ProcFile.readOnce(path, buffer ?? ReadBuffer(capacity: 4096), emptyMeansGone: emptyMeansGone, parse)
    }

    /// /proc/stat.
    public func systemStat(buffer: ReadBuffer? = nil) throws(ProcFSError) -> SystemStat {
        guard let s = try read(path("stat"), buffer: buffer, SystemStat.parse) else {
            throw ProcFSError(kind: .io, path: path("stat"), reason: "missing")
        }
        return s
    }

    /// /proc/pressure/cpu; nil when the kernel has no PSI (file absent, or disabled: EOPNOTSUPP).
    public func cpuPressure(buffer: ReadBuffer? = nil) throws(ProcFSError) -> Pressure? {
        do {
            return try read(path("pressure/cpu"), buffer: buffer, emptyMeansGone: true, Pressure.parse)
        } catch where error.errno == EOPNOTSUPP {
            return nil
        }
    }

    public func processStat(pid: Int32, buffer: ReadBuffer? = nil) throws(ProcFSError) -> ProcessStat? {
        try read(path(pid: pid, "stat"), buffer: buffer, emptyMeansGone: true, ProcessStat.parse)
    }

    public func threadStat(pid: Int32, tid: Int32, buffer: ReadBuffer? = nil) throws(ProcFSError) -> ProcessStat? {
        try read(path(pid: pid, tid: tid, "stat"), buffer: buffer, emptyMeansGone: true, ProcessStat.parse)
    }

    public func processStatus(pid: Int32, buffer: ReadBuffer? = nil) throws(ProcFSError) -> ProcessStatus? {
        try read(path(pid: pid, "status"), buffer: buffer, emptyMeansGone: true, ProcessStatus.parse)
    }

    public func threadStatus(pid: Int32, tid: Int32, buffer: ReadBuffer? = nil) throws(ProcFSError) -> ProcessStatus? {
        try read(path(pid: pid, tid: tid, "status"), buffer: buffer, emptyMeansGone: true, ProcessStatus.parse)
    }

    public func processStatm(pid: Int32, buffer: ReadBuffer? = nil) throws(ProcFSError) -> ProcessStatm? {
        try read(path(pid: pid, "statm"), buffer: buffer, emptyMeansGone: true, ProcessStatm.parse)
    }

    /// The main thread's on-CPU time (not the whole process': see `Schedstat`).
    public func processSchedstat(pid: Int32, buffer: ReadBuffer? = nil) throws(ProcFSError) -> Schedstat? {
        try read(path(pid: pid, "schedstat"), buffer: buffer, emptyMeansGone: true, Schedstat.parse)
    }

    public func threadSchedstat(pid: Int32, tid: Int32, buffer: ReadBuffer? = nil) throws(ProcFSError) -> Schedstat? {
        try read(path(pid: pid, tid: tid, "schedstat"), buffer: buffer, emptyMeansGone: true, Schedstat.parse)
    }

    public func processComm(pid: Int32, buffer: ReadBuffer? = nil) throws(ProcFSError) -> String? {
        try read(path(pid: pid, "comm"), buffer: buffer, emptyMeansGone: true) { Comm.parse($0) }
    }

    public func threadComm(pid: Int32, tid: Int32, buffer: ReadBuffer? = nil) throws(ProcFSError) -> String? {
        try read(path(pid: pid, tid: tid, "comm"), buffer: buffer, emptyMeansGone: true) { Comm.parse($0) }
    }

    /// The wait channel; `.some(nil)` when the thread exists but is not waiting.
    public func waitChannel(pid: Int32, tid: Int32, buffer: ReadBuffer? = nil) throws(ProcFSError) -> String?? {
        try read(path(pid: pid, tid: tid, "wchan"), buffer: buffer) { WaitChannel.parse($0) }
    }

    public func syscall(pid: Int32, tid: Int32, buffer: ReadBuffer? = nil) throws(ProcFSError) -> SyscallState? {
        try read(path(pid: pid, tid: tid, "syscall"), buffer: buffer, emptyMeansGone: true, SyscallState.parse)
    }

    /// The kernel stack, leaf first. Throws `.permissionDenied` without root.
    public func kernelStack(pid: Int32, tid: Int32, buffer: ReadBuffer? = nil) throws(ProcFSError) -> [String]? {
        try read(path(pid: pid, tid: tid, "stack"), buffer: buffer, KernelStack.parse)
    }

    /// The command line's arguments. Used to select processes, never exported.
    public func cmdline(pid: Int32, buffer: ReadBuffer? = nil) throws(ProcFSError) -> [String]? {
        try read(path(pid: pid, "cmdline"), buffer: buffer) { Cmdline.parse($0) }
    }

    public func cgroups(pid: Int32, buffer: ReadBuffer? = nil) throws(ProcFSError) -> [CgroupEntry]? {
        try read(path(pid: pid, "cgroup"), buffer: buffer, CgroupEntry.parse)
    }

    // MARK: directories

    /// The PIDs of all processes (numeric entries of the root).
    public func processIDs() throws(ProcFSError) -> [Int32] {
        guard let ids = try ProcFS.numericEntries(root) else {
            throw ProcFSError(kind: .io, path: root, reason: "missing")
        }
        return ids
    }

    /// The thread IDs of a process; nil when it is gone.
    public func threadIDs(pid: Int32) throws(ProcFSError) -> [Int32]? {
        try ProcFS.numericEntries(path(pid: pid, "task"))
    }

    /// Open file descriptors of a process (entries of /proc/PID/fd); nil when it is gone.
    /// Throws `.permissionDenied` for another user's process unless the agent is privileged.
    public func openFileDescriptorCount(pid: Int32) throws(ProcFSError) -> Int? {
        try openFileDescriptorCount(fdDirectory: path(pid: pid, "fd"))
    }

    /// The entries of a process' `fd` directory: its open file descriptors; nil when it is
    /// gone. On a live procfs the kernel (6.2 and later) gives the count as the directory's
    /// size, without a listing that makes an entry for every descriptor; where the size is 0
    /// (older kernels) the directory is listed.
    public func openFileDescriptorCount(fdDirectory: String) throws(ProcFSError) -> Int? {
        if isLiveProcfs {
            var st = stat()
            if lstat(fdDirectory, &st) == 0 {
                if st.st_size > 0 { return Int(st.st_size) }
            } else if ProcFile.isGone(errno) {
                return nil
            }
        }
        return try ProcFS.countEntries(fdDirectory)
    }

    /// Entries of a directory other than `.` and `..`; nil when it does not exist.
    public static func countEntries(_ dirPath: String) throws(ProcFSError) -> Int? {
        guard let dir = opendir(dirPath) else {
            let e = errno
            if ProcFile.isGone(e) { return nil }
            throw .system(dirPath, e, "cannot list")
        }
        defer { closedir(dir) }
        var n = 0
        while let entry = readdir(dir) {
            if ProcFS.isDotEntry(entry) { continue }
            n += 1
        }
        return n
    }

    /// The agent's own PID as this procfs sees it (`self`), which differs from getpid()
    /// when the procfs belongs to another PID namespace.
    public func selfPID() -> Int32 { selfLinkPID() ?? getpid() }

    /// The PID `self` names, or nil when it cannot be read.
    func selfLinkPID() -> Int32? {
        var buf = [CChar](repeating: 0, count: 64)
        let n = readlink(path("self"), &buf, buf.count - 1)
        guard n > 0 else { return nil }
        return Int32(String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }

    // MARK: cgroups

    /// Finds the CPU accounting files of `pid`'s cgroup (the agent's own when nil), or nil
    /// when neither layout is mounted under `sysRoot/fs/cgroup`.
    ///
    /// cgroup v1 wins when a v1 hierarchy has the cpu or cpuacct controller (hybrid systems
    /// mount a controller-less v2 tree at `unified/` next to it). The cgroup's path is mapped
    /// to a directory through the mounts of /proc/PID/mountinfo (a container's mount shows
    /// its own cgroup at the mount point: its root is that cgroup); without mountinfo, the
    /// path is looked up under the usual mount points. A path that cannot be mapped (not
    /// below the mount's root, or not there) is an error: reading the mount's root instead
    /// would report another cgroup.
    public func cgroupCPUFiles(pid: Int32? = nil) throws(ProcFSError) -> CgroupCPUFiles? {
        let cgroupFile = pid.map { path(pid: $0, "cgroup") } ?? path("self/cgroup")
        guard let entries = try read(cgroupFile, CgroupEntry.parse) else { return nil }
        let mountinfoFile = pid.map { path(pid: $0, "mountinfo") } ?? path("self/mountinfo")
        let mounts = try read(mountinfoFile, buffer: ReadBuffer(capacity: 16 << 10), CgroupMount.parseMountinfo)?.map(rebased)
        let base = sysRoot + "/fs/cgroup"

        /// The directory of `entry`'s cgroup in the hierarchy that has `controller` (the
        /// unified one when nil) and holds `file`; nil when no such hierarchy is mounted.
        func directory(_ entry: CgroupEntry, controller: String?, file: String, conventional: [String]) throws(ProcFSError) -> String? {
            let mount: CgroupMount?
            if let mounts {
                mount = mounts.first { m in controller.map { !m.isUnified && m.controllers.contains($0) } ?? m.isUnified }
            } else {
                let probe = controller == nil ? "cgroup.controllers" : file
                mount = conventional.first { FileIOProbe.exists($0 + "/" + probe) }.map {
                    CgroupMount(root: "/", mountPoint: $0, isUnified: controller == nil, controllers: controller.map { [$0] } ?? [])
                }
            }
            guard let mount else { return nil }
            let what = controller.map { "cgroup \(entry.path) of the \($0) controller" } ?? "cgroup \(entry.path)"
            guard let dir = mount.directory(of: entry.path) else {
                throw ProcFSError(
                    kind: .io, path: cgroupFile,
                    reason: "\(what) is not below the root \(mount.root) of the mount at \(mount.mountPoint); its files cannot be found")
            }
            guard ProcFS.isDirectory(dir) else {
                throw ProcFSError(
                    kind: .io, path: cgroupFile, reason: "\(what) has no directory \(dir) under the mount at \(mount.mountPoint)")
            }
            return FileIOProbe.exists(dir + "/" + file) ? dir : nil
        }

        let cpuacct = entries.first { $0.controllers.contains("cpuacct") }
        let cpu = entries.first { $0.controllers.contains("cpu") }
        if cpuacct != nil || cpu != nil {
            var usage: String?
            var throttling: String?
            var cpuDirectory: String?
            if let cpuacct,
                let dir = try directory(
                    cpuacct, controller: "cpuacct", file: "cpuacct.usage",
                    conventional: ["cpu,cpuacct", "cpuacct,cpu", "cpuacct"].map { base + "/" + $0 })
            {
                usage = dir + "/cpuacct.usage"
            }
            if let cpu,
                let dir = try directory(
                    cpu, controller: "cpu", file: "cpu.stat", conventional: ["cpu,cpuacct", "cpuacct,cpu", "cpu"].map { base + "/" + $0 })
            {
                throttling = dir + "/cpu.stat"
                cpuDirectory = dir
            }
            if usage != nil || throttling != nil {
                return CgroupCPUFiles(
                    layout: .v1, cgroupPath: (cpuacct ?? cpu)!.path, usageFile: usage, throttlingFile: throttling,
                    cpuDirectory: cpuDirectory)
            }
        }
        if let unified = entries.first(where: \.isUnified),
            let dir = try directory(unified, controller: nil, file: "cpu.stat", conventional: [base, base + "/unified"])
        {
            return CgroupCPUFiles(
                layout: .v2, cgroupPath: unified.path, usageFile: dir + "/cpu.stat", throttlingFile: nil,
                cpuDirectory: FileIOProbe.exists(dir + "/cpu.max") || FileIOProbe.exists(dir + "/cpu.weight") ? dir : nil)
        }
        return nil
    }

    /// The CPU accounting of the root cgroup, the one of every task on the machine when the
    /// agent sees the whole tree: cgroup v1 `cpuacct.usage` at the root of the cpuacct
    /// hierarchy, else the unified tree's root `cpu.stat`; nil when neither is mounted. Only
    /// mounts of a hierarchy's root count. In a cgroup namespace that root is the
    /// namespace's cgroup, not the machine's: a reader checks the figures before it uses them.
    public func rootCgroupCPUFiles() throws(ProcFSError) -> CgroupCPUFiles? {
        let mounts = try read(path("self/mountinfo"), buffer: ReadBuffer(capacity: 16 << 10), CgroupMount.parseMountinfo)?.map(rebased)
        let base = sysRoot + "/fs/cgroup"
        let v1 = mounts.map { $0.filter { !$0.isUnified && $0.root == "/" && $0.controllers.contains("cpuacct") }.map(\.mountPoint) }
            ?? ["cpu,cpuacct", "cpuacct,cpu", "cpuacct"].map { base + "/" + $0 }
        if let dir = v1.first(where: { FileIOProbe.exists($0 + "/cpuacct.usage") }) {
            return CgroupCPUFiles(layout: .v1, cgroupPath: "/", usageFile: dir + "/cpuacct.usage", throttlingFile: nil)
        }
        let v2 = mounts.map { $0.filter { $0.isUnified && $0.root == "/" }.map(\.mountPoint) } ?? [base, base + "/unified"]
        if let dir = v2.first(where: { FileIOProbe.exists($0 + "/cpu.stat") }) {
            return CgroupCPUFiles(layout: .v2, cgroupPath: "/", usageFile: dir + "/cpu.stat", throttlingFile: nil)
        }
        return nil
    }

    /// A mount point of this machine's /sys, moved under `sysRoot` (a fixture tree, the
    /// host's /sys mounted elsewhere).
    private func rebased(_ m: CgroupMount) -> CgroupMount {
        guard sysRoot != "/sys", m.mountPoint == "/sys" || m.mountPoint.hasPrefix("/sys/") else { return m }
        var copy = m
        copy.mountPoint = sysRoot + m.mountPoint.dropFirst(4)
        return copy
    }

    /// Reads the files `cgroupCPUFiles` found. nil when they are gone (the cgroup was removed).
    public func cgroupCPU(_ files: CgroupCPUFiles, buffer: ReadBuffer? = nil) throws(ProcFSError) -> CgroupCPUStat? {
        let buffer = buffer ?? ReadBuffer(capacity: 4096)
        switch files.layout {
        case .v2:
            guard let f = files.usageFile else { return nil }
            return try read(f, buffer: buffer, CgroupCPUStat.parseV2)
        case .v1:
            var s = CgroupCPUStat()
            var any = false
            if let f = files.usageFile, let usage = try read(f, buffer: buffer, CgroupCPUStat.parseV1Usage) {
                s.usageNanoseconds = usage
                any = true
            }
            if let f = files.throttlingFile, let t = try read(f, buffer: buffer, CgroupCPUStat.parseV1CPUStat) {
                s.periods = t.periods
                s.throttledPeriods = t.throttledPeriods
                s.throttledNanoseconds = t.throttledNanoseconds
                any = true
            }
            return any ? s : nil
        }
    }

    /// The CPU limit and weight of the cgroup `cgroupCPUFiles` found; nil when it has no cpu
    /// controller's files (or they are gone).
    public func cgroupCPULimit(_ files: CgroupCPUFiles, buffer: ReadBuffer? = nil) throws(ProcFSError) -> CgroupCPULimit? {
        guard let dir = files.cpuDirectory else { return nil }
        let handles = CgroupCPULimit.fileNames(files.layout).map { ProcFile(dir + "/" + $0, keepOpen: false) }
        return try CgroupCPULimit.read(files.layout, handles, buffer: buffer ?? ReadBuffer(capacity: 256))
    }

    // MARK: helpers

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    static func isDotEntry(_ entry: UnsafeMutablePointer<dirent>) -> Bool {
        withUnsafeBytes(of: entry.pointee.d_name) { name in
            name[0] == 46 && (name[1] == 0 || (name[1] == 46 && name[2] == 0))
        }
    }

    /// Numeric names in a directory (PIDs, TIDs), sorted, or nil when it does not exist.
    public static func numericEntries(_ dirPath: String) throws(ProcFSError) -> [Int32]? {
        guard let dir = opendir(dirPath) else {
            let e = errno
            if ProcFile.isGone(e) { return nil }
            throw .system(dirPath, e, "cannot list")
        }
        defer { closedir(dir) }
        var out: [Int32] = []
        while let entry = readdir(dir) {
            let id: Int32? = withUnsafeBytes(of: entry.pointee.d_name) { name in
                var v: Int32 = 0
                var i = 0
                while i < name.count, name[i] != 0 {
                    let b = name[i]
                    guard b >= 48 && b <= 57, v < Int32.max / 10 - 9 else { return nil }
                    v = v * 10 + Int32(b - 48)
                    i += 1
                }
                return i > 0 ? v : nil
            }
            if let id { out.append(id) }
        }
        out.sort()
        return out
    }
}

enum FileIOProbe {
    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }
}
