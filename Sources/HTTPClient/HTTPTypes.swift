import Config
import LookoutCore

public enum HTTPMethod: String, Sendable, Hashable {
    case get = "GET", post = "POST", put = "PUT", head = "HEAD"
}

/// One request for `HTTPClient.execute`. Timeouts are enforced by libcurl itself, so a
/// server that never answers costs one idle socket until the deadline, nothing more.
public struct HTTPClientRequest: Sendable, Hashable {
    public var method: HTTPMethod
    public var url: String
    /// Extra request headers, e.g. `("Accept", "application/json")`. `User-Agent` is set by the client.
    public var headers: [HTTPHeader]
    public var body: [UInt8]?
    /// Total time allowed, from start to the last body byte.
    public var timeout: Duration
    public var connectTimeout: Duration
    public var followRedirects: Bool
    public var maxRedirects: Int
    /// Largest body accepted, counted after content decoding; more aborts the transfer (reason `limit`).
    public var bodyLimit: Int
    /// Sends `Accept-Encoding` with every encoding libcurl can decode, and decodes the answer.
    public var acceptCompressed: Bool
    /// HTTP basic authentication; libcurl does not send it to another host after a redirect.
    public var basicAuth: BasicAuth?
    /// Certificate authorities and client certificate for https; the system's CAs when nil.
    public var tls: TLSClientConfig?

    public init(
        method: HTTPMethod = .get, url: String, headers: [HTTPHeader] = [], body: [UInt8]? = nil,
        timeout: Duration = .seconds(5), connectTimeout: Duration = .seconds(2), followRedirects: Bool = false,
        maxRedirects: Int = 10, bodyLimit: Int = 10 << 20, acceptCompressed: Bool = true,
        basicAuth: BasicAuth? = nil, tls: TLSClientConfig? = nil
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.connectTimeout = connectTimeout
        self.followRedirects = followRedirects
        self.maxRedirects = maxRedirects
        self.bodyLimit = bodyLimit
        self.acceptCompressed = acceptCompressed
        self.basicAuth = basicAuth
        self.tls = tls
    }
}

extension HTTPClientRequest {
    /// A request as a server's client config says: its headers, then `Authorization` for a
    /// bearer token (basic credentials are sent by libcurl itself, never to another host
    /// after a redirect), then `headers`; its TLS, timeouts and redirects. `timeout` overrides
    /// the config's (the connect timeout never exceeds the total).
    public init(
        method: HTTPMethod = .get, url: String, config: HTTPClientConfig, headers extra: [HTTPHeader] = [],
        body: [UInt8]? = nil, timeout: Duration? = nil, bodyLimit: Int = 10 << 20, acceptCompressed: Bool = true
    ) {
        var headers = config.headers
        var basic: BasicAuth?
        switch config.auth {
        case .basic(let credentials)?: basic = credentials
        case let auth?: headers.append(auth.header)
        case nil: break
        }
        headers += extra
        let total = timeout ?? config.timeout
        self.init(
            method: method, url: url, headers: headers, body: body, timeout: total,
            connectTimeout: min(config.connectTimeout, total), followRedirects: config.followRedirects,
            bodyLimit: bodyLimit, acceptCompressed: acceptCompressed, basicAuth: basic, tls: config.tls)
    }
}

/// Where the time of one request went, in seconds. The phases add up to `total`:
/// resolve + connect + tls + processing + transfer.
public struct PhaseTimings: Sendable, Hashable {
    /// Name resolution (≈ 0 when cached or for an IP literal).
    public var resolve: Double
    /// TCP connect (0 on a reused connection).
    public var connect: Double
    /// TLS handshake (0 for plain HTTP and on a reused connection).
    public var tls: Double
    /// From the connection being ready to the first response byte: the server's think time.
    public var processing: Double
    /// From the first to the last response byte.
    public var transfer: Double
    public var total: Double

    public init(resolve: Double = 0, connect: Double = 0, tls: Double = 0, processing: Double = 0, transfer: Double = 0, total: Double = 0) {
        self.resolve = resolve
        self.connect = connect
        self.tls = tls
        self.processing = processing
        self.transfer = transfer
        self.total = total
    }

    /// Phases from libcurl's cumulative `*_TIME_T` marks, in microseconds from the start.
    /// Marks a failed transfer never reached are 0; each phase is clamped so the
    /// phases stay non-negative and add up to the total.
    public init(namelookup: Int64, connect: Int64, appconnect: Int64, pretransfer: Int64, starttransfer: Int64, total: Int64) {
        let total = max(0, total)
        let n = min(max(0, namelookup), total)
        let c = min(max(n, connect), total)
        let a = appconnect > 0 ? min(max(c, appconnect), total) : c
        // No first byte: everything after the handshake was waiting for the server.
        let s = starttransfer > 0 ? min(max(a, starttransfer), total) : total
        _ = pretransfer
        self.init(
            resolve: Double(n) / 1e6, connect: Double(c - n) / 1e6, tls: Double(a - c) / 1e6,
            processing: Double(s - a) / 1e6, transfer: Double(total - s) / 1e6, total: Double(total) / 1e6)
    }

    /// The phases by their `phase` label value, in exposition order.
    public var labeled: [(phase: String, seconds: Double)] {
        [("resolve", resolve), ("connect", connect), ("tls", tls), ("processing", processing), ("transfer", transfer), ("total", total)]
    }
}

/// Why a transfer failed, as far as the transport can tell.
public enum HTTPErrorKind: String, Sendable, Hashable {
    /// The connect or total timeout fired.
    case timeout
    /// The TCP connection was refused or could not be made.
    case connect
    /// The host name did not resolve.
    case dns
    /// TLS handshake or certificate verification failed.
    case tls
    /// The body was larger than the request's `bodyLimit` (after decoding).
    case limit
    /// The request was cancelled or the client shut down.
    case cancelled
    /// Anything else: a reset mid-body, an answer that is not HTTP, a bad URL.
    case other
}

public struct HTTPError: Error, Sendable, Hashable, CustomStringConvertible {
    public var kind: HTTPErrorKind
    /// libcurl's result code (`CURLcode`), 0 when the error did not come from libcurl.
    public var code: Int
    /// libcurl's message, e.g. "Failed to connect to 127.0.0.1 port 1 after 0 ms: Couldn't connect to server".
    public var message: String

    public init(kind: HTTPErrorKind, code: Int = 0, message: String) {
        self.kind = kind
        self.code = code
        self.message = message
    }

    public var description: String { "\(kind.rawValue): \(message)" }
}

/// What came back. A transport failure still carries the timings up to the failure and
/// whatever status and body arrived before it.
public struct HTTPResult: Sendable {
    /// The HTTP status of the last response, 0 when none arrived.
    public var status: Int
    /// Headers of the last response (after redirects), names as sent.
    public var headers: [HTTPHeader]
    /// The body, decoded (gzip, deflate, ...); at most the request's `bodyLimit` bytes.
    public var body: [UInt8]
    public var timings: PhaseTimings
    /// True when the request went over a connection kept alive from an earlier one.
    public var reusedConnection: Bool
    /// Body bytes received on the wire (before decoding).
    public var wireBytes: Int
    public var error: HTTPError?

    public init(
        status: Int = 0, headers: [HTTPHeader] = [], body: [UInt8] = [], timings: PhaseTimings = PhaseTimings(),
        reusedConnection: Bool = false, wireBytes: Int = 0, error: HTTPError? = nil
    ) {
        self.status = status
        self.headers = headers
        self.body = body
        self.timings = timings
        self.reusedConnection = reusedConnection
        self.wireBytes = wireBytes
        self.error = error
    }

    /// The first header named `name` (case-insensitive).
    public func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.name.lowercased() == lower }?.value
    }

    public var contentType: String? { header("Content-Type") }

    public var isTimeout: Bool { error?.kind == .timeout }
}
