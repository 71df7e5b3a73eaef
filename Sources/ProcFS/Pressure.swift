/// One line of a PSI file: `some avg10=0.32 avg60=0.75 avg300=3.48 total=36910363`.
public struct PressureLine: Sendable, Hashable {
    /// Share of time (percent) in the last 10, 60 and 300 seconds.
    public var avg10: Double
    public var avg60: Double
    public var avg300: Double
    /// Total stall time in microseconds since boot.
    public var totalMicroseconds: UInt64

    public init(avg10: Double, avg60: Double, avg300: Double, totalMicroseconds: UInt64) {
        self.avg10 = avg10
        self.avg60 = avg60
        self.avg300 = avg300
        self.totalMicroseconds = totalMicroseconds
    }
}

/// /proc/pressure/cpu. `some`: time at least one runnable task waited for a CPU. `full`
/// is only there on some kernels (5.13+ report it for CPU, always zero at the system level).
public struct Pressure: Sendable, Hashable {
    public var some: PressureLine
    public var full: PressureLine?

    public init(some: PressureLine, full: PressureLine? = nil) {
        self.some = some
        self.full = full
    }

    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(ProcFSError) -> Pressure {
        var some: PressureLine?
        var full: PressureLine?
        var sc = ByteScanner(bytes)
        while !sc.isAtEnd {
            let lineStart = sc.position
            let kind = sc.word()
            if kind.isEmpty {
                sc.skipLine()
                continue
            }
            var avg10: Double?, avg60: Double?, avg300: Double?, total: UInt64?
            while !sc.atEndOfLine() {
                let field = sc.position
                let key = sc.word()
                guard let eq = key.firstIndex(where: { bytes[$0] == 61 }) else {
                    throw ProcFSError.malformed("expected key=value", bytes, at: field)
                }
                let name = key.lowerBound..<eq
                var v = ByteScanner(UnsafeRawBufferPointer(rebasing: bytes[0..<key.upperBound]), from: eq + 1)
                if sc.equals(name, "total") {
                    total = v.unsigned()
                    guard total != nil, v.isAtEnd else { throw ProcFSError.malformed("bad total", bytes, at: field) }
                } else {
                    let d = v.decimal()
                    guard d != nil, v.isAtEnd else { throw ProcFSError.malformed("bad average", bytes, at: field) }
                    if sc.equals(name, "avg10") { avg10 = d } else if sc.equals(name, "avg60") { avg60 = d } else if sc.equals(name, "avg300") { avg300 = d }
                }
            }
            sc.skipLine()
            guard let avg10, let avg60, let avg300, let total else {
                throw ProcFSError.malformed("a pressure line needs avg10, avg60, avg300 and total", bytes, at: lineStart)
            }
            let line = PressureLine(avg10: avg10, avg60: avg60, avg300: avg300, totalMicroseconds: total)
            if sc.equals(kind, "some") {
                some = line
            } else if sc.equals(kind, "full") {
                full = line
            } else {
                throw ProcFSError.malformed("expected \"some\" or \"full\"", bytes, at: lineStart)
            }
        }
        guard let some else { throw ProcFSError.malformed("no \"some\" line", bytes) }
        return Pressure(some: some, full: full)
    }
}
