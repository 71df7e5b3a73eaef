import LookoutCore

/// A concurrent HTTP client on libcurl's multi interface.
///
/// One thread owns the multi handle and runs every transfer; `execute` queues a request
/// and suspends until it finishes, so any number of requests run at once without a
/// thread each. Connections are kept alive and reused across requests (the multi
/// handle's connection cache), DNS answers and TLS sessions are cached, and libcurl
/// enforces the connect and total timeouts. The thread starts with the first request.
///
/// Call `shutdown()` when done; it cancels what is still running and joins the thread.
public final class HTTPClient: HTTPTransport {
    private let engine: CurlEngine

    /// - Parameters:
    ///   - maxCachedConnections: idle connections kept alive for reuse. Make it at least
    ///     the number of endpoints probed, or some connections are reopened every round.
    ///   - userAgent: the `User-Agent` of every request.
    public init(maxCachedConnections: Int = 1024, userAgent: String = LookoutVersion.userAgent) {
        engine = CurlEngine(maxCachedConnections: maxCachedConnections, userAgent: userAgent)
    }

    deinit { engine.shutdown() }

    /// Runs one request. Never throws: transport failures are in `HTTPResult.error`.
    /// Cancelling the calling task aborts the transfer and returns an error of kind `cancelled`.
    public func execute(_ request: HTTPClientRequest) async -> HTTPResult {
        let transfer = Transfer(request: request)
        let engine = self.engine
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<HTTPResult, Never>) in
                transfer.continuation = c
                if !engine.submit(transfer) {
                    transfer.continuation = nil
                    c.resume(returning: CurlEngine.cancelledResult("the HTTP client was shut down"))
                }
            }
        } onCancel: {
            transfer.cancelled.store(true, ordering: .releasing)
            engine.cancel(transfer)
        }
    }

    /// Cancels running requests, stops the thread and frees libcurl's handles. Idempotent;
    /// requests made afterwards fail at once with kind `cancelled`.
    public func shutdown() {
        engine.shutdown()
    }
}

/// Something that runs HTTP requests: `HTTPClient`, or a test's recording stand-in.
/// An implementation never throws (transport failures are in `HTTPResult.error`) and returns
/// promptly, with an error of kind `cancelled`, when the calling task is cancelled.
public protocol HTTPTransport: Sendable {
    func execute(_ request: HTTPClientRequest) async -> HTTPResult
}
