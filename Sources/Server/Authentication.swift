import CLookout
import LookoutCore
import Synchronization

/// What the server does with a request before routing it.
public enum AuthDecision: Sendable {
    case allowed
    /// Answer this instead (401, 429).
    case refused(HTTPResponse)
    /// The credentials need a slow check (a bcrypt hash): the server runs it on its
    /// authentication thread; nil lets the request through, a response refuses it.
    case check(@Sendable () -> HTTPResponse?)
}

/// Checks `Authorization` headers against the web config's users and tokens, as
/// exporter-toolkit does: the scheme is case-insensitive, every path but the configured
/// open ones needs credentials (unknown paths too: 401 comes before routing), and
/// verified (user, password) pairs are remembered by their SHA-256 so that bcrypt, slow
/// on purpose, runs once per pair. Failed checks are rate-limited per client address:
/// each client may start `FailureLimiter.burst` checks that fail, then one per
/// `FailureLimiter.refill`; beyond that it gets 429 without a hash being computed.
public final class Authenticator: Sendable {
    private let users: [String: String]
    private let tokens: [[UInt8]]
    private let openPaths: Set<String>
    private let verified = Mutex<Set<[UInt8]>>([])
    private let limiter: Mutex<FailureLimiter>
    private let clock: any AgentClock

    /// A bcrypt hash of nothing anyone types, checked for unknown users so that timing does not reveal user names.
    private static let decoyHash = "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi"
    static let maxCachedPairs = 1000

    public init(
        users: [String: String], tokens: [[UInt8]], openPaths: Set<String> = [], clock: any AgentClock = SystemClock(),
        limiter: FailureLimiter = FailureLimiter()
    ) {
        self.users = users
        self.tokens = tokens
        self.openPaths = openPaths
        self.clock = clock
        self.limiter = Mutex(limiter)
    }

    public static func unauthorized() -> HTTPResponse {
        HTTPResponse(
            status: 401,
            headers: [("Content-Type", "text/plain; charset=utf-8"), ("WWW-Authenticate", "Basic realm=\"lookout\"")],
            body: Array("Unauthorized\n".utf8))
    }

    static func tooManyFailures() -> HTTPResponse {
        var r = HTTPResponse.text("too many failed authentication attempts\n", status: 429)
        r.headers.append(("Retry-After", "1"))
        return r
    }

    /// Decides on the event loop without hashing; a password not verified before becomes a `.check`.
    public func decide(_ request: HTTPRequest) -> AuthDecision {
        if openPaths.contains(request.path) { return .allowed }
        guard let header = request.header("Authorization"), let (scheme, credentials) = Self.split(header) else {
            return .refused(Self.unauthorized())
        }
        switch scheme {
        case "bearer":
            let given = Array(credentials.utf8)
            return tokens.contains { constantTimeEqual($0, given) } ? .allowed : .refused(Self.unauthorized())
        case "basic":
            guard let decoded = Base64.decode(credentials), let colon = decoded.firstIndex(of: UInt8(ascii: ":")) else {
                return .refused(Self.unauthorized())
            }
            let user = String(decoding: decoded[..<colon], as: UTF8.self)
            let password = String(decoding: decoded[(colon + 1)...], as: UTF8.self)
            let hash = users[user]
            let key = sha256(Array("\(user)\u{0}\(password)\u{0}\(hash ?? "")".utf8))
            if hash != nil, verified.withLock({ $0.contains(key) }) { return .allowed }
            let client = request.remoteIP ?? ""
            let now = clock.now
            guard limiter.withLock({ $0.take(client, now: now) }) else { return .refused(Self.tooManyFailures()) }
            return .check { [self] in
                guard lookout_crypt_check(password, hash ?? Self.decoyHash) == 1, hash != nil else {
                    return Self.unauthorized()
                }
                limiter.withLock { $0.refund(client) }
                verified.withLock { v in
                    if v.count >= Self.maxCachedPairs { v.removeAll() }
                    v.insert(key)
                }
                return nil
            }
        default:
            return .refused(Self.unauthorized())
        }
    }

    /// `Scheme credentials` → (lower-cased scheme, credentials); nil without both.
    static func split(_ header: String) -> (String, String)? {
        let trimmed = header.trimmingSpaces()
        guard let space = trimmed.firstIndex(where: { $0 == " " || $0 == "\t" }) else { return nil }
        let credentials = trimmed[space...].trimmingSpaces()
        guard !credentials.isEmpty else { return nil }
        return (trimmed[..<space].lowercased(), credentials)
    }

    private func sha256(_ data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        _ = data.withUnsafeBufferPointer { d in out.withUnsafeMutableBufferPointer { lookout_sha256(d.baseAddress, d.count, $0.baseAddress) } }
        return out
    }

    private func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in a.indices { diff |= a[i] ^ b[i] }
        return diff == 0
    }
}

/// Password checks per client: a token bucket of `burst` checks refilled one per `refill`.
/// A check takes a token when it starts and gives it back when the password was right, so
/// only failures count. At most `maxClients` clients are tracked; past that, clients whose
/// bucket is full again are forgotten (and if none is, the oldest half).
public struct FailureLimiter: Sendable {
    public var burst: Int
    public var refill: Duration
    public var maxClients: Int
    private var buckets: [String: Bucket] = [:]

    private struct Bucket {
        var tokens: Double
        var at: MonotonicInstant
    }

    public init(burst: Int = 5, refill: Duration = .seconds(1), maxClients: Int = 4096) {
        self.burst = burst
        self.refill = refill
        self.maxClients = maxClients
    }

    /// Takes a token for `client`; false when none is left.
    public mutating func take(_ client: String, now: MonotonicInstant) -> Bool {
        var b = buckets[client] ?? Bucket(tokens: Double(burst), at: now)
        let elapsed = Double((now - b.at).nanoseconds) / Double(refill.nanoseconds)
        b.tokens = min(Double(burst), b.tokens + max(0, elapsed))
        b.at = now
        guard b.tokens >= 1 else {
            buckets[client] = b
            return false
        }
        b.tokens -= 1
        if buckets[client] == nil && buckets.count >= maxClients { prune(now: now) }
        buckets[client] = b
        return true
    }

    /// Gives back the token of a check that succeeded.
    public mutating func refund(_ client: String) {
        guard var b = buckets[client] else { return }
        b.tokens = min(Double(burst), b.tokens + 1)
        buckets[client] = b
    }

    private mutating func prune(now: MonotonicInstant) {
        let full = Double(burst)
        let refillNanos = Double(refill.nanoseconds)
        buckets = buckets.filter { $0.value.tokens + Double((now - $0.value.at).nanoseconds) / refillNanos < full }
        if buckets.count >= maxClients {
            let keep = buckets.sorted { $0.value.at > $1.value.at }.prefix(maxClients / 2)
            buckets = Dictionary(uniqueKeysWithValues: keep.map { ($0.key, $0.value) })
        }
    }
}
