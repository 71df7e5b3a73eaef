#if canImport(Glibc)
import Glibc
#endif
import LookoutCore

/// A process in uninterruptible sleep (state D), for the block sampling checks: the parent of
/// a vfork waits that way until its child exits; the child sleeps (interruptibly) meanwhile.
public final class UninterruptibleSleeper: @unchecked Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    let dir = TemporaryDirectory(prefix: "lookout-vfork")
    /// The waiting parent; its executable (and so its comm) is `vfork`.
    public let process: ChildProcess
    public var pid: pid_t { process.pid }

    /// Compiles the program with gcc and returns once the parent is in the vfork wait: after
    /// the child has written its pid (a moment earlier the parent may be in state D for
    /// another reason, e.g. paging its binary in).
    public init() async throws {
        dir.write(
            "vfork.c",
            """
            #include <stdio.h>
            #include <sys/wait.h>
            #include <unistd.h>
            int main(void) {
                pid_t child = vfork();
                if (child == 0) { dprintf(1, "%d\\n", getpid()); sleep(60); _exit(0); }
                waitpid(child, 0, 0);
                return 0;
            }
            """)
        let cc = Shell.run(["gcc", "-O1", "-o", dir.path + "/vfork", dir.path + "/vfork.c"])
        guard cc.status == 0 else { throw Failure(description: "gcc failed: \(cc.output)") }
        process = try ChildProcess([dir.path + "/vfork"], stdout: dir.path + "/child.pid")
        let pidFile = dir.path + "/child.pid"
        guard await waitUntil(timeout: .seconds(10), { ((try? FileIO.readText(pidFile)) ?? "").hasSuffix("\n") }) else {
            process.kill()
            throw Failure(description: "the vfork child did not start")
        }
    }

    deinit { process.kill() }

    /// The parent's state letter from `/proc/PID/stat` (after the parenthesized name).
    public var state: Character? {
        let stat = (try? FileIO.readText("/proc/\(pid)/stat")) ?? ""
        return stat.lastIndex(of: ")").flatMap { stat[stat.index($0, offsetBy: 2)...].first }
    }

    /// The parent's kernel wait channel, as `/proc/PID/wchan` gives it.
    public var waitChannel: String {
        String(((try? FileIO.readText("/proc/\(pid)/wchan")) ?? "").prefix { !$0.isWhitespace })
    }

    /// Kills the child first, so that the parent reaps it and exits (no zombie is left);
    /// returns the parent's exit status (0), or nil when it did not exit.
    public func stop() -> Int32? {
        let text = (try? FileIO.readText(dir.path + "/child.pid")) ?? ""
        if let child = Int32(String(text.prefix { !$0.isWhitespace })) { Glibc.kill(child, SIGKILL) }
        return process.wait(timeout: .seconds(5))
    }
}
