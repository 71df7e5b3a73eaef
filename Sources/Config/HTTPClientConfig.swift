import LookoutCore

/// How lookout talks to a server it calls, whichever it is (a target, a webhook, an
/// Alertmanager), like Prometheus' `http_config`: extra headers, authentication, TLS,
/// timeouts and redirects. One parser reads it for every place that takes it.
///
/// ```yaml
/// headers: { X-Tenant: blue }
/// bearer_token_file: secrets/token        # or bearer_token, or:
/// basic_auth: { username: u, password_file: secrets/pw }   # or password
/// tls_config: { ca_file: ca.pem, cert_file: client.pem, key_file: client.key, insecure_skip_verify: false }
/// follow_redirects: false
/// timeout: 5s                             # where the place takes it, as connect_timeout
/// ```
public struct HTTPClientConfig: Sendable, Hashable {
    /// Extra request headers.
    public var headers: [HTTPHeader]
    public var auth: HTTPAuth?
    /// Certificate authorities and client certificate for https; the system's CAs when nil.
    public var tls: TLSClientConfig?
    /// Total time allowed for one request, from start to the last body byte.
    public var timeout: Duration
    public var connectTimeout: Duration
    public var followRedirects: Bool

    public init(
        headers: [HTTPHeader] = [], auth: HTTPAuth? = nil, tls: TLSClientConfig? = nil, timeout: Duration = .seconds(5),
        connectTimeout: Duration = .seconds(2), followRedirects: Bool = false
    ) {
        self.headers = headers
        self.auth = auth
        self.tls = tls
        self.timeout = timeout
        self.connectTimeout = connectTimeout
        self.followRedirects = followRedirects
    }
}

public struct HTTPHeader: Sendable, Hashable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// How requests authenticate. Secrets come from the config or from files read when the
/// config loads; they are never logged or shown in the APIs.
public enum HTTPAuth: Sendable, Hashable {
    case bearer(Secret)
    case basic(BasicAuth)

    /// The `Authorization` header that carries it (RFC 6750 and RFC 7617).
    public var header: HTTPHeader {
        switch self {
        case .bearer(let token):
            return HTTPHeader("Authorization", "Bearer " + token.text)
        case .basic(let b):
            return HTTPHeader("Authorization", "Basic " + Base64.encode(Array((b.username + ":").utf8) + b.password.bytes))
        }
    }
}

public struct BasicAuth: Sendable, Hashable {
    public var username: String
    public var password: Secret

    public init(username: String, password: Secret) {
        self.username = username
        self.password = password
    }
}

/// `tls_config`, as Prometheus' client TLS settings.
public struct TLSClientConfig: Sendable, Hashable {
    /// PEM file of the CAs that may sign the server's certificate (instead of the system's).
    public var caFile: String?
    /// PEM client certificate and key, for servers that ask for one.
    public var certFile: String?
    public var keyFile: String?
    /// Accept any server certificate and name. For tests and self-signed setups only.
    public var insecureSkipVerify: Bool

    public init(caFile: String? = nil, certFile: String? = nil, keyFile: String? = nil, insecureSkipVerify: Bool = false) {
        self.caFile = caFile
        self.certFile = certFile
        self.keyFile = keyFile
        self.insecureSkipVerify = insecureSkipVerify
    }
}

extension HTTPClientConfig {
    /// The keys every HTTP client of lookout takes.
    public static let keys = ["headers", "bearer_token", "bearer_token_file", "basic_auth", "tls_config", "follow_redirects"]

    /// Headers lookout sets itself.
    static let reservedHeaders = ["user-agent", "host", "content-length"]

    /// Reads the client keys of `m` (a target, a webhook, ...) over `defaults`. `timeout` and
    /// `connect_timeout` are read where the place's allowed keys let them through; the
    /// place checks them against its other settings.
    /// - Parameters:
    ///   - what: how errors name the mapping, e.g. `targets[0]`.
    ///   - setHeaders: further headers the place sets itself, which `headers` may not name.
    ///   - readSecret: reads secret files; relative paths are resolved against the config file first.
    public static func parse(
        _ m: YAMLMapping, _ what: String, defaults: HTTPClientConfig = HTTPClientConfig(), setHeaders: [String] = [],
        readSecret: SecretFile.Reader = SecretFile.readBytes
    ) -> HTTPClientConfig {
        var c = defaults
        if let v = m["timeout"]?.duration("\(what).timeout", positive: true) { c.timeout = v }
        if let v = m["connect_timeout"]?.duration("\(what).connect_timeout", positive: true) { c.connectTimeout = v }
        if let v = m["follow_redirects"]?.bool("\(what).follow_redirects") { c.followRedirects = v }
        if let v = m["headers"], let pairs = v.stringMap("\(what).headers") {
            for (key, value, location) in pairs {
                if !isToken(key) {
                    v.document.error("\(what).headers: \"\(key)\" is not a valid header name", at: location)
                } else if value.contains(where: { $0 == "\r" || $0 == "\n" }) {
                    v.document.error("\(what).headers.\(key): the value must not contain a line break", at: location)
                } else if reservedHeaders.contains(key.lowercased())
                    || setHeaders.contains(where: { $0.lowercased() == key.lowercased() })
                {
                    v.document.error("\(what).headers: \"\(key)\" is set by lookout and cannot be configured", at: location)
                } else {
                    c.headers.append(HTTPHeader(key, value))
                }
            }
        }
        if let auth = parseAuth(m, what, readSecret: readSecret) { c.auth = auth }
        if c.auth != nil, let h = c.headers.first(where: { $0.name.lowercased() == "authorization" }) {
            m["headers"]?.error("\(what): header \"\(h.name)\" conflicts with bearer_token/basic_auth; set one of them")
        }
        if let v = m["tls_config"] { c.tls = parseTLS(v, "\(what).tls_config") }
        return c
    }

    static func parseAuth(_ m: YAMLMapping, _ what: String, readSecret: SecretFile.Reader) -> HTTPAuth? {
        let token = m["bearer_token"], tokenFile = m["bearer_token_file"], basic = m["basic_auth"]
        if token != nil && tokenFile != nil {
            m.error("\(what): set bearer_token or bearer_token_file, not both")
            return nil
        }
        if let basic, token != nil || tokenFile != nil {
            basic.error("\(what): set either a bearer token or basic_auth, not both")
            return nil
        }
        if let token, let s = token.string("\(what).bearer_token") {
            if s.isEmpty {
                token.error("\(what).bearer_token must not be empty")
                return nil
            }
            return .bearer(Secret(s))
        }
        if let tokenFile {
            return tokenFile.secretFile("\(what).bearer_token_file", read: readSecret).map(HTTPAuth.bearer)
        }
        guard let basic, let b = basic.mapping("\(what).basic_auth", allowedKeys: ["username", "password", "password_file"])
        else { return nil }
        guard let user = b.required("username")?.string("\(what).basic_auth.username") else { return nil }
        let pw = b["password"], pwFile = b["password_file"]
        if pw != nil && pwFile != nil {
            b.error("\(what).basic_auth: set password or password_file, not both")
            return nil
        }
        // No password is an empty one, as in Prometheus.
        var password = Secret("")
        if let pw {
            guard let s = pw.string("\(what).basic_auth.password") else { return nil }
            password = Secret(s)
        }
        if let pwFile {
            guard let s = pwFile.secretFile("\(what).basic_auth.password_file", read: readSecret) else { return nil }
            password = s
        }
        return .basic(BasicAuth(username: user, password: password))
    }

    /// `tls_config: {ca_file, cert_file, key_file, insecure_skip_verify}`; the files must exist now.
    static func parseTLS(_ v: YAMLValue, _ what: String) -> TLSClientConfig? {
        guard let m = v.mapping(what, allowedKeys: ["ca_file", "cert_file", "key_file", "insecure_skip_verify"]) else {
            return nil
        }
        var tls = TLSClientConfig()
        func file(_ key: String) -> String? {
            guard let value = m[key], let full = value.path("\(what).\(key)") else { return nil }
            guard FileIO.exists(full) else {
                value.error("\(what).\(key): \(full) does not exist")
                return nil
            }
            return full
        }
        tls.caFile = file("ca_file")
        tls.certFile = file("cert_file")
        tls.keyFile = file("key_file")
        if (m["cert_file"] == nil) != (m["key_file"] == nil) {
            m.error("\(what): cert_file and key_file go together")
        }
        if let b = m["insecure_skip_verify"]?.bool("\(what).insecure_skip_verify") { tls.insecureSkipVerify = b }
        return tls
    }

    /// RFC 9110 token characters.
    static func isToken(_ s: String) -> Bool {
        !s.isEmpty
            && s.utf8.allSatisfy { b in
                (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122)
                    || "!#$%&'*+-.^_`|~".utf8.contains(b)
            }
    }
}
