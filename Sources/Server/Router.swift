import LookoutCore

/// A request as route handlers see it: decoded target, headers, and the (small) body.
public struct HTTPRequest: Sendable {
    public var method: String
    /// The request target as sent, e.g. `/debug/pprof/profile?seconds=5`.
    public var uri: String
    /// The path without the query, percent-decoding not applied.
    public var path: String
    /// Query parameters in order, percent-decoded.
    public var query: [(name: String, value: String)]
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    public var remoteAddress: String?
    /// The client's IP address (no port), the key of per-client limits.
    public var remoteIP: String?

    public init(
        method: String, uri: String, headers: [(name: String, value: String)] = [], body: [UInt8] = [],
        remoteAddress: String? = nil
    ) {
        self.method = method
        self.uri = uri
        self.headers = headers
        self.body = body
        self.remoteAddress = remoteAddress
        if let q = uri.firstIndex(of: "?") {
            path = String(uri[..<q])
            query = HTTPRequest.parseQuery(uri[uri.index(after: q)...])
        } else {
            path = uri
            query = []
        }
    }

    /// The first value of a header (names compare case-insensitively).
    public func header(_ name: String) -> String? {
        headers.first { $0.name.utf8.count == name.utf8.count && $0.name.lowercased() == name.lowercased() }?.value
    }

    public func queryValue(_ name: String) -> String? {
        query.first { $0.name == name }?.value
    }

    static func parseQuery(_ s: Substring) -> [(name: String, value: String)] {
        s.split(separator: "&", omittingEmptySubsequences: true).map { pair in
            if let eq = pair.firstIndex(of: "=") {
                return (percentDecode(pair[..<eq]), percentDecode(pair[pair.index(after: eq)...]))
            }
            return (percentDecode(pair), "")
        }
    }

    static func percentDecode(_ s: Substring) -> String {
        guard s.utf8.contains(where: { $0 == 37 || $0 == 43 }) else { return String(s) }
        var out: [UInt8] = []
        var bytes = Array(s.utf8)[...]
        while let b = bytes.popFirst() {
            if b == 43 {  // '+'
                out.append(32)
            } else if b == 37, bytes.count >= 2, let h = hexDigitValue(bytes[bytes.startIndex]),
                let l = hexDigitValue(bytes[bytes.startIndex + 1])
            {
                out.append(h << 4 | l)
                bytes.removeFirst(2)
            } else {
                out.append(b)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int = 200, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public static func text(_ text: String, status: Int = 200) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "text/plain; charset=utf-8")], body: Array(text.utf8))
    }

    public static func json(_ bytes: [UInt8], status: Int = 200) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "application/json")], body: bytes)
    }

    public static func html(_ text: String, status: Int = 200) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "text/html; charset=utf-8")], body: Array(text.utf8))
    }
}

/// What a route does. Synchronous handlers run on the event loop and must not block;
/// asynchronous ones (a profile that records for N seconds, a reload) run as tasks;
/// offloaded ones are synchronous work that takes real CPU time (encoding the exposition)
/// and runs on the server's worker thread, so the event loop stays free for everything
/// else (`/-/healthy` answers in microseconds while `/metrics` is being hammered).
public enum RouteHandler: Sendable {
    case sync(@Sendable (HTTPRequest) -> HTTPResponse)
    case async(@Sendable (HTTPRequest) async -> HTTPResponse)
    case offloaded(@Sendable (HTTPRequest) -> HTTPResponse)
}

public struct Route: Sendable {
    public var methods: Set<String>
    public var path: String
    /// Whether requests may carry a body (only `/-/reload` does).
    public var acceptsBody: Bool
    /// Whether the route is reachable without credentials when authentication is configured.
    public var isPublic: Bool
    public var handler: RouteHandler

    public init(
        _ methods: Set<String>, _ path: String, acceptsBody: Bool = false, isPublic: Bool = false,
        handler: RouteHandler
    ) {
        self.methods = methods
        self.path = path
        self.acceptsBody = acceptsBody
        self.isPublic = isPublic
        self.handler = handler
    }
}

/// Exact-path routing; the agent has a dozen fixed paths.
public struct Router: Sendable {
    private var routes: [String: Route] = [:]

    public init(_ routes: [Route] = []) {
        for r in routes { add(r) }
    }

    public mutating func add(_ route: Route) {
        routes[route.path] = route
    }

    public enum Match: Sendable {
        case found(Route)
        case methodNotAllowed(Set<String>)
        case notFound
    }

    public func match(method: String, path: String) -> Match {
        guard let r = routes[path] else { return .notFound }
        if r.methods.contains(method) || (method == "HEAD" && r.methods.contains("GET")) { return .found(r) }
        return .methodNotAllowed(r.methods)
    }
}
