#if canImport(Glibc)
import Glibc
#endif
import LookoutCore
import ServiceLifecycle

/// What identifies a file's content on disk without reading it: the file a path leads to
/// (symlinks followed, so a ConfigMap's `..data` swap changes it), its size and times.
struct FileStamp: Sendable, Hashable {
    var device: UInt64
    var inode: UInt64
    var size: Int64
    var modified: Int64
    var changed: Int64

    /// nil when the path leads nowhere (a missing file is a state too: its return is a change).
    init?(path: String) {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
        size = Int64(st.st_size)
        modified = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
        changed = Int64(st.st_ctim.tv_sec) * 1_000_000_000 + Int64(st.st_ctim.tv_nsec)
    }

    /// The stamps of `paths`, in order.
    static func of(_ paths: [String]) -> [String: FileStamp?] {
        var out: [String: FileStamp?] = [:]
        for p in paths { out[p] = FileStamp(path: p) }
        return out
    }
}

/// Reloads the agent when the config file, a rule file or the web config file changes on
/// disk, including the symlink swap a mounted Kubernetes ConfigMap makes on update. It looks
/// every `interval` (a few stat calls); a change that does not load leaves the running
/// configuration in place, as any reload does, and the next change is tried again.
struct ConfigWatcher: Service {
    let clock: any AgentClock
    let interval: Duration
    /// The files the running configuration depends on.
    let files: @Sendable () -> [String]
    let reload: @Sendable () async -> Void

    func run() async throws {
        try await runUntilShutdown {
            var seen = FileStamp.of(files())
            while true {
                try await clock.sleep(for: interval)
                let now = FileStamp.of(files())
                if now != seen {
                    await reload()
                    // The reload may have changed the set of files (new rule files): stamp
                    // those now, and keep the stamps taken before the reload for the others,
                    // so a change made while it ran is seen next time.
                    var next = FileStamp.of(files())
                    for (path, stamp) in now where next[path] != nil { next[path] = stamp }
                    seen = next
                }
            }
        }
    }
}
