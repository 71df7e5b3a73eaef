import Config
import HTTPClient

/// One POST of a notification, with everything the transport needs from the receiver's
/// HTTP client config; credentials are already in `headers`.
public struct NotificationRequest: Sendable {
    public var url: String
    public var headers: [(String, String)]
    public var body: [UInt8]
    public var timeout: Duration
    public var connectTimeout: Duration
    public var tls: TLSClientConfig?
    public var followRedirects: Bool

    public init(url: String, headers: [(String, String)], body: [UInt8], client: HTTPClientConfig) {
        self.url = url
        self.headers = headers
        self.body = body
        timeout = client.timeout
        connectTimeout = min(client.connectTimeout, client.timeout)
        tls = client.tls
        followRedirects = client.followRedirects
    }

    public func header(_ name: String) -> String? { headers.first { $0.0 == name }?.1 }

    /// The POST as the HTTP client runs it: exactly these headers, the answer not compressed
    /// and kept to 64 KiB (only its status counts).
    public var httpRequest: HTTPClientRequest {
        HTTPClientRequest(
            method: .post, url: url, headers: headers.map { HTTPHeader($0.0, $0.1) }, body: body, timeout: timeout,
            connectTimeout: connectTimeout, followRedirects: followRedirects, bodyLimit: 64 << 10,
            acceptCompressed: false, tls: tls)
    }
}

/// How one request ended.
public enum TransportOutcome: Sendable, Hashable, CustomStringConvertible {
    /// The server answered with this HTTP status.
    case status(Int)
    /// No answer: why, and a short message for logs and the status page.
    case failed(TransportFailure, String)

    /// The outcome of an HTTP request: its status, or a connection failure (DNS included), a
    /// timeout, or any other failure (TLS, reset, malformed answer, cancelled).
    public init(_ result: HTTPResult) {
        guard let error = result.error else {
            self = .status(result.status)
            return
        }
        switch error.kind {
        case .connect, .dns: self = .failed(.connect, error.message)
        case .timeout: self = .failed(.timeout, error.message)
        default: self = .failed(.other, error.message)
        }
    }

    public var description: String {
        switch self {
        case .status(let s): return "HTTP \(s)"
        case .failed(let kind, let message): return message.isEmpty ? kind.rawValue : "\(kind.rawValue): \(message)"
        }
    }
}

public enum TransportFailure: String, Sendable, Hashable {
    /// Could not connect (refused, unreachable, DNS).
    case connect
    /// No complete answer within the timeout.
    case timeout
    /// Anything else (connection reset, TLS, malformed response, cancelled).
    case other
}

/// What the notifier does after an attempt.
public enum DeliveryResult: String, Sendable, Hashable {
    /// 2xx: delivered, removed from the outbox.
    case success
    /// Connection error, timeout, 5xx or 429: try again after a backoff.
    case retry
    /// Any other status (4xx, 3xx): the receiver refuses it; retrying cannot help.
    case dropped

    public init(_ outcome: TransportOutcome) {
        switch outcome {
        case .status(let s) where (200..<300).contains(s): self = .success
        case .status(let s) where s == 429 || (500..<600).contains(s): self = .retry
        case .status: self = .dropped
        case .failed: self = .retry
        }
    }
}
