/// One line of /proc/PID/cgroup: `hierarchy-ID:controller-list:path`. cgroup v2 is the
/// line `0::/path`; cgroup v1 hierarchies list their controllers (`4:memory:/x`,
/// `2:cpu,cpuacct:/x`, `1:name=systemd:/x`).
public struct CgroupEntry: Sendable, Hashable {
    public var hierarchyID: Int
    public var controllers: [String]
    public var path: String

    public init(hierarchyID: Int, controllers: [String], path: String) {
        self.hierarchyID = hierarchyID
        self.controllers = controllers
        self.path = path
    }

    public var isUnified: Bool { hierarchyID == 0 && controllers.isEmpty }

    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(ProcFSError) -> [CgroupEntry] {
        var out: [CgroupEntry] = []
        var sc = ByteScanner(bytes)
        while !sc.isAtEnd {
            let line = sc.restOfLine()
            if line.isEmpty { continue }
            guard let c1 = line.firstIndex(where: { bytes[$0] == UInt8(ascii: ":") }),
                let c2 = (c1 + 1..<line.upperBound).firstIndex(where: { bytes[$0] == UInt8(ascii: ":") })
            else { throw ProcFSError.malformed("expected ID:controllers:path", bytes, at: line.lowerBound) }
            var idScanner = ByteScanner(UnsafeRawBufferPointer(rebasing: bytes[0..<c1]), from: line.lowerBound)
            guard let id = idScanner.unsigned(), idScanner.isAtEnd, id < 1 << 31 else {
                throw ProcFSError.malformed("bad hierarchy ID", bytes, at: line.lowerBound)
            }
            let controllers = sc.string(c1 + 1..<c2).split(separator: ",").map(String.init)
            // The path is everything after the second colon (it may contain colons itself).
            out.append(CgroupEntry(hierarchyID: Int(id), controllers: controllers, path: sc.string(c2 + 1..<line.upperBound)))
        }
        return out
    }
}

/// CPU accounting of one cgroup, in the units the metrics use. A field is nil when the
/// layout does not report it (e.g. cgroup v2 without the `cpu` controller has no periods).
public struct CgroupCPUStat: Sendable, Hashable {
    public var usageNanoseconds: UInt64?
    public var periods: UInt64?
    public var throttledPeriods: UInt64?
    public var throttledNanoseconds: UInt64?

    public init(usageNanoseconds: UInt64? = nil, periods: UInt64? = nil, throttledPeriods: UInt64? = nil, throttledNanoseconds: UInt64? = nil) {
        self.usageNanoseconds = usageNanoseconds
        self.periods = periods
        self.throttledPeriods = throttledPeriods
        self.throttledNanoseconds = throttledNanoseconds
    }

    /// cgroup v2 `cpu.stat`: `usage_usec`, and with the cpu controller `nr_periods`,
    /// `nr_throttled`, `throttled_usec`.
    public static func parseV2(_ bytes: UnsafeRawBufferPointer) throws(ProcFSError) -> CgroupCPUStat {
        var s = CgroupCPUStat()
        try keyValues(bytes) { sc, key, value in
            if sc.equals(key, "usage_usec") { s.usageNanoseconds = value &* 1000 }
            else if sc.equals(key, "nr_periods") { s.periods = value }
            else if sc.equals(key, "nr_throttled") { s.throttledPeriods = value }
            else if sc.equals(key, "throttled_usec") { s.throttledNanoseconds = value &* 1000 }
        }
        guard s.usageNanoseconds != nil else { throw ProcFSError.malformed("no usage_usec", bytes) }
        return s
    }

    /// cgroup v1 `cpu.stat` of the cpu controller: `nr_periods`, `nr_throttled`, `throttled_time` (ns).
    public static func parseV1CPUStat(_ bytes: UnsafeRawBufferPointer) throws(ProcFSError) -> CgroupCPUStat {
        var s = CgroupCPUStat()
        try keyValues(bytes) { sc, key, value in
            if sc.equals(key, "nr_periods") { s.periods = value }
            else if sc.equals(key, "nr_throttled") { s.throttledPeriods = value }
            else if sc.equals(key, "throttled_time") { s.throttledNanoseconds = value }
        }
        guard s.periods != nil, s.throttledPeriods != nil, s.throttledNanoseconds != nil else {
            throw ProcFSError.malformed("expected nr_periods, nr_throttled and throttled_time", bytes)
        }
        return s
    }

    /// cgroup v1 `cpuacct.usage`: one number, nanoseconds.
    public static func parseV1Usage(_ bytes: UnsafeRawBufferPointer) throws(ProcFSError) -> UInt64 {
        var sc = ByteScanner(bytes)
        guard let v = sc.unsigned(), sc.atEndOfLine() else { throw sc.malformed("expected nanoseconds") }
        return v
    }

    static func keyValues(
        _ bytes: UnsafeRawBufferPointer, _ body: (ByteScanner, Range<Int>, UInt64) -> Void
    ) throws(ProcFSError) {
        var sc = ByteScanner(bytes)
        while !sc.isAtEnd {
            let at = sc.position
            let key = sc.word()
            if key.isEmpty {
                sc.skipLine()
                continue
            }
            guard let v = sc.unsigned(), sc.atEndOfLine() else {
                throw ProcFSError.malformed("expected \"key value\"", bytes, at: at)
            }
            body(sc, key, v)
            sc.skipLine()
        }
    }
}

/// Where a cgroup's CPU accounting lives. cgroup v2 keeps it in one `cpu.stat`; cgroup v1
/// splits it between the `cpuacct` hierarchy (usage) and the `cpu` hierarchy (throttling),
/// which may be mounted together (`cpu,cpuacct`) or apart.
public struct CgroupCPUFiles: Sendable, Hashable {
    public enum Layout: String, Sendable { case v1, v2 }
    public var layout: Layout
    /// The cgroup path as /proc/PID/cgroup shows it.
    public var cgroupPath: String
    /// v2: `cpu.stat`; v1: `cpuacct.usage`.
    public var usageFile: String?
    /// v1 only: the cpu controller's `cpu.stat`.
    public var throttlingFile: String?
    /// The cgroup's directory in the hierarchy of the cpu controller, where its limit and
    /// weight are (v2 `cpu.max`, `cpu.weight`; v1 `cpu.cfs_quota_us`, `cpu.cfs_period_us`,
    /// `cpu.shares`); nil when that controller is not there.
    public var cpuDirectory: String?

    public init(layout: Layout, cgroupPath: String, usageFile: String?, throttlingFile: String?, cpuDirectory: String? = nil) {
        self.layout = layout
        self.cgroupPath = cgroupPath
        self.usageFile = usageFile
        self.throttlingFile = throttlingFile
        self.cpuDirectory = cpuDirectory
    }
}

/// A cgroup's CPU limit and weight: gauges, read with the accounting once a second.
public struct CgroupCPULimit: Sendable, Hashable {
    /// Quota ÷ period, in cores; nil when unlimited.
    public var cores: Double?
    /// v2 `cpu.weight` (1 to 10000, 100 by default) or v1 `cpu.shares` (2 to 262144, 1024 by default).
    public var weight: UInt64?

    public init(cores: Double? = nil, weight: UInt64? = nil) {
        self.cores = cores
        self.weight = weight
    }

    /// The files of the limit and weight in a cgroup's cpu directory, in the order `read` takes them.
    public static func fileNames(_ layout: CgroupCPUFiles.Layout) -> [String] {
        layout == .v2 ? ["cpu.max", "cpu.weight"] : ["cpu.cfs_quota_us", "cpu.cfs_period_us", "cpu.shares"]
    }

    /// Reads the limit and weight through `files` (handles of `fileNames(layout)`); nil when
    /// neither the limit nor the weight file exists.
    public static func read(_ layout: CgroupCPUFiles.Layout, _ files: [ProcFile], buffer: ReadBuffer) throws(ProcFSError) -> CgroupCPULimit? {
        var limit = CgroupCPULimit()
        switch layout {
        case .v2:
            let cpuMax = try files[0].read(buffer, parseV2Max)
            limit.cores = cpuMax ?? nil
            limit.weight = try files[1].read(buffer, parseUnsigned)
            if cpuMax == nil && limit.weight == nil { return nil }
        case .v1:
            let quota = try files[0].read(buffer, parseInteger)
            let period = try files[1].read(buffer, parseUnsigned)
            if let quota, let period { limit.cores = coresV1(quota: quota, period: period) }
            limit.weight = try files[2].read(buffer, parseUnsigned)
            if quota == nil && limit.weight == nil { return nil }
        }
        return limit
    }

    /// cgroup v2 `cpu.max`: `QUOTA PERIOD` in microseconds, or `max PERIOD` (unlimited, nil).
    public static func parseV2Max(_ bytes: UnsafeRawBufferPointer) throws(ProcFSError) -> Double? {
        var sc = ByteScanner(bytes)
        let quota = sc.word()
        var quotaScanner = ByteScanner(UnsafeRawBufferPointer(rebasing: bytes[0..<quota.upperBound]), from: quota.lowerBound)
        let unlimited = sc.equals(quota, "max")
        let q = unlimited ? nil : quotaScanner.unsigned()
        guard unlimited || (q != nil && quotaScanner.isAtEnd) else { throw ProcFSError.malformed("expected \"max\" or a quota", bytes) }
        guard let period = sc.unsigned(), period > 0, sc.atEndOfLine() else {
            throw ProcFSError.malformed("expected \"QUOTA PERIOD\"", bytes, at: sc.position)
        }
        return q.map { Double($0) / Double(period) }
    }

    /// cgroup v1 `cpu.cfs_quota_us` and `cpu.cfs_period_us`: the quota (`-1`: unlimited, nil) ÷ the period.
    public static func coresV1(quota: Int64, period: UInt64) -> Double? {
        quota > 0 && period > 0 ? Double(quota) / Double(period) : nil
    }

    /// One integer on one line: v1 `cpu.cfs_quota_us` (may be `-1`).
    public static func parseInteger(_ bytes: UnsafeRawBufferPointer) throws(ProcFSError) -> Int64 {
        var sc = ByteScanner(bytes)
        sc.skipBlanks()
        let v = sc.peek == UInt8(ascii: "-") ? sc.signed() : sc.unsigned().flatMap { Int64(exactly: $0) }
        guard let v, sc.atEndOfLine() else { throw sc.malformed("expected an integer") }
        return v
    }

    /// One unsigned integer on one line: `cpu.weight`, `cpu.shares`, `cpu.cfs_period_us`.
    public static func parseUnsigned(_ bytes: UnsafeRawBufferPointer) throws(ProcFSError) -> UInt64 {
        var sc = ByteScanner(bytes)
        guard let v = sc.unsigned(), sc.atEndOfLine() else { throw sc.malformed("expected an unsigned integer") }
        return v
    }
}

/// A cgroup filesystem as /proc/PID/mountinfo lists it: which part of the hierarchy
/// (`root`) is visible where (`mountPoint`). In a container the root is often the
/// container's own cgroup (`/docker/ID`): a cgroup path maps to a directory only below it.
public struct CgroupMount: Sendable, Hashable {
    public var root: String
    public var mountPoint: String
    /// `cgroup2` (unified) or `cgroup` (v1).
    public var isUnified: Bool
    /// v1: the controllers of the hierarchy (`cpu`, `cpuacct`, `name=systemd`, ...) from the super options.
    public var controllers: [String]

    public init(root: String, mountPoint: String, isUnified: Bool, controllers: [String]) {
        self.root = root
        self.mountPoint = mountPoint
        self.isUnified = isUnified
        self.controllers = controllers
    }

    /// The cgroup mounts of a mountinfo file (`ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS
    /// [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS`), in its order. Other mounts are skipped.
    public static func parseMountinfo(_ bytes: UnsafeRawBufferPointer) throws(ProcFSError) -> [CgroupMount] {
        var out: [CgroupMount] = []
        var sc = ByteScanner(bytes)
        while !sc.isAtEnd {
            let line = sc.restOfLine()
            if line.isEmpty { continue }
            var fields = ByteScanner(UnsafeRawBufferPointer(rebasing: bytes[0..<line.upperBound]), from: line.lowerBound)
            var words: [Range<Int>] = []
            while true {
                let w = fields.word()
                if w.isEmpty { break }
                words.append(w)
            }
            guard let dash = words.firstIndex(where: { sc.equals($0, "-") }), dash >= 6, words.count >= dash + 3 else {
                throw ProcFSError.malformed("expected \"ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS ... - TYPE SOURCE OPTIONS\"", bytes, at: line.lowerBound)
            }
            let type = words[dash + 1]
            let unified = sc.equals(type, "cgroup2")
            guard unified || sc.equals(type, "cgroup") else { continue }
            let superOptions = words.count > dash + 3 ? sc.string(words[dash + 3]).split(separator: ",").map(String.init) : []
            let known: Set<String> = ["rw", "ro"]
            out.append(
                CgroupMount(
                    root: unescape(sc.string(words[3])), mountPoint: unescape(sc.string(words[4])), isUnified: unified,
                    controllers: unified ? [] : superOptions.filter { !known.contains($0) }))
        }
        return out
    }

    /// The directory of `cgroupPath` under this mount; nil when the path is not at or below
    /// the mount's root (that cgroup is not visible here).
    public func directory(of cgroupPath: String) -> String? {
        let base = mountPoint == "/" ? "" : mountPoint
        if root == "/" { return cgroupPath == "/" ? mountPoint : base + cgroupPath }
        if cgroupPath == root { return mountPoint }
        guard cgroupPath.hasPrefix(root + "/") else { return nil }
        return base + cgroupPath.dropFirst(root.count)
    }

    /// mountinfo escapes space, tab, newline and backslash as `\ooo`.
    static func unescape(_ s: String) -> String {
        guard s.contains("\\") else { return s }
        var out: [UInt8] = []
        let b = Array(s.utf8)
        var i = 0
        while i < b.count {
            if b[i] == 92, i + 3 < b.count, let v = UInt8(String(decoding: b[(i + 1)...(i + 3)], as: UTF8.self), radix: 8) {
                out.append(v)
                i += 4
                continue
            }
            out.append(b[i])
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}
