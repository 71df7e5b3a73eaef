#if canImport(Glibc)
import Glibc
#endif
import CTestSupport
import LookoutCore
import Stacks
import Testing
import TestSupport

/// Runs `body` on a thread of its own whose user IDs are `nobody`'s (real and effective; the
/// saved one stays 0 so the thread can return): without root's effective capabilities, as an
/// agent started without CAP_PERFMON, CAP_SYS_ADMIN or perf_event_paranoid <= 0 would be.
func asUnprivilegedThread<T>(_ body: @escaping () -> T) throws -> T {
    var result: T?
    let box = ThreadBody { result = body() }
    var thread = pthread_t()
    let rc = pthread_create(
        &thread, nil,
        { raw in
            let box = Unmanaged<ThreadBody>.fromOpaque(raw!).takeUnretainedValue()
            box.error = lookout_test_thread_setresuid(65534, 65534, 0)
            if box.error == 0 {
                box.body()
                _ = lookout_test_thread_setresuid(0, 0, 0)
            }
            return nil
        }, Unmanaged.passUnretained(box).toOpaque())
    try #require(rc == 0)
    pthread_join(thread, nil)
    try #require(box.error == 0, "setresuid: \(box.error)")
    return try #require(result)
}

/// Starts an engine on an unprivileged thread. Ring buffers that other tests of this process
/// map as root count in its pinned memory, which an unprivileged mapping must keep within
/// RLIMIT_MEMLOCK (which root cannot raise here): while such a mapping is refused, this
/// waits for those tests to unmap theirs (up to 2 minutes).
func startUnprivileged(_ settings: StackSamplingSettings) -> Result<StackSampler, StackSamplingError> {
    let deadline = SystemClock().now + .seconds(120)
    while true {
        let result = StackSampler.start(settings)
        guard case .failure(let error) = result, error.operation.hasPrefix("mmap"), error.errno == EPERM,
            SystemClock().now < deadline
        else { return result }
        usleep(200_000)
    }
}

private final class ThreadBody: @unchecked Sendable {
    let body: () -> Void
    var error: Int32 = 0
    init(_ body: @escaping () -> Void) { self.body = body }
}

/// One test at a time: each maps ring buffers as `nobody`, whose locked memory for perf
/// (perf_event_mlock_kb) two engines at once may exceed.
@Suite(.serialized) struct DeniedTests {
    @Test func everyTaskScopeIsDeniedWithHowToAllowIt() throws {
        let paranoid = try FileIO.readText("/proc/sys/kernel/perf_event_paranoid").filter { !$0.isWhitespace }
        try #require(Int(paranoid) ?? 0 > 0, "perf_event_paranoid \(paranoid) lets anyone sample every task")
        let result = try asUnprivilegedThread { StackSampler.start(StackSamplingSettings(scope: .cpus)).map { _ in () } }
        guard case .failure(let error) = result else {
            Issue.record("stack sampling started without privileges")
            return
        }
        #expect(error.kind == .denied)
        #expect(error.status == .denied)
        #expect(error.errno == EACCES || error.errno == EPERM)
        #expect(error.operation == "perf_event_open(cpu-clock, every task, cpu 0)")
        for hint in ["CAP_PERFMON", "CAP_SYS_ADMIN", "securityContext", "kernel.perf_event_paranoid=0", "(it is \(paranoid))"] {
            #expect(error.message.contains(hint), "\(hint) missing in: \(error.message)")
        }
        print(error.message)
    }

    @Test func kernelStacksOfOwnThreadsAreDeniedToo() throws {
        let result = try asUnprivilegedThread {
            startUnprivileged(StackSamplingSettings(scope: .tasks, kernelStacks: true)).map { _ in () }
        }
        guard case .failure(let error) = result else {
            Issue.record("kernel stacks sampled without privileges")
            return
        }
        #expect(error.kind == .denied)
        #expect(error.message.contains("kernel.perf_event_paranoid=1"), "\(error.message)")
    }

    @Test func anotherUsersProcessIsDeniedPerTarget() throws {
        let other = try ChildProcess(["sleep", "30"])
        defer { other.kill() }
        let result = try asUnprivilegedThread { () -> Result<[Int32: StackSamplingError], StackSamplingError> in
            // User space of its own threads is allowed with perf_event_paranoid 2...
            startUnprivileged(StackSamplingSettings(scope: .tasks, kernelStacks: false)).map { sampler in
                // ...a process of another user (root) is not.
                sampler.setTargets([other.pid: "other"])
            }
        }
        let errors = try result.get()
        let error = try #require(errors[other.pid], "no error for root's process: \(errors)")
        #expect(error.kind == .denied)
        #expect(error.operation.contains("of process \(other.pid)"))
    }
}
