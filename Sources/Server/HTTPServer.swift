import Logging
import LookoutCore
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Limits and access control of the agent's own HTTP endpoints.
public struct ServerSettings: Sendable {
    public var host: String
    public var port: Int
    /// Connections open at once. A new connection beyond this closes the one idle longest
    /// (waiting for a request, or stalled writing to a client that does not read); only when
    /// every connection is busy answering is the new one closed. Kept below the process's
    /// file descriptor limit (`HTTPServer.raiseFileDescriptorLimit`).
    public var maxConnections = 1024
    /// Total size of a request's header block.
    public var maxHeaderBytes = 16 << 10
    /// Bodies are refused on routes that take none; others are capped here.
    public var maxBodyBytes = 64 << 10
    /// A request must arrive whole within this time of the connection opening, or of its
    /// first byte on a kept-alive connection (slow clients are cut off).
    public var requestReadTimeout: Duration = .seconds(10)
    /// Keep-alive connections silent for this long are closed.
    public var idleTimeout: Duration = .seconds(30)
    /// A response the client does not take within this time closes the connection.
    public var writeTimeout: Duration = .seconds(60)
    /// Bytes read from a connection at a time. With one response in flight per connection,
    /// this bounds what a pipelining client can make the server hold.
    public var readChunkBytes = 4096
    /// Password checks (bcrypt) waiting for or running on the authentication thread; more are answered 503.
    public var maxPendingAuthChecks = 64
    /// Called before routing unless the route is public; refuses a request (401, 429), lets it
    /// through, or hands a slow credential check to the authentication thread.
    public var authorize: (@Sendable (HTTPRequest) -> AuthDecision)?
    /// Serve HTTPS with this context.
    public var tls: ServerTLS?

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
}

/// The agent's HTTP server: NIO's HTTP/1.1 codec and a small router. Synchronous routes
/// (`/-/healthy`, `/-/ready`) answer on the event loop without hopping threads; offloaded
/// ones (`/metrics`) run one at a time on a worker thread of their own, so however many
/// clients ask for the exposition, they cost at most one core and the event loop keeps
/// answering the cheap routes at once. Password hashes are checked on a thread of their own.
///
/// In a service group it serves until the group shuts down gracefully; then it stops
/// accepting, gives the requests in flight up to a second to finish and closes every
/// connection before `run()` returns.
///
/// Each connection has at most one response in flight: the next request is read only once
/// the previous response has been handed to the kernel, so a client that pipelines without
/// reading costs one response of memory, not one per request.
public final class HTTPServer: Service {
    public let settings: ServerSettings
    private let router: Router
    private let logger: Logger
    private let group: any EventLoopGroup
    private let worker = NIOThreadPool(numberOfThreads: 1)
    /// bcrypt checks, off the event loop. Its thread starts with the first check: an agent
    /// without `basic_auth_users` runs no thread for it.
    private let authPool = NIOThreadPool(numberOfThreads: 1)
    private let authPoolStarted = Mutex(false)
    private let workerStarted = Atomic<Bool>(false)
    private let state = Mutex<State>(State())
    private let access: Mutex<Access>
    private let connections = Atomic<Int>(0)
    private let inFlight = Atomic<Int>(0)
    let pendingAuthChecks = Atomic<Int>(0)

    /// What the web config sets; replaced on reload, read per request and per connection.
    struct Access: Sendable {
        var authorize: (@Sendable (HTTPRequest) -> AuthDecision)?
        var tls: ServerTLS?
    }

    private struct State {
        var channel: (any Channel)?
        var children: [ObjectIdentifier: Connection] = [:]
        /// Orders connections by when they last became idle (or busy).
        var tick: UInt64 = 0
        var closing = false
        /// Closed by the service group's graceful shutdown: `run()` drains before it returns.
        var drainInRun = false

        /// The connection to close for a new one: the longest idle, else the longest stalled writer.
        mutating func evictionCandidate() -> (any Channel)? {
            var best: (id: ObjectIdentifier, rank: (Int, UInt64))?
            for (id, c) in children {
                let rank: Int
                switch c.phase {
                case .idle: rank = 0
                case .writing: rank = 1
                case .handling: continue
                }
                if best == nil || (rank, c.since) < best!.rank { best = (id, (rank, c.since)) }
            }
            guard let best else { return nil }
            return children.removeValue(forKey: best.id)?.channel
        }
    }

    private struct Connection {
        var channel: any Channel
        var phase: ConnectionPhase
        var since: UInt64
    }

    public init(settings: ServerSettings, router: Router, logger: Logger, group: any EventLoopGroup) {
        self.settings = settings
        self.router = router
        self.logger = logger
        self.group = group
        self.access = Mutex(Access(authorize: settings.authorize, tls: settings.tls))
    }

    deinit {
        if workerStarted.load(ordering: .acquiring) {
            worker.shutdownGracefully { _ in }
        }
        if authPoolStarted.withLock({ $0 }) { authPool.shutdownGracefully { _ in } }
    }

    /// The pool that runs password checks, started on first use.
    var authWorker: NIOThreadPool {
        authPoolStarted.withLock { started in
            if !started {
                authPool.start()
                started = true
            }
        }
        return authPool
    }

    /// Replaces authentication and TLS (a reloaded web config). Requests from now on are
    /// checked with `authorize`; connections from now on use `tls`.
    public func updateAccess(authorize: (@Sendable (HTTPRequest) -> AuthDecision)?, tls: ServerTLS?) {
        access.withLock { $0 = Access(authorize: authorize, tls: tls) }
    }

    var currentAccess: Access { access.withLock { $0 } }

    private func startWorkers() {
        if workerStarted.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged {
            worker.start()
        }
    }

    /// Binds the listening socket; returns the bound port (useful with port 0).
    @discardableResult
    public func bind() async throws -> Int {
        if let ch = state.withLock({ $0.channel }) { return ch.localAddress?.port ?? settings.port }
        startWorkers()
        let settings = self.settings
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 1)
            .childChannelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: settings.readChunkBytes))
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture { try self.accept(channel) }
            }
            .bind(host: settings.host, port: settings.port)
            .get()
        state.withLock { $0.channel = channel }
        let port = channel.localAddress?.port ?? settings.port
        logger.info("listening", metadata: ["address": "\(settings.host):\(port)"])
        return port
    }

    /// Serves until cancelled, `shutdown()`, or the service group's graceful shutdown (after
    /// which it drains as `shutdown()` does before returning).
    public func run() async throws {
        try await bind()
        guard let channel = state.withLock({ $0.channel }) else { return }
        try await withGracefulShutdownHandler {
            try await withTaskCancellationHandler {
                try await channel.closeFuture.get()
            } onCancel: {
                channel.close(promise: nil)
            }
        } onGracefulShutdown: { [self] in
            stopAccepting(drainInRun: true)?.close(promise: nil)
        }
        if state.withLock({ $0.drainInRun }) { await drain(grace: .seconds(1)) }
    }

    /// Stops accepting, gives in-flight requests up to `grace` to finish, then closes every connection.
    public func shutdown(grace: Duration = .seconds(1)) async {
        try? await stopAccepting(drainInRun: false)?.close()
        await drain(grace: grace)
    }

    /// Marks the server closing (new connections are refused); returns the listening channel.
    private func stopAccepting(drainInRun: Bool) -> (any Channel)? {
        state.withLock { s in
            s.closing = true
            if drainInRun { s.drainInRun = true }
            return s.channel
        }
    }

    /// Waits up to `grace` (or until cancelled) for the requests in flight, then closes every connection.
    private func drain(grace: Duration) async {
        let deadline = SystemClock().now + grace
        while inFlight.load(ordering: .relaxed) > 0 && SystemClock().now < deadline {
            do { try await Task.sleep(for: .milliseconds(10)) } catch { break }
        }
        let children = state.withLock { $0.children.values.map(\.channel) }
        for c in children { c.close(promise: nil) }
    }

    /// Raises the soft limit of open files to the hard limit (as Go's runtime does at start),
    /// and returns how many connections fit under it with room for the agent's own files.
    public static func raiseFileDescriptorLimit(reserve: Int = 128) -> Int {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return max(16, Int(clamping: limit.rlim_cur) - reserve)
    }

    /// Connections open now.
    public var connectionCount: Int { connections.load(ordering: .relaxed) }

    /// Sets up an accepted connection: counts it against the limit (closing the longest idle
    /// one when the limit is reached), then TLS, timeouts, the HTTP codec and the request handler.
    /// Public so that the connection handling can be driven without sockets (tests, fuzzing).
    public func accept(_ channel: any Channel) throws {
        startWorkers()
        connections.wrappingAdd(1, ordering: .relaxed)
        let id = ObjectIdentifier(channel)
        let limit = settings.maxConnections
        let (refused, evicted) = state.withLock { s -> (Bool, (any Channel)?) in
            if s.closing { return (true, nil) }
            var evicted: (any Channel)?
            if s.children.count >= limit {
                evicted = s.evictionCandidate()
                if evicted == nil { return (true, nil) }
            }
            s.tick += 1
            s.children[id] = Connection(channel: channel, phase: .idle, since: s.tick)
            return (false, evicted)
        }
        channel.closeFuture.whenComplete { [self] _ in
            connections.wrappingSubtract(1, ordering: .relaxed)
            state.withLock { _ = $0.children.removeValue(forKey: id) }
        }
        if let evicted {
            logger.debug("closing the longest idle connection: connection limit reached", metadata: ["limit": "\(limit)"])
            evicted.close(promise: nil)
        }
        if refused {
            logger.debug("connection refused: every connection is busy", metadata: ["limit": "\(limit)"])
            channel.close(promise: nil)
            return
        }
        let sync = channel.pipeline.syncOperations
        if let tls = currentAccess.tls {
            try sync.addHandler(tls.makeHandler())
        }
        try sync.addHandler(
            ConnectionGuard(
                settings: settings, phase: ConnectionPhaseReporter(server: self, id: id)))
        var limits = NIOHTTPDecoderLimitConfiguration()
        limits.maxHeaderListSize = settings.maxHeaderBytes
        limits.maxHeaderFieldSize = settings.maxHeaderBytes
        limits.maxHeaderFieldCount = 100
        try sync.configureHTTPServerPipeline(
            withPipeliningAssistance: true, withErrorHandling: true, withEncoderConfiguration: .init(),
            withDecoderLimitConfiguration: limits)
        try sync.addHandler(
            RequestHandler(
                router: router, settings: settings, logger: logger, server: ServerReference(server: self),
                worker: worker))
    }

    fileprivate func setPhase(_ phase: ConnectionPhase, of id: ObjectIdentifier) {
        state.withLock { s in
            guard s.children[id] != nil else { return }
            s.tick += 1
            s.children[id]!.phase = phase
            s.children[id]!.since = s.tick
        }
    }

    fileprivate func enter() { inFlight.wrappingAdd(1, ordering: .relaxed) }
    fileprivate func leave() { inFlight.wrappingSubtract(1, ordering: .relaxed) }
}

/// What a connection is doing, for choosing which to close when the limit is reached.
enum ConnectionPhase: Sendable {
    /// Waiting for a request (or for the rest of one).
    case idle
    /// A request has been read and is being answered.
    case handling
    /// The response is being written.
    case writing
}

/// Lets a connection's handlers report its phase without holding the server strongly.
struct ConnectionPhaseReporter: Sendable {
    unowned let server: HTTPServer
    let id: ObjectIdentifier
    func set(_ phase: ConnectionPhase) { server.setPhase(phase, of: id) }
}

/// What the request handler needs of the server, without holding it strongly.
struct ServerReference: Sendable {
    unowned let server: HTTPServer
    func enter() { server.enter() }
    func leave() { server.leave() }
    var access: HTTPServer.Access { server.currentAccess }
    var authWorker: NIOThreadPool { server.authWorker }
    /// Takes a slot for a password check; false when too many wait.
    func reserveAuthCheck() -> Bool {
        let limit = server.settings.maxPendingAuthChecks
        if server.pendingAuthChecks.wrappingAdd(1, ordering: .relaxed).newValue > limit {
            server.pendingAuthChecks.wrappingSubtract(1, ordering: .relaxed)
            return false
        }
        return true
    }
    func releaseAuthCheck() { server.pendingAuthChecks.wrappingSubtract(1, ordering: .relaxed) }
}
