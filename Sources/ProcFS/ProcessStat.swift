/// /proc/PID/stat and /proc/PID/task/TID/stat (proc(5)). Times are in USER_HZ ticks;
/// for a process they include its exited threads, for a task only that thread.
public struct ProcessStat: Sendable, Hashable {
    public var pid: Int32
    /// The command name (at most 15 bytes, may hold spaces and parentheses).
    public var comm: String
    /// `R` running, `S` sleeping, `D` uninterruptible, `Z` zombie, `T` stopped, `t`, `X`, `I` idle kernel thread...
    public var state: UInt8
    public var ppid: Int32
    /// `PF_*` flags of the task.
    public var flags: UInt64
    public var utime: UInt64
    public var stime: UInt64
    public var priority: Int64
    public var nice: Int64
    public var numThreads: Int64
    /// Start time after boot, in ticks. (pid, startTime) identifies a process across PID reuse.
    public var startTime: UInt64
    public var virtualMemoryBytes: UInt64
    /// Resident set in pages.
    public var rssPages: Int64
    /// CPU last run on, when the kernel reports it.
    public var processor: Int64?

    public init(
        pid: Int32, comm: String, state: UInt8, ppid: Int32 = 0, flags: UInt64 = 0, utime: UInt64 = 0,
        stime: UInt64 = 0, priority: Int64 = 20, nice: Int64 = 0, numThreads: Int64 = 1, startTime: UInt64 = 0,
        virtualMemoryBytes: UInt64 = 0, rssPages: Int64 = 0, processor: Int64? = nil
    ) {
        self.pid = pid
        self.comm = comm
        self.state = state
        self.ppid = ppid
        self.flags = flags
        self.utime = utime
        self.stime = stime
        self.priority = priority
        self.nice = nice
        self.numThreads = numThreads
        self.startTime = startTime
        self.virtualMemoryBytes = virtualMemoryBytes
        self.rssPages = rssPages
        self.processor = processor
    }

    /// `PF_KTHREAD`: the task is a kernel thread.
    public static let kernelThreadFlag: UInt64 = 0x0020_0000

    public var isKernelThread: Bool { flags & Self.kernelThreadFlag != 0 }
    /// Exited but not yet reaped by its parent (`Z`), or dead (`X`).
    public var isZombie: Bool { state == UInt8(ascii: "Z") || state == UInt8(ascii: "X") || state == UInt8(ascii: "x") }
    public var stateCharacter: Character { Character(Unicode.Scalar(state)) }

    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(ProcFSError) -> ProcessStat {
        let (pid, commRange, rest) = try split(bytes)
        var sc = ByteScanner(bytes, from: rest)
        sc.skipBlanks()
        guard let state = sc.peek, state != 10 else { throw sc.malformed("no state after the command name") }
        sc.position += 1
        // Fields 4... after the state, numbered as in proc(5).
        var field = 4
        var s = ProcessStat(pid: pid, comm: "", state: state)
        while field <= 39 {
            if sc.atEndOfLine() { break }
            let at = sc.position
            // Most fields are unsigned (some, like rsslim, use the whole 64 bits); a few can be negative (tpgid, nice).
            let value: Int64?
            if sc.peek == UInt8(ascii: "-") {
                value = sc.signed()
            } else {
                value = sc.unsigned().map { Int64(bitPattern: $0) }
            }
            guard let v = value else { throw ProcFSError.malformed("field \(field) is not a number", bytes, at: at) }
            switch field {
            case 4: s.ppid = Int32(truncatingIfNeeded: v)
            case 9: s.flags = UInt64(bitPattern: v)
            case 14: s.utime = UInt64(bitPattern: v)
            case 15: s.stime = UInt64(bitPattern: v)
            case 18: s.priority = v
            case 19: s.nice = v
            case 20: s.numThreads = v
            case 22: s.startTime = UInt64(bitPattern: v)
            case 23: s.virtualMemoryBytes = UInt64(bitPattern: v)
            case 24: s.rssPages = v
            case 39: s.processor = v
            default: break
            }
            field += 1
        }
        guard field > 24 else {
            throw ProcFSError.malformed("expected at least 24 fields, found \(field - 1)", bytes, at: sc.position)
        }
        s.comm = sc.string(commRange)
        return s
    }

    /// Only `utime + stime` (fields 14 and 15), in USER_HZ ticks: a thread's CPU time where
    /// `schedstat` cannot be read, read every tick without building the whole value.
    public static func parseCPUTicks(_ bytes: UnsafeRawBufferPointer) throws(ProcFSError) -> UInt64 {
        let (_, _, rest) = try split(bytes)
        var sc = ByteScanner(bytes, from: rest)
        // The state (field 3), then fields 4 to 13 skipped.
        for _ in 3...13 {
            sc.skipBlanks()
            guard !sc.word().isEmpty else { throw sc.malformed("expected at least 15 fields") }
        }
        sc.skipBlanks()
        let at = sc.position
        guard let utime = sc.unsigned() else { throw ProcFSError.malformed("field 14 is not a number", bytes, at: at) }
        sc.skipBlanks()
        guard let stime = sc.unsigned() else { throw ProcFSError.malformed("field 15 is not a number", bytes, at: sc.position) }
        return utime &+ stime
    }

    /// Only the state letter (for block and mutex sampling, which read it every tick).
    public static func parseState(_ bytes: UnsafeRawBufferPointer) throws(ProcFSError) -> UInt8 {
        let (_, _, rest) = try split(bytes)
        var sc = ByteScanner(bytes, from: rest)
        sc.skipBlanks()
        guard let state = sc.peek, state != 10 else { throw sc.malformed("no state after the command name") }
        return state
    }

    /// `pid (comm) rest`: the command name may contain spaces and `)`, so it ends at the
    /// *last* `)`. Returns the pid, the name's range and where the rest starts.
    static func split(_ bytes: UnsafeRawBufferPointer) throws(ProcFSError) -> (Int32, Range<Int>, Int) {
        var sc = ByteScanner(bytes)
        guard let pid = sc.unsigned(), pid <= UInt64(Int32.max) else { throw sc.malformed("no PID at the start") }
        sc.skipBlanks()
        guard sc.consume(UInt8(ascii: "(")) else { throw sc.malformed("no '(' before the command name") }
        var close = bytes.count - 1
        while close >= sc.position, bytes[close] != UInt8(ascii: ")") { close -= 1 }
        guard close >= sc.position else { throw ProcFSError.malformed("no ')' after the command name", bytes, at: sc.position) }
        return (Int32(pid), sc.position..<close, close + 1)
    }
}
