import HTTPClient
import Logging
import LookoutCore
import NIOPosix
import Series
import ServiceLifecycle
import Synchronization

/// remote_write as a service: every `interval` a snapshot of the agent's series (what
/// `gather` returns, which is what `/metrics` serves) goes into the WAL, and one
/// `EndpointQueue` per endpoint sends it on. Snapshots and sends run in tasks of their own:
/// a slow or absent receiver holds up nothing but its own queue. The WAL's writes and
/// fsyncs run on a thread of their own, never on the tasks' shared threads.
///
/// A changed `remote_write` block restarts the queues (each resumes from its saved
/// position); the WAL stays open unless its directory or size bound changed.
public final class RemoteWriter: Service {
    let clock: any AgentClock
    let client: HTTPClient
    let gather: @Sendable () -> [MetricFamily]
    let logger: Logger
    public let metrics = RemoteWriteMetrics()
    private let settings: Mutex<RemoteWriteSettings?>
    private let changed = WakeSignal()
    /// Blocking file I/O (appends, fsyncs, saved positions). Its thread starts with the
    /// first endpoint: an agent without remote_write runs no thread for it.
    let io = NIOThreadPool(numberOfThreads: 1)
    private let ioStarted = Atomic<Bool>(false)

    public init(
        settings: RemoteWriteSettings?, clock: any AgentClock, client: HTTPClient, logger: Logger,
        gather: @escaping @Sendable () -> [MetricFamily]
    ) {
        self.settings = Mutex(settings)
        self.clock = clock
        self.client = client
        self.logger = logger
        self.gather = gather
    }

    deinit {
        if ioStarted.load(ordering: .acquiring) { try? io.syncShutdownGracefully() }
    }

    private func startIO() {
        if ioStarted.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged {
            io.start()
        }
    }

    public var currentSettings: RemoteWriteSettings? { settings.withLock { $0 } }

    public func update(settings new: RemoteWriteSettings?) {
        let differs = settings.withLock { s -> Bool in
            defer { s = new }
            return s != new
        }
        if differs { changed.signal() }
    }

    /// Snapshots and sends until the service group shuts down (or the task is cancelled).
    public func run() async throws {
        try await runUntilShutdown { try await self.write() }
    }

    private func write() async throws {
        var open: (directory: String, maxBytes: Int, wal: WAL, writer: WALWriterBox)?
        while true {
            try Task.checkCancellation()
            guard let s = currentSettings, !s.endpoints.isEmpty else {
                open = nil
                metrics.configure(urls: [], wal: nil)
                await changed.wait()
                continue
            }
            startIO()
            if open == nil || open!.directory != s.wal || open!.maxBytes != s.maxWALBytes {
                open = nil
                do {
                    let (wal, writer) = try WAL.open(directory: s.wal, maxBytes: s.maxWALBytes)
                    open = (s.wal, s.maxWALBytes, wal, WALWriterBox(writer))
                    logger.info(
                        "remote_write WAL opened",
                        metadata: ["dir": "\(s.wal)", "segments": "\(wal.segmentIndexes.count)", "bytes": "\(wal.bytes)"])
                } catch {
                    logger.error("remote_write is off: \(error)")
                    metrics.configure(urls: [], wal: nil)
                    await changed.wait()
                    continue
                }
            }
            let (wal, writer) = (open!.wal, open!.writer)
            metrics.configure(urls: s.endpoints.map(\.url), wal: wal)
            await withTaskGroup(of: Void.self) { group in
                group.addTask { try? await self.snapshots(s, writer: writer) }
                for e in s.endpoints {
                    let queue = EndpointQueue(
                        endpoint: e, wal: wal, client: client, clock: clock, metrics: metrics, io: io,
                        logger: logger)
                    group.addTask { try? await queue.run() }
                }
                group.addTask { await self.changed.wait() }
                await group.next()
                group.cancelAll()
            }
        }
    }

    /// Appends a snapshot of the agent's series to the WAL every `interval`.
    private func snapshots(_ s: RemoteWriteSettings, writer: WALWriterBox) async throws {
        var next = clock.now + s.interval
        while true {
            try await clock.sleep(until: next)
            next = next + s.interval
            if next < clock.now { next = clock.now + s.interval }
            let timestamp = clock.wallNow.millisecondsSinceEpoch
            let samples = Snapshot.flatten(gather(), externalLabels: s.externalLabels)
            do {
                try await io.runIfActive { try writer.writer.append(samples, timestamp: timestamp) }
            } catch {
                logger.error("remote_write: cannot append to the WAL", metadata: ["error": "\(error)"])
            }
        }
    }
}

/// Hands the WAL's writer from one generation of the snapshot task to the next; only one
/// snapshot task runs at a time.
final class WALWriterBox: @unchecked Sendable {
    let writer: WALWriter
    init(_ writer: WALWriter) { self.writer = writer }
}
