import LookoutCore
import NIOCore

/// Signals from the request handler to `ConnectionGuard`, sent as outbound user events.
enum RequestProgress {
    /// The request has been read whole: its read deadline no longer applies.
    case complete
    /// The response is being written.
    case responding
    /// The response has been handed to the kernel: the connection is idle from now on.
    case responded
}

/// The timeouts of one connection, and its phase in the server's connection table:
/// - a new connection must deliver a complete request within `requestReadTimeout` of opening
///   (a socket that never sends a byte, a TLS handshake that never ends, slowloris);
/// - on a kept-alive connection, silence longer than `idleTimeout` closes it, and once the
///   next request has begun it must be complete within `requestReadTimeout`;
/// - a response the client does not take within `writeTimeout` closes it.
/// A request being answered (a profile can take minutes) is neither idle nor slow.
final class ConnectionGuard: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let requestTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    private let writeTimeout: TimeAmount
    private let phase: ConnectionPhaseReporter
    private var requestTimer: Scheduled<Void>?
    private var idleTimer: Scheduled<Void>?
    private var writeTimer: Scheduled<Void>?
    /// Between responses: bytes that arrive start a request.
    private var awaitingRequest = true

    init(settings: ServerSettings, phase: ConnectionPhaseReporter) {
        requestTimeout = .nanoseconds(settings.requestReadTimeout.nanoseconds)
        idleTimeout = .nanoseconds(settings.idleTimeout.nanoseconds)
        writeTimeout = .nanoseconds(settings.writeTimeout.nanoseconds)
        self.phase = phase
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { armRequest(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        if requestTimer == nil { armRequest(context: context) }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if awaitingRequest && requestTimer == nil {
            idleTimer?.cancel()
            idleTimer = nil
            armRequest(context: context)
        }
        context.fireChannelRead(data)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        switch event as? RequestProgress {
        case .complete?:
            awaitingRequest = false
            cancel(&requestTimer)
            cancel(&idleTimer)
            phase.set(.handling)
            promise?.succeed()
        case .responding?:
            phase.set(.writing)
            writeTimer = schedule(context: context, in: writeTimeout)
            promise?.succeed()
        case .responded?:
            cancel(&writeTimer)
            awaitingRequest = true
            phase.set(.idle)
            if requestTimer == nil && idleTimer == nil { idleTimer = schedule(context: context, in: idleTimeout) }
            promise?.succeed()
        case nil:
            context.triggerUserOutboundEvent(event, promise: promise)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancel(&requestTimer)
        cancel(&idleTimer)
        cancel(&writeTimer)
        context.fireChannelInactive()
    }

    private func armRequest(context: ChannelHandlerContext) {
        requestTimer = schedule(context: context, in: requestTimeout)
    }

    private func cancel(_ timer: inout Scheduled<Void>?) {
        timer?.cancel()
        timer = nil
    }

    private func schedule(context: ChannelHandlerContext, in delay: TimeAmount) -> Scheduled<Void> {
        let ctx = NIOLoopBound(context, eventLoop: context.eventLoop)
        return context.eventLoop.scheduleTask(in: delay) { ctx.value.close(promise: nil) }
    }
}
