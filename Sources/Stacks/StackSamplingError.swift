#if canImport(Glibc)
import Glibc
#endif
import LookoutCore

/// Why stack sampling could not start. `denied` is the common case on a host that does not
/// let the agent use perf events: its message says what was refused and how to allow it.
public struct StackSamplingError: Error, CustomStringConvertible, Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        /// perf_event_open or its ring buffer was refused (EACCES, EPERM): permissions.
        case denied
        /// The kernel has no perf events or no cpu-clock event (ENOENT, ENODEV, EOPNOTSUPP, ENOSYS).
        case unsupported
        /// Anything else (file descriptors exhausted, memory).
        case failed
    }

    public let kind: Kind
    /// The errno of the refused call.
    public let errno: Int32
    /// What was attempted, e.g. `perf_event_open(cpu-clock, every task, cpu 0)`.
    public let operation: String
    /// One line: what was refused, why, and how to allow it.
    public let message: String

    public var description: String { message }

    /// The status label value this error stands for (`lookout_profiler_stack_sampling{status}`).
    public var status: StackSamplingStatus { kind == .denied ? .denied : .off }

    init(operation: String, errno: Int32, scope: StackSamplingScope, kernelStacks: Bool, procRoot: String = "/proc") {
        self.operation = operation
        self.errno = errno
        let reason = "\(String(cString: strerror(errno))) (\(Self.errnoName(errno)))"
        switch errno {
        case EACCES, EPERM:
            kind = .denied
            let paranoid = (try? FileIO.readText(procRoot + "/sys/kernel/perf_event_paranoid"))
                .flatMap { Int($0.filter { !$0.isWhitespace }) }
            let needed: Int
            switch scope {
            case .cpus: needed = 0
            case .tasks: needed = kernelStacks ? 1 : 2
            }
            let sysctl =
                "sysctl kernel.perf_event_paranoid=\(needed)"
                + (paranoid.map { " (it is \($0))" } ?? "")
            message =
                "stack sampling denied: \(operation) failed: \(reason). Allow it with the capability CAP_PERFMON "
                + "(Linux 5.8+) or CAP_SYS_ADMIN (setcap cap_perfmon+ep on the binary; in Kubernetes "
                + "securityContext.capabilities.add: [\"PERFMON\"], or [\"SYS_ADMIN\"] where PERFMON is unknown; "
                + "the runtime's default seccomp profile allows perf_event_open with either), or with \(sysctl) "
                + "on the host. Profiles stay thread-level."
        case ENOENT, ENODEV, EOPNOTSUPP, ENOSYS:
            kind = .unsupported
            message =
                "stack sampling unavailable: \(operation) failed: \(reason); the kernel has no software cpu-clock "
                + "perf event (CONFIG_PERF_EVENTS). Profiles stay thread-level."
        default:
            kind = .failed
            message = "stack sampling failed: \(operation) failed: \(reason). Profiles stay thread-level."
        }
    }

    static func errnoName(_ e: Int32) -> String {
        switch e {
        case EACCES: return "EACCES"
        case EPERM: return "EPERM"
        case ENOENT: return "ENOENT"
        case ENODEV: return "ENODEV"
        case EOPNOTSUPP: return "EOPNOTSUPP"
        case ENOSYS: return "ENOSYS"
        case EMFILE: return "EMFILE"
        case ENOMEM: return "ENOMEM"
        case EINVAL: return "EINVAL"
        case ESRCH: return "ESRCH"
        case E2BIG: return "E2BIG"
        case EBUSY: return "EBUSY"
        default: return "errno \(e)"
        }
    }
}

/// The stack sampler's state, as `lookout_profiler_stack_sampling{status}` reports it.
public enum StackSamplingStatus: String, Sendable, Hashable, CaseIterable {
    /// Sampling stacks.
    case active
    /// perf events were refused (permissions); profiles are thread-level.
    case denied
    /// Off by configuration, or unavailable for another reason.
    case off
}
