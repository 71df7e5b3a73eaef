/// /proc/PID/status and /proc/PID/task/TID/status: the human-readable view. The sampler
/// reads the context switch counts from the task files once a second (they are per
/// thread: the process file shows only its main thread's).
public struct ProcessStatus: Sendable, Hashable {
    public var name: String = ""
    public var state: UInt8 = 0
    public var tgid: Int32 = 0
    public var pid: Int32 = 0
    public var ppid: Int32 = 0
    /// Real user ID.
    public var uid: UInt32?
    public var threads: Int64?
    /// `VmRSS` in bytes; kernel threads have none.
    public var residentBytes: UInt64?
    public var voluntaryContextSwitches: UInt64?
    public var nonvoluntaryContextSwitches: UInt64?

    public init() {}

    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(ProcFSError) -> ProcessStatus {
        var s = ProcessStatus()
        var sawName = false
        var sc = ByteScanner(bytes)
        while !sc.isAtEnd {
            let lineStart = sc.position
            var keyEnd = sc.position
            while keyEnd < bytes.count, bytes[keyEnd] != UInt8(ascii: ":"), bytes[keyEnd] != 10 { keyEnd += 1 }
            guard keyEnd < bytes.count, bytes[keyEnd] == UInt8(ascii: ":") else {
                if keyEnd == lineStart {  // empty line
                    sc.skipLine()
                    continue
                }
                throw ProcFSError.malformed("expected \"Key:\\tvalue\"", bytes, at: lineStart)
            }
            let key = lineStart..<keyEnd
            sc.position = keyEnd + 1
            func number() throws(ProcFSError) -> UInt64 {
                guard let v = sc.unsigned() else { throw ProcFSError.malformed("not a number", bytes, at: lineStart) }
                return v
            }
            switch key.count {
            case 4 where sc.equals(key, "Name"):
                // The name is the rest of the line after a tab; it may contain anything but a newline
                // (the kernel escapes `\n` and `\\` in it). Blanks around it are padding (emulated
                // and sandboxed /proc files align the value with spaces), not part of the name.
                sc.skipBlanks()
                var line = sc.restOfLine()
                while !line.isEmpty, bytes[line.upperBound - 1] == 32 || bytes[line.upperBound - 1] == 9 {
                    line = line.lowerBound..<(line.upperBound - 1)
                }
                s.name = unescapeName(sc, line)
                sawName = true
                continue
            case 5 where sc.equals(key, "State"):
                sc.skipBlanks()
                guard let c = sc.peek, c != 10 else { throw ProcFSError.malformed("no state", bytes, at: lineStart) }
                s.state = c
            case 4 where sc.equals(key, "Tgid"): s.tgid = Int32(truncatingIfNeeded: try number())
            case 3 where sc.equals(key, "Pid"): s.pid = Int32(truncatingIfNeeded: try number())
            case 4 where sc.equals(key, "PPid"): s.ppid = Int32(truncatingIfNeeded: try number())
            case 3 where sc.equals(key, "Uid"): s.uid = UInt32(truncatingIfNeeded: try number())
            case 7 where sc.equals(key, "Threads"):
                guard let n = Int64(exactly: try number()) else {
                    throw ProcFSError.malformed("Threads out of range", bytes, at: lineStart)
                }
                s.threads = n
            case 5 where sc.equals(key, "VmRSS"):
                let kb = try number()
                let unit = sc.word()
                guard sc.equals(unit, "kB") else { throw ProcFSError.malformed("VmRSS is not in kB", bytes, at: lineStart) }
                s.residentBytes = kb &* 1024
            case 23 where sc.equals(key, "voluntary_ctxt_switches"): s.voluntaryContextSwitches = try number()
            case 26 where sc.equals(key, "nonvoluntary_ctxt_switches"): s.nonvoluntaryContextSwitches = try number()
            default: break
            }
            sc.skipLine()
        }
        guard sawName else { throw ProcFSError.malformed("no Name line", bytes) }
        return s
    }

    /// The kernel writes the name with `\n` and `\\` escaped; undo that so the name is
    /// the same as the `comm` file's.
    static func unescapeName(_ sc: ByteScanner, _ range: Range<Int>) -> String {
        guard range.contains(where: { sc.bytes[$0] == 92 }) else { return sc.string(range) }
        var out: [UInt8] = []
        var i = range.lowerBound
        while i < range.upperBound {
            let b = sc.bytes[i]
            if b == 92, i + 1 < range.upperBound {
                let n = sc.bytes[i + 1]
                if n == UInt8(ascii: "n") { out.append(10); i += 2; continue }
                if n == 92 { out.append(92); i += 2; continue }
            }
            out.append(b)
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// /proc/PID/statm: memory in pages (proc(5)).
public struct ProcessStatm: Sendable, Hashable {
    public var sizePages: UInt64
    public var residentPages: UInt64
    public var sharedPages: UInt64
    public var textPages: UInt64
    public var dataPages: UInt64

    public init(sizePages: UInt64, residentPages: UInt64, sharedPages: UInt64, textPages: UInt64, dataPages: UInt64) {
        self.sizePages = sizePages
        self.residentPages = residentPages
        self.sharedPages = sharedPages
        self.textPages = textPages
        self.dataPages = dataPages
    }

    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(ProcFSError) -> ProcessStatm {
        var sc = ByteScanner(bytes)
        var v: (UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0)
        var count = 0
        while !sc.atEndOfLine() {
            guard let n = sc.unsigned() else { throw sc.malformed("expected a number of pages") }
            switch count {
            case 0: v.0 = n
            case 1: v.1 = n
            case 2: v.2 = n
            case 3: v.3 = n
            case 5: v.4 = n
            default: break
            }
            count += 1
        }
        guard count >= 6 else { throw ProcFSError.malformed("expected 7 numbers, found \(count)", bytes) }
        return ProcessStatm(sizePages: v.0, residentPages: v.1, sharedPages: v.2, textPages: v.3, dataPages: v.4)
    }
}

/// /proc/PID/schedstat and task/TID/schedstat: on-CPU time in nanoseconds, the cheapest
/// precise CPU figure /proc has. Per task: the process file covers only the main thread.
public struct Schedstat: Sendable, Hashable {
    /// Time spent on the CPU.
    public var runNanoseconds: UInt64
    /// Time spent runnable, waiting for a CPU.
    public var waitNanoseconds: UInt64
    /// Number of timeslices run.
    public var timeslices: UInt64

    public init(runNanoseconds: UInt64, waitNanoseconds: UInt64, timeslices: UInt64) {
        self.runNanoseconds = runNanoseconds
        self.waitNanoseconds = waitNanoseconds
        self.timeslices = timeslices
    }

    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(ProcFSError) -> Schedstat {
        var sc = ByteScanner(bytes)
        guard let run = sc.unsigned(), let wait = sc.unsigned(), let slices = sc.unsigned(), sc.atEndOfLine() else {
            throw sc.malformed("expected three numbers")
        }
        return Schedstat(runNanoseconds: run, waitNanoseconds: wait, timeslices: slices)
    }
}
