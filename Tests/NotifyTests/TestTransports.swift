import Config
import HTTPClient
import LookoutCore
import Notify
import Synchronization
import TestSupport

/// A transport that records requests and answers from a script (then with `fallback`), in memory.
final class RecordingTransport: HTTPTransport {
    private struct State {
        var requests: [SentRequest] = []
        var script: [TransportOutcome] = []
        var fallback: TransportOutcome = .status(200)
    }

    private let state = Mutex(State())

    init(script: [TransportOutcome] = [], fallback: TransportOutcome = .status(200)) {
        state.withLock {
            $0.script = script
            $0.fallback = fallback
        }
    }

    func execute(_ request: HTTPClientRequest) async -> HTTPResult {
        let outcome = state.withLock { s in
            s.requests.append(SentRequest(request))
            return s.script.isEmpty ? s.fallback : s.script.removeFirst()
        }
        switch outcome {
        case .status(let status): return HTTPResult(status: status)
        case .failed(.connect, let message): return HTTPResult(error: HTTPError(kind: .connect, message: message))
        case .failed(.timeout, let message): return HTTPResult(error: HTTPError(kind: .timeout, message: message))
        case .failed(.other, let message): return HTTPResult(error: HTTPError(kind: .other, message: message))
        }
    }

    var requests: [SentRequest] { state.withLock { $0.requests } }
    var count: Int { state.withLock { $0.requests.count } }

    func answer(_ outcomes: [TransportOutcome], then fallback: TransportOutcome? = nil) {
        state.withLock {
            $0.script = outcomes
            if let fallback { $0.fallback = fallback }
        }
    }
}

/// A request as the notifier handed it to the HTTP client.
struct SentRequest: Sendable {
    var url: String
    var method: HTTPMethod
    var headers: [HTTPHeader]
    var body: [UInt8]
    var timeout: Duration
    var connectTimeout: Duration
    var followRedirects: Bool
    var tls: TLSClientConfig?

    init(_ r: HTTPClientRequest) {
        url = r.url
        method = r.method
        headers = r.headers
        body = r.body ?? []
        timeout = r.timeout
        connectTimeout = r.connectTimeout
        followRedirects = r.followRedirects
        tls = r.tls
    }

    func header(_ name: String) -> String? { headers.first { $0.name == name }?.value }
    var text: String { String(decoding: body, as: UTF8.self) }
}
