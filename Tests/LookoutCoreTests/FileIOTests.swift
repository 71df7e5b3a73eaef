#if canImport(Glibc)
import Glibc
#endif
import LookoutCore
import Synchronization
import TestSupport
import Testing

@Suite struct FileIOTests {
    @Test func aFileLargerThanTheLimitIsAnErrorNotCutShort() throws {
        let dir = TemporaryDirectory()
        let exact = dir.write("exact", [UInt8](repeating: 65, count: 10_000))
        #expect(try FileIO.read(exact, limit: 10_000).count == 10_000)
        let over = dir.write("over", [UInt8](repeating: 65, count: 10_001))
        #expect {
            try FileIO.read(over, limit: 10_000)
        } throws: { error in
            (error as? FileIO.Error)?.description == "\(over): file is larger than 10000 bytes, the most this reads"
        }
        #expect(throws: FileIO.Error.self) { try FileIO.readText(dir.write("big", [UInt8](repeating: 65, count: 3 << 20)), limit: 2 << 20) }
    }

    /// A lock released a moment later (a forked child's copy of the descriptor, closed at its
    /// exec) is taken; one kept is reported busy once the patience is spent.
    @Test func aLockReleasedWithinThePatienceIsTakenAndOneKeptIsBusy() async throws {
        let dir = TemporaryDirectory()
        let path = dir.path + "/x.lock"
        let holder = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        let taker = open(path, O_RDWR | O_CLOEXEC)
        try #require(holder >= 0 && taker >= 0)
        defer {
            close(holder)
            close(taker)
        }
        #expect(flock(holder, LOCK_EX | LOCK_NB) == 0)
        #expect(FileIO.lockExclusive(taker, patience: .milliseconds(50)) == EWOULDBLOCK)
        // The holder's thread starts now, not when the concurrency pool gets to it (in a busy
        // parallel test pass that can be later than the patience).
        let released = ReleaseResult()
        try #require(TickThread.spawn(name: "lock-holder") {
            usleep(150_000)
            released.set(flock(holder, LOCK_UN))
        })
        let taken = await onOwnThread { FileIO.lockExclusive(taker, patience: .seconds(5)) }
        #expect(await waitUntil { released.get() != nil })
        #expect(released.get() == 0)
        #expect(taken == 0)
        #expect(flock(holder, LOCK_EX | LOCK_NB) != 0)
    }
}

/// What the holder's `flock(LOCK_UN)` returned, once it has.
private final class ReleaseResult: Sendable {
    private let value = Mutex<Int32?>(nil)
    func set(_ v: Int32) { value.withLock { $0 = v } }
    func get() -> Int32? { value.withLock { $0 } }
}
