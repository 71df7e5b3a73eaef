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

    public init(layout: Layout, cgroupPath: String, usageFile: String?, throttlingFile: String?) {
        self.layout = layout
        self.cgroupPath = cgroupPath
        self.usageFile = usageFile
        self.throttlingFile = throttlingFile
    }
}
