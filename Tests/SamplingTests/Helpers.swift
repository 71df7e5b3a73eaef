#if canImport(Glibc)
import Glibc
#endif
import LookoutCore
import Logging
import ProcFS
import Sampling
import Series
import Synchronization
import TestSupport

extension [MetricFamily] {
    func family(_ name: String) -> MetricFamily? { first { $0.name == name } }

    func value(_ name: String, _ labels: Labels = .empty) -> Double? {
        family(name)?.metrics.first { $0.labels == labels }?.value.singleValue
    }

    func histogram(_ name: String, _ labels: Labels = .empty) -> HistogramValue? {
        guard let m = family(name)?.metrics.first(where: { $0.labels == labels }), case .histogram(let h) = m.value else { return nil }
        return h
    }
}

/// Collects log lines (logfmt) so tests can prove what was and was not logged.
final class LogCapture: Sendable {
    private let lines = Mutex<[String]>([])

    var logger: Logger {
        Logger(label: "sampler") { label in
            LogfmtHandler(label: label, level: .debug) { [self] line in lines.withLock { $0.append(line) } }
        }
    }

    var all: [String] { lines.withLock { $0 } }
    var warnings: [String] { all.filter { $0.contains("level=warn") || $0.contains("level=error") } }
}

/// A reporter whose demand the test sets, recording every tick it gets.
final class RecordingReporter: TickReporter {
    private let state = Mutex<(demand: ThreadSampleDemand?, ticks: [SampleTick])>((nil, []))
    /// Called inside `report`, e.g. to make the tick overrun on a manual clock.
    let onReport: @Sendable () -> Void

    init(demand: ThreadSampleDemand? = nil, onReport: @escaping @Sendable () -> Void = {}) {
        self.onReport = onReport
        state.withLock { $0.demand = demand }
    }

    var demand: ThreadSampleDemand? {
        get { state.withLock { $0.demand } }
    }

    func setDemand(_ d: ThreadSampleDemand?) { state.withLock { $0.demand = d } }

    func report(_ tick: SampleTick) {
        state.withLock { $0.ticks.append(tick) }
        onReport()
    }

    var ticks: [SampleTick] { state.withLock { $0.ticks } }
}

/// `task/TID/syscall` of a thread blocked in `futex` (a lock wait), on this architecture.
#if arch(x86_64)
let futexWaitSyscall = "202 0x7f1c2c000b68 0x80 0x0 0x0 0x0 0x0 0x7f1c33ffec10 0x7f1c3d26a0b6"
#else
let futexWaitSyscall = "98 0x7f1c2c000b68 0x80 0x0 0x0 0x0 0x0 0x7f1c33ffec10 0x7f1c3d26a0b6"
#endif

/// The period of a tick at `f` Hz, as the schedule computes it (floor of 1e9/f ns).
func period(_ f: Int) -> Duration { .nanoseconds(1_000_000_000 / Int64(f)) }

func fakeProcFS(_ fake: FakeProc) throws -> ProcFS {
    try ProcFS(root: fake.root, sysRoot: fake.sysRoot, userHZ: 100, pageSize: 4096)
}

/// /proc/self/fd entries whose target contains `fragment`: the files this process keeps open.
func openFiles(containing fragment: String) -> [String] {
    guard let dir = opendir("/proc/self/fd") else { return [] }
    defer { closedir(dir) }
    var out: [String] = []
    while let e = readdir(dir) {
        let name = withUnsafeBytes(of: e.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        if name == "." || name == ".." { continue }
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/fd/" + name, &buf, buf.count - 1)
        if n > 0 {
            let target = String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if target.contains(fragment) { out.append(target) }
        }
    }
    return out
}
