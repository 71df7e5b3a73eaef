import Logging
import LookoutCore
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// Limits and access control of the agent's own HTTP endpoints.
public struct ServerSettings: Sendable {
    public var host: String
    public var port: Int
    /// Connections beyond this are closed as soon as they are accepted.
    public var maxConnections = 128
    /// Total size of a request's header block.
    public var maxHeaderBytes = 16 << 10
    /// Bodies are refused on routes that take none; others are capped here.
    public var maxBodyBytes = 64 << 10
    /// A request must arrive whole within this time of its first byte (slow clients are cut off).
    public var requestReadTimeout: Duration = .seconds(10)
    /// Keep-alive connections silent for this long are closed.
    public var idleTimeout: Duration = .seconds(300)
    /// Called before routing for non-public routes; returns a response (401) to refuse the request.
    public var authorize: (@Sendable (HTTPRequest) -> HTTPResponse?)?
    /// Serve HTTPS with this context.
    public var tls: NIOSSLContext?

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
}

/// The agent's HTTP server: NIO's HTTP/1.1 codec and a small router. Synchronous routes
/// (`/-/healthy`, `/-/ready`) answer on the event loop without hopping threads; offloaded
/// ones (`/metrics`) run one at a time on a worker thread of their own, so however many
/// clients ask for the exposition, they cost at most one core and the event loop keeps
/// answering the cheap routes at once.
public final class HTTPServer: Sendable {
    public let settings: ServerSettings
    private let router: Router
    private let logger: Logger
    private let group: any EventLoopGroup
    private let worker = NIOThreadPool(numberOfThreads: 1)
    private let workerStarted = Atomic<Bool>(false)
    private let state = Mutex<State>(State())
    private let connections = Atomic<Int>(0)
    private let inFlight = Atomic<Int>(0)

    private struct State {
        var channel: (any Channel)?
        var children: [ObjectIdentifier: any Channel] = [:]
        var closing = false
    }

    public init(settings: ServerSettings, router: Router, logger: Logger, group: any EventLoopGroup) {
        self.settings = settings
        self.router = router
        self.logger = logger
        self.group = group
    }

    deinit {
        if workerStarted.load(ordering: .acquiring) { worker.shutdownGracefully { _ in } }
    }

    /// Binds the listening socket; returns the bound port (useful with port 0).
    @discardableResult
    public func bind() async throws -> Int {
        if let ch = state.withLock({ $0.channel }) { return ch.localAddress?.port ?? settings.port }
        if workerStarted.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged {
            worker.start()
        }
        let settings = self.settings
        let router = self.router
        let logger = self.logger
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 4)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try self.accept(channel, settings: settings, router: router, logger: logger)
                }
            }
            .bind(host: settings.host, port: settings.port)
            .get()
        state.withLock { $0.channel = channel }
        let port = channel.localAddress?.port ?? settings.port
        logger.info("listening", metadata: ["address": "\(settings.host):\(port)"])
        return port
    }

    /// Serves until cancelled or `shutdown()`.
    public func run() async throws {
        try await bind()
        guard let channel = state.withLock({ $0.channel }) else { return }
        try await withTaskCancellationHandler {
            try await channel.closeFuture.get()
        } onCancel: {
            channel.close(promise: nil)
        }
    }

    /// Stops accepting, gives in-flight requests up to `grace` to finish, then closes every connection.
    public func shutdown(grace: Duration = .seconds(1)) async {
        let (server, _) = state.withLock { s -> ((any Channel)?, Void) in
            s.closing = true
            return (s.channel, ())
        }
        try? await server?.close()
        let deadline = SystemClock().now + grace
        while inFlight.load(ordering: .relaxed) > 0 && SystemClock().now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        let children = state.withLock { Array($0.children.values) }
        for c in children { c.close(promise: nil) }
    }

    public var connectionCount: Int { connections.load(ordering: .relaxed) }

    private func accept(_ channel: any Channel, settings: ServerSettings, router: Router, logger: Logger) throws {
        let count = connections.wrappingAdd(1, ordering: .relaxed).newValue
        let id = ObjectIdentifier(channel)
        let refused = state.withLock { s -> Bool in
            if s.closing { return true }
            s.children[id] = channel
            return false
        }
        channel.closeFuture.whenComplete { [self] _ in
            connections.wrappingSubtract(1, ordering: .relaxed)
            state.withLock { _ = $0.children.removeValue(forKey: id) }
        }
        if refused || count > settings.maxConnections {
            if !refused {
                logger.debug("connection refused: limit reached", metadata: ["limit": "\(settings.maxConnections)"])
            }
            channel.close(promise: nil)
            return
        }
        let sync = channel.pipeline.syncOperations
        if let tls = settings.tls {
            try sync.addHandler(NIOSSLServerHandler(context: tls))
        }
        try sync.addHandler(SlowClientGuard(timeout: settings.requestReadTimeout, idleTimeout: settings.idleTimeout))
        var limits = NIOHTTPDecoderLimitConfiguration()
        limits.maxHeaderListSize = settings.maxHeaderBytes
        limits.maxHeaderFieldSize = settings.maxHeaderBytes
        limits.maxHeaderFieldCount = 100
        try sync.configureHTTPServerPipeline(
            withErrorHandling: true, withEncoderConfiguration: .init(), withDecoderLimitConfiguration: limits)
        try sync.addHandler(
            RequestHandler(
                router: router, settings: settings, logger: logger, inFlight: InFlightCounter(server: self),
                worker: worker))
    }

    /// Lets connection handlers count requests in progress without holding the server strongly.
    struct InFlightCounter: Sendable {
        unowned let server: HTTPServer
        func enter() { server.inFlight.wrappingAdd(1, ordering: .relaxed) }
        func leave() { server.inFlight.wrappingSubtract(1, ordering: .relaxed) }
    }
}

/// Signals from the request handler to `SlowClientGuard`, sent as outbound user events.
enum RequestProgress {
    /// The request has been read whole: its read deadline no longer applies.
    case complete
    /// The response has been written: the connection is idle from now on.
    case responded
}

/// Closes connections whose request does not arrive whole within `timeout` of its first
/// byte (slowloris), and keep-alive connections idle longer than `idleTimeout`. A request
/// being answered (a profile can take minutes) is not idle time.
final class SlowClientGuard: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let timeout: TimeAmount
    private let idleTimeout: TimeAmount
    private var requestTimer: Scheduled<Void>?
    private var idleTimer: Scheduled<Void>?

    init(timeout: Duration, idleTimeout: Duration) {
        self.timeout = .nanoseconds(timeout.nanoseconds)
        self.idleTimeout = .nanoseconds(idleTimeout.nanoseconds)
    }

    func channelActive(context: ChannelHandlerContext) {
        armIdle(context: context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        idleTimer?.cancel()
        idleTimer = nil
        if requestTimer == nil {
            let ctx = NIOLoopBound(context, eventLoop: context.eventLoop)
            requestTimer = context.eventLoop.scheduleTask(in: timeout) {
                ctx.value.close(promise: nil)
            }
        }
        context.fireChannelRead(data)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        switch event as? RequestProgress {
        case .complete?:
            requestTimer?.cancel()
            requestTimer = nil
            idleTimer?.cancel()
            idleTimer = nil
            promise?.succeed()
        case .responded?:
            if requestTimer == nil { armIdle(context: context) }
            promise?.succeed()
        case nil:
            context.triggerUserOutboundEvent(event, promise: promise)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        requestTimer?.cancel()
        idleTimer?.cancel()
        context.fireChannelInactive()
    }

    private func armIdle(context: ChannelHandlerContext) {
        idleTimer?.cancel()
        let ctx = NIOLoopBound(context, eventLoop: context.eventLoop)
        idleTimer = context.eventLoop.scheduleTask(in: idleTimeout) {
            ctx.value.close(promise: nil)
        }
    }
}

final class RequestHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let router: Router
    private let settings: ServerSettings
    private let logger: Logger
    private let inFlight: HTTPServer.InFlightCounter
    private let worker: NIOThreadPool
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    /// Set when the request must be refused once it has been read (body not allowed or too large).
    private var refusal: HTTPResponse?

    init(
        router: Router, settings: ServerSettings, logger: Logger, inFlight: HTTPServer.InFlightCounter,
        worker: NIOThreadPool
    ) {
        self.router = router
        self.settings = settings
        self.logger = logger
        self.inFlight = inFlight
        self.worker = worker
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body.removeAll(keepingCapacity: true)
            refusal = nil
        case .body(var chunk):
            guard refusal == nil else { return }
            if body.count + chunk.readableBytes > settings.maxBodyBytes {
                refusal = .text("request body too large (limit \(settings.maxBodyBytes) bytes)\n", status: 413)
                body.removeAll()
                return
            }
            body.append(contentsOf: chunk.readBytes(length: chunk.readableBytes) ?? [])
        case .end:
            guard let head else { return }
            self.head = nil
            context.triggerUserOutboundEvent(RequestProgress.complete, promise: nil)
            dispatch(context: context, head: head)
        }
    }

    private func dispatch(context: ChannelHandlerContext, head: HTTPRequestHead) {
        let keepAlive = head.isKeepAlive
        let request = HTTPRequest(
            method: head.method.rawValue, uri: head.uri,
            headers: head.headers.map { ($0.name, $0.value) }, body: body,
            remoteAddress: context.channel.remoteAddress?.description)
        let isHead = head.method == .HEAD
        if let refusal {
            write(context: context, response: refusal, keepAlive: false, isHead: isHead)
            return
        }
        switch router.match(method: request.method, path: request.path) {
        case .notFound:
            write(context: context, response: .text("404 page not found\n", status: 404), keepAlive: keepAlive, isHead: isHead)
        case .methodNotAllowed(let allowed):
            var r = HTTPResponse.text("method not allowed\n", status: 405)
            r.headers.append(("Allow", allowed.sorted().joined(separator: ", ")))
            write(context: context, response: r, keepAlive: keepAlive, isHead: isHead)
        case .found(let route):
            if !route.acceptsBody && !request.body.isEmpty {
                write(context: context, response: .text("request body not allowed\n", status: 400), keepAlive: false, isHead: isHead)
                return
            }
            if !route.isPublic, let authorize = settings.authorize, let denial = authorize(request) {
                write(context: context, response: denial, keepAlive: keepAlive, isHead: isHead)
                return
            }
            switch route.handler {
            case .sync(let handle):
                write(context: context, response: handle(request), keepAlive: keepAlive, isHead: isHead)
            case .async(let handle):
                let promise = context.eventLoop.makePromise(of: HTTPResponse.self)
                promise.completeWithTask { await handle(request) }
                respond(context: context, with: promise.futureResult, keepAlive: keepAlive, isHead: isHead)
            case .offloaded(let handle):
                let future = worker.runIfActive(eventLoop: context.eventLoop) { handle(request) }
                respond(context: context, with: future, keepAlive: keepAlive, isHead: isHead)
            }
        }
    }

    /// Writes the response once `future` has it, on the event loop; counted as in flight until then.
    private func respond(
        context: ChannelHandlerContext, with future: EventLoopFuture<HTTPResponse>, keepAlive: Bool, isHead: Bool
    ) {
        inFlight.enter()
        let ctx = NIOLoopBound(context, eventLoop: context.eventLoop)
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        let inFlight = self.inFlight
        future.whenComplete { result in
            inFlight.leave()
            let response = (try? result.get()) ?? .text("internal error\n", status: 500)
            handler.value.write(context: ctx.value, response: response, keepAlive: keepAlive, isHead: isHead)
        }
    }

    private func write(context: ChannelHandlerContext, response: HTTPResponse, keepAlive: Bool, isHead: Bool) {
        guard context.channel.isActive else { return }
        var headers = HTTPHeaders()
        headers.reserveCapacity(response.headers.count + 2)
        for (name, value) in response.headers { headers.add(name: name, value: value) }
        headers.replaceOrAdd(name: "Content-Length", value: String(response.body.count))
        if !keepAlive { headers.replaceOrAdd(name: "Connection", value: "close") }
        let status = HTTPResponseStatus(statusCode: response.status)
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        if !isHead && !response.body.isEmpty {
            var buffer = context.channel.allocator.buffer(capacity: response.body.count)
            buffer.writeBytes(response.body)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        let done = context.writeAndFlushPromise()
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: done)
        context.triggerUserOutboundEvent(RequestProgress.responded, promise: nil)
        if !keepAlive {
            let channel = context.channel
            done.futureResult.whenComplete { _ in channel.close(promise: nil) }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }
}

extension ChannelHandlerContext {
    fileprivate func writeAndFlushPromise() -> EventLoopPromise<Void> { eventLoop.makePromise() }
}
