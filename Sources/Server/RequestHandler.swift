import Logging
import LookoutCore
import NIOCore
import NIOHTTP1
import NIOPosix

/// Answers the requests of one connection, one at a time: the next request is taken only
/// when the previous response has been handed to the kernel (NIO's pipelining handler in
/// front of it stops reading the socket meanwhile). Authentication comes before routing; a
/// password check runs on the server's authentication thread, never on the event loop. An
/// asynchronous handler (a profile recording) is cancelled when its connection closes.
final class RequestHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private struct ReadRequest {
        var head: HTTPRequestHead
        var body: [UInt8] = []
        /// Set when the request must be refused once it has been read (body too large).
        var refusal: HTTPResponse?
    }

    private let router: Router
    private let settings: ServerSettings
    private let logger: Logger
    private let server: ServerReference
    private let worker: NIOThreadPool
    /// The request being read.
    private var reading: ReadRequest?
    /// A request read whole while the previous response is still being written.
    private var waiting: ReadRequest?
    /// From a request read whole until its response has been written.
    private var busy = false
    /// The task of an asynchronous handler, cancelled when the connection closes.
    private var task: Task<Void, Never>?

    init(router: Router, settings: ServerSettings, logger: Logger, server: ServerReference, worker: NIOThreadPool) {
        self.router = router
        self.settings = settings
        self.logger = logger
        self.server = server
        self.worker = worker
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            reading = ReadRequest(head: head)
        case .body(let chunk):
            guard reading != nil, reading!.refusal == nil else { return }
            if reading!.body.count + chunk.readableBytes > settings.maxBodyBytes {
                reading!.refusal = .text("request body too large (limit \(settings.maxBodyBytes) bytes)\n", status: 413)
                reading!.body = []
                return
            }
            reading!.body.append(contentsOf: chunk.readableBytesView)
        case .end:
            guard let request = reading else { return }
            reading = nil
            if busy {
                waiting = request
            } else {
                start(context: context, request)
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        task?.cancel()
        task = nil
        waiting = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    private func start(context: ChannelHandlerContext, _ read: ReadRequest) {
        busy = true
        context.triggerUserOutboundEvent(RequestProgress.complete, promise: nil)
        let head = read.head
        let answer = Answer(keepAlive: head.isKeepAlive, isHead: head.method == .HEAD)
        if let refusal = read.refusal {
            write(context: context, response: refusal, answer.closing)
            return
        }
        if head.version.major == 1 && head.version.minor >= 1 && !head.headers.contains(name: "Host") {
            write(context: context, response: .text("missing required Host header\n", status: 400), answer.closing)
            return
        }
        var request = HTTPRequest(
            method: head.method.rawValue, uri: head.uri, headers: head.headers.map { ($0.name, $0.value) },
            body: read.body, remoteAddress: context.channel.remoteAddress?.description)
        request.remoteIP = context.channel.remoteAddress?.ipAddress
        let match = router.match(method: request.method, path: request.path)
        var isPublic = false
        if case .found(let route) = match { isPublic = route.isPublic }
        guard !isPublic, let authorize = server.access.authorize else {
            route(context: context, request, match, answer)
            return
        }
        switch authorize(request) {
        case .allowed:
            route(context: context, request, match, answer)
        case .refused(let response):
            write(context: context, response: response, answer)
        case .check(let check):
            guard server.reserveAuthCheck() else {
                var busy = HTTPResponse.text("too many authentication checks in progress\n", status: 503)
                busy.headers.append(("Retry-After", "1"))
                write(context: context, response: busy, answer)
                return
            }
            let server = self.server
            let request = request
            let future = server.authWorker.runIfActive(eventLoop: context.eventLoop) { check() }
            let ctx = NIOLoopBound(context, eventLoop: context.eventLoop)
            let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
            server.enter()
            future.whenComplete { result in
                server.leave()
                server.releaseAuthCheck()
                guard ctx.value.channel.isActive else { return }
                switch result {
                case .success(nil): handler.value.route(context: ctx.value, request, match, answer)
                case .success(let denial?): handler.value.write(context: ctx.value, response: denial, answer)
                case .failure: handler.value.write(context: ctx.value, response: .text("internal error\n", status: 500), answer)
                }
            }
        }
    }

    private struct Answer {
        var keepAlive: Bool
        var isHead: Bool
        var closing: Answer { Answer(keepAlive: false, isHead: isHead) }
    }

    private func route(context: ChannelHandlerContext, _ request: HTTPRequest, _ match: Router.Match, _ answer: Answer) {
        switch match {
        case .notFound:
            write(context: context, response: .text("404 page not found\n", status: 404), answer)
        case .methodNotAllowed(let allowed):
            var r = HTTPResponse.text("method not allowed\n", status: 405)
            r.headers.append(("Allow", allowed.sorted().joined(separator: ", ")))
            write(context: context, response: r, answer)
        case .found(let route):
            if !route.acceptsBody && !request.body.isEmpty {
                write(context: context, response: .text("request body not allowed\n", status: 400), answer.closing)
                return
            }
            switch route.handler {
            case .sync(let handle):
                write(context: context, response: handle(request), answer)
            case .async(let handle):
                let promise = context.eventLoop.makePromise(of: HTTPResponse.self)
                task = Task { promise.succeed(await handle(request)) }
                respond(context: context, with: promise.futureResult, answer)
            case .offloaded(let handle):
                let future = worker.runIfActive(eventLoop: context.eventLoop) { handle(request) }
                respond(context: context, with: future, answer)
            }
        }
    }

    /// Writes the response once `future` has it, on the event loop; counted as in flight until then.
    private func respond(context: ChannelHandlerContext, with future: EventLoopFuture<HTTPResponse>, _ answer: Answer) {
        server.enter()
        let ctx = NIOLoopBound(context, eventLoop: context.eventLoop)
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        let server = self.server
        future.whenComplete { result in
            server.leave()
            handler.value.task = nil
            let response = (try? result.get()) ?? .text("internal error\n", status: 500)
            handler.value.write(context: ctx.value, response: response, answer)
        }
    }

    private func write(context: ChannelHandlerContext, response: HTTPResponse, _ answer: Answer) {
        guard context.channel.isActive else { return }
        var headers = HTTPHeaders()
        headers.reserveCapacity(response.headers.count + 2)
        for (name, value) in response.headers { headers.add(name: name, value: value) }
        headers.replaceOrAdd(name: "Content-Length", value: String(response.body.count))
        if !answer.keepAlive { headers.replaceOrAdd(name: "Connection", value: "close") }
        let status = HTTPResponseStatus(statusCode: response.status)
        context.triggerUserOutboundEvent(RequestProgress.responding, promise: nil)
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        if !answer.isHead && !response.body.isEmpty {
            var buffer = context.channel.allocator.buffer(capacity: response.body.count)
            buffer.writeBytes(response.body)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        let done = context.eventLoop.makePromise(of: Void.self)
        let ctx = NIOLoopBound(context, eventLoop: context.eventLoop)
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        done.futureResult.whenComplete { result in
            handler.value.written(context: ctx.value, succeeded: (try? result.get()) != nil, keepAlive: answer.keepAlive)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: done)
    }

    /// The response is in the kernel's hands (or the connection failed): take the next request.
    private func written(context: ChannelHandlerContext, succeeded: Bool, keepAlive: Bool) {
        busy = false
        guard succeeded, context.channel.isActive else { return }
        context.triggerUserOutboundEvent(RequestProgress.responded, promise: nil)
        guard keepAlive else {
            context.close(promise: nil)
            return
        }
        if let next = waiting {
            waiting = nil
            busy = true
            // Not from inside the write's completion (a long pipeline must not recurse), and
            // not as a task due now: the event loop runs due tasks back to back before it looks
            // at sockets again, so one pipelining client would have it to itself. A task due a
            // millisecond later lets every other connection's I/O in first (pipelined requests
            // are rare: browsers and Prometheus wait for each answer).
            let ctx = NIOLoopBound(context, eventLoop: context.eventLoop)
            let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: .milliseconds(1)) {
                guard ctx.value.channel.isActive else { return }
                handler.value.start(context: ctx.value, next)
            }
        }
    }
}
