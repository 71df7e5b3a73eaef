#if canImport(Glibc)
import Glibc
#endif
import LookoutCore
import ProcFS

/// A process a selector matched: (pid, startTime) identifies it across PID reuse.
public struct SelectedProcess: Sendable, Hashable {
    public var pid: Int32
    /// Start time after boot, in USER_HZ ticks (`stat` field 22).
    public var startTime: UInt64
    public var isKernelThread: Bool

    public init(pid: Int32, startTime: UInt64, isKernelThread: Bool = false) {
        self.pid = pid
        self.startTime = startTime
        self.isKernelThread = isKernelThread
    }
}

/// Finds each group's processes. Runs at most once a second (regexes never run on the
/// tick path). Rules:
/// - zombies are never selected (they have exited; only their parent has not reaped them);
/// - kernel threads are only selected by an explicit `pid`: a broad `comm`, `cmdline` or
///   `cgroup` regex (e.g. `cgroup: "/.*"`) is meant for services, not for kworkers;
/// - `cmdline` matches the arguments joined by spaces and is never exported;
/// - `cgroup` matches the path of any hierarchy in /proc/PID/cgroup.
struct ProcessSelection {
    let procfs: ProcFS
    let buffer: ReadBuffer
    /// Processes being watched (alive at the last read), by PID.
    let tracked: [Int32: SelectedProcess]
    /// Called for unexpected read errors (not for processes that vanished).
    let onError: (ProcFSError) -> Void

    private struct Candidate {
        var pid: Int32
        var stat: ProcessStat
    }

    func select(_ selectors: [ProcessSelector]) -> [[SelectedProcess]] {
        let needsScan = selectors.contains {
            switch $0 {
            case .comm, .cmdline, .cgroup: return true
            default: return false
            }
        }
        var all: [Candidate] = []
        if needsScan {
            do {
                for pid in try procfs.processIDs() {
                    guard let st = stat(pid), !st.isZombie else { continue }
                    all.append(Candidate(pid: pid, stat: st))
                }
            } catch {
                onError(error)
            }
        }
        var cmdlines: [Int32: String] = [:]
        var cgroups: [Int32: [CgroupEntry]] = [:]
        return selectors.map { selector -> [SelectedProcess] in
            switch selector {
            case .comm(let regex):
                return all.filter { !$0.stat.isKernelThread && regex.search($0.stat.comm) }.map(Self.selected)
            case .cmdline(let regex):
                var out: [SelectedProcess] = []
                for c in all where !c.stat.isKernelThread {
                    let line = cmdlines[c.pid] ?? cmdline(c.pid)
                    cmdlines[c.pid] = line
                    if regex.search(line) { out.append(Self.selected(c)) }
                }
                return out
            case .cgroup(let regex):
                var out: [SelectedProcess] = []
                for c in all where !c.stat.isKernelThread {
                    let entries = cgroups[c.pid] ?? cgroupEntries(c.pid)
                    cgroups[c.pid] = entries
                    if entries.contains(where: { regex.search($0.path) }) { out.append(Self.selected(c)) }
                }
                return out
            case .pid(let pid):
                return one(pid)
            case .pidfile(let path):
                guard let pid = readPidfile(path) else { return [] }
                return one(pid)
            case .current:
                return one(procfs.selfPID())
            }
        }
    }

    private static func selected(_ c: Candidate) -> SelectedProcess {
        SelectedProcess(pid: c.pid, startTime: c.stat.startTime, isKernelThread: c.stat.isKernelThread)
    }

    private func one(_ pid: Int32) -> [SelectedProcess] {
        if let known = tracked[pid] { return [known] }
        guard let st = stat(pid), !st.isZombie else { return [] }
        return [SelectedProcess(pid: pid, startTime: st.startTime, isKernelThread: st.isKernelThread)]
    }

    /// The arguments joined by spaces; empty when unreadable or gone.
    private func cmdline(_ pid: Int32) -> String {
        do {
            return try procfs.cmdline(pid: pid, buffer: buffer)?.joined(separator: " ") ?? ""
        } catch {
            onError(error)
            return ""
        }
    }

    private func cgroupEntries(_ pid: Int32) -> [CgroupEntry] {
        do {
            return try procfs.cgroups(pid: pid, buffer: buffer) ?? []
        } catch {
            onError(error)
            return []
        }
    }

    private func stat(_ pid: Int32) -> ProcessStat? {
        do {
            return try procfs.processStat(pid: pid, buffer: buffer)
        } catch {
            onError(error)
            return nil
        }
    }

    /// A pidfile holds a decimal PID (whitespace around it is fine). A missing file means
    /// no process right now, as during a restart.
    private func readPidfile(_ path: String) -> Int32? {
        let parsed: Int32??
        do {
            parsed = try procfs.read(path, buffer: buffer) { (bytes) throws(ProcFSError) -> Int32 in
                Self.parsePidfile(bytes)
            }.map { $0 > 0 ? $0 : nil }
        } catch {
            onError(error)
            return nil
        }
        guard let p = parsed else { return nil }
        guard let pid = p else {
            onError(ProcFSError(kind: .malformed, path: path, reason: "a pidfile must hold one positive PID"))
            return nil
        }
        return pid
    }

    static func parsePidfile(_ bytes: UnsafeRawBufferPointer) -> Int32 {
        var value: Int64 = 0
        var digits = 0
        var i = 0
        while i < bytes.count, bytes[i] == 32 || bytes[i] == 9 || bytes[i] == 10 || bytes[i] == 13 { i += 1 }
        while i < bytes.count, bytes[i] >= 48, bytes[i] <= 57, digits < 10 {
            value = value * 10 + Int64(bytes[i] - 48)
            digits += 1
            i += 1
        }
        while i < bytes.count, bytes[i] == 32 || bytes[i] == 9 || bytes[i] == 10 || bytes[i] == 13 { i += 1 }
        guard digits > 0, i == bytes.count, value <= Int64(Int32.max) else { return -1 }
        return Int32(value)
    }
}
