/// Time one CPU (or all of them) spent in each mode, in USER_HZ ticks, from a `cpu` line
/// of /proc/stat. Fields a kernel does not report (older kernels have fewer) are 0.
public struct CPUTimes: Sendable, Hashable {
    /// The CPU number, or -1 for the `cpu` line that sums all CPUs.
    public var cpu: Int
    public var user: UInt64 = 0
    public var nice: UInt64 = 0
    public var system: UInt64 = 0
    public var idle: UInt64 = 0
    public var iowait: UInt64 = 0
    public var irq: UInt64 = 0
    public var softirq: UInt64 = 0
    public var steal: UInt64 = 0
    /// Already included in `user` by the kernel.
    public var guest: UInt64 = 0
    /// Already included in `nice` by the kernel.
    public var guestNice: UInt64 = 0

    public init(cpu: Int) { self.cpu = cpu }

    /// The modes node_exporter exports, in its order.
    public static let modes = ["user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"]

    /// The value of `modes[i]`.
    public subscript(mode i: Int) -> UInt64 {
        switch i {
        case 0: user
        case 1: nice
        case 2: system
        case 3: idle
        case 4: iowait
        case 5: irq
        case 6: softirq
        default: steal
        }
    }

    /// Ticks not spent idle or waiting for I/O (guest time is inside user and nice).
    public var busy: UInt64 { user &+ nice &+ system &+ irq &+ softirq &+ steal }
    public var total: UInt64 { busy &+ idle &+ iowait }
}

/// /proc/stat: per-CPU times and a few system-wide counters.
public struct SystemStat: Sendable, Hashable {
    /// The `cpu` line: all CPUs together.
    public var total = CPUTimes(cpu: -1)
    /// One entry per `cpuN` line, in the file's order (offline CPUs have no line).
    public var cpus: [CPUTimes] = []
    /// `ctxt`: context switches since boot.
    public var contextSwitches: UInt64?
    /// `btime`: boot time, seconds since the epoch.
    public var bootTime: UInt64?
    /// `processes`: forks since boot.
    public var forks: UInt64?
    public var procsRunning: UInt64?
    public var procsBlocked: UInt64?

    public init() {}

    /// Parses the whole file.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(ProcFSError) -> SystemStat {
        var s = SystemStat()
        try parse(bytes, into: &s, cpuLinesOnly: false)
        return s
    }

    /// Parses into an existing value, reusing its storage (no allocation once `cpus` has
    /// its capacity). With `cpuLinesOnly` it stops after the `cpu` lines, which come first
    /// and are all the sampler needs at 19 Hz.
    public static func parse(_ bytes: UnsafeRawBufferPointer, into s: inout SystemStat, cpuLinesOnly: Bool) throws(ProcFSError) {
        // CPU lines overwrite the previous reading's entries in place; the array only grows
        // or shrinks when CPUs come or go (this runs 19 times a second, mostly cold).
        var cpuCount = 0
        defer {
            if cpuCount < s.cpus.count { s.cpus.removeLast(s.cpus.count - cpuCount) }
        }
        s.contextSwitches = nil
        s.bootTime = nil
        s.forks = nil
        s.procsRunning = nil
        s.procsBlocked = nil
        var sawTotal = false
        var sc = ByteScanner(bytes)
        while !sc.isAtEnd {
            let lineStart = sc.position
            let key = sc.word()
            if key.isEmpty {
                sc.skipLine()
                continue
            }
            if sc.hasPrefix(key, "cpu") {
                var times: CPUTimes
                if key.count == 3 {
                    times = CPUTimes(cpu: -1)
                } else {
                    var n = 0
                    for i in (key.lowerBound + 3)..<key.upperBound {
                        let b = bytes[i]
                        guard b >= 48 && b <= 57, n < 1 << 20 else {
                            throw ProcFSError.malformed("bad CPU name", bytes, at: lineStart)
                        }
                        n = n * 10 + Int(b - 48)
                    }
                    times = CPUTimes(cpu: n)
                }
                var count = 0
                while !sc.atEndOfLine() {
                    guard let v = sc.unsigned() else {
                        throw ProcFSError.malformed("expected a number of ticks", bytes, at: sc.position)
                    }
                    switch count {
                    case 0: times.user = v
                    case 1: times.nice = v
                    case 2: times.system = v
                    case 3: times.idle = v
                    case 4: times.iowait = v
                    case 5: times.irq = v
                    case 6: times.softirq = v
                    case 7: times.steal = v
                    case 8: times.guest = v
                    case 9: times.guestNice = v
                    default: break
                    }
                    count += 1
                }
                guard count >= 4 else {
                    throw ProcFSError.malformed("a cpu line needs at least 4 fields, found \(count)", bytes, at: lineStart)
                }
                if times.cpu < 0 {
                    s.total = times
                    sawTotal = true
                } else if cpuCount < s.cpus.count {
                    s.cpus[cpuCount] = times
                    cpuCount += 1
                } else {
                    s.cpus.append(times)
                    cpuCount += 1
                }
                sc.skipLine()
                continue
            }
            if cpuLinesOnly {
                break
            }
            if sc.equals(key, "ctxt") {
                s.contextSwitches = sc.unsigned()
            } else if sc.equals(key, "btime") {
                s.bootTime = sc.unsigned()
            } else if sc.equals(key, "processes") {
                s.forks = sc.unsigned()
            } else if sc.equals(key, "procs_running") {
                s.procsRunning = sc.unsigned()
            } else if sc.equals(key, "procs_blocked") {
                s.procsBlocked = sc.unsigned()
            }
            sc.skipLine()
        }
        guard sawTotal else { throw ProcFSError.malformed("no \"cpu\" line", bytes) }
    }
}
