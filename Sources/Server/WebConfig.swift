import CLookout
import Config
import LookoutCore
import NIOSSL
import Synchronization

/// `--web.config.file`, in the format of Prometheus' exporter-toolkit:
///
/// ```yaml
/// tls_server_config:
///   cert_file: server.crt
///   key_file: server.key
/// basic_auth_users:
///   alice: $2y$10$...        # bcrypt hash
/// # lookout additions:
/// bearer_token_files: [ /etc/lookout/token ]
/// unauthenticated_paths: [ /-/healthy ]
/// ```
public struct WebConfig: Sendable {
    public var tls: TLSServerConfig?
    /// User name → bcrypt hash.
    public var basicAuthUsers: [String: String] = [:]
    /// Accepted bearer tokens (read from files at load time).
    var bearerTokens: [[UInt8]] = []
    /// Paths reachable without credentials (e.g. `/-/healthy` for a liveness probe).
    public var unauthenticatedPaths: Set<String> = []

    public struct TLSServerConfig: Sendable, Hashable {
        public var certFile: String
        public var keyFile: String
        public var clientCAFile: String?
        public var clientAuthType: String = "NoClientCert"
        public var minVersion: String = "TLS12"
        public var maxVersion: String = "TLS13"
        /// TLS 1.2 suites by their Go (IANA) names; nil: the forward-secret default.
        public var cipherSuites: [String]?
        /// Key exchange groups by their Go names; nil: the library's default.
        public var curvePreferences: [String]?
    }

    public init() {}

    public var requiresAuthentication: Bool { !basicAuthUsers.isEmpty || !bearerTokens.isEmpty }

    public static func parse(_ text: String, file: String) throws(Diagnostics) -> WebConfig {
        let doc = YAMLDocument(text: text, file: file)
        var c = WebConfig()
        let keys = ["tls_server_config", "http_server_config", "basic_auth_users", "bearer_token_files", "unauthenticated_paths"]
        if let root = doc.root, !root.isNull, let m = root.mapping("web config", allowedKeys: keys) {
            if let t = m["tls_server_config"],
                let tm = t.mapping(
                    "tls_server_config",
                    allowedKeys: [
                        "cert_file", "key_file", "client_ca_file", "client_auth_type", "min_version", "max_version",
                        "cipher_suites", "curve_preferences", "prefer_server_cipher_suites",
                    ])
            {
                let cert = tm.required("cert_file")?.string("tls_server_config.cert_file")
                let key = tm.required("key_file")?.string("tls_server_config.key_file")
                if let cert, let key {
                    var tls = TLSServerConfig(certFile: cert, keyFile: key)
                    tls.clientCAFile = tm["client_ca_file"]?.string("tls_server_config.client_ca_file")
                    if let v = tm["client_auth_type"], let s = v.string("tls_server_config.client_auth_type") {
                        let allowed = ServerTLS.clientAuthTypes
                        // "RequireClientCert" is exporter-toolkit's older name of RequireAnyClientCert.
                        if allowed.contains(s) || s == "RequireClientCert" {
                            tls.clientAuthType = s == "RequireClientCert" ? "RequireAnyClientCert" : s
                        } else {
                            v.error("tls_server_config.client_auth_type must be one of \(allowed.joined(separator: ", ")), found \"\(s)\"")
                        }
                    }
                    if tls.clientCAFile != nil && tls.clientAuthType == "NoClientCert", let v = tm["client_ca_file"] {
                        v.error("tls_server_config.client_ca_file is set but client_auth_type is NoClientCert: set a client_auth_type that asks for certificates")
                    }
                    for (key, keyPath) in [("min_version", \TLSServerConfig.minVersion), ("max_version", \TLSServerConfig.maxVersion)] {
                        guard let v = tm[key], let s = v.string("tls_server_config.\(key)") else { continue }
                        if ServerTLS.versions[s] != nil { tls[keyPath: keyPath] = s } else {
                            v.error("tls_server_config.\(key) must be one of TLS10, TLS11, TLS12, TLS13, found \"\(s)\"")
                        }
                    }
                    if let lo = ServerTLS.versions[tls.minVersion], let hi = ServerTLS.versions[tls.maxVersion], lo > hi {
                        tm.error("tls_server_config.min_version \(tls.minVersion) is above max_version \(tls.maxVersion)")
                    }
                    if let v = tm["cipher_suites"], let names = v.stringList("tls_server_config.cipher_suites") {
                        let unknown = names.filter { ServerTLS.cipherSuites[$0] == nil && !ServerTLS.tls13Suites.contains($0) }
                        if !unknown.isEmpty {
                            v.error("tls_server_config.cipher_suites: unknown cipher suite \(unknown.map { "\"\($0)\"" }.joined(separator: ", ")) (known: \(ServerTLS.cipherSuites.keys.sorted().joined(separator: ", ")))")
                        } else if names.allSatisfy({ ServerTLS.tls13Suites.contains($0) }) && tls.minVersion != "TLS13" {
                            v.error("tls_server_config.cipher_suites names no TLS 1.2 suite (TLS 1.3 suites are not configurable); set min_version: TLS13 or name TLS 1.2 suites")
                        } else {
                            tls.cipherSuites = names
                        }
                    }
                    if let v = tm["curve_preferences"], let names = v.stringList("tls_server_config.curve_preferences") {
                        let unknown = names.filter { ServerTLS.curves[$0] == nil }
                        if unknown.isEmpty && !names.isEmpty { tls.curvePreferences = names } else {
                            v.error("tls_server_config.curve_preferences must name curves among \(ServerTLS.curves.keys.sorted().joined(separator: ", "))\(unknown.isEmpty ? "" : ", found \(unknown.map { "\"\($0)\"" }.joined(separator: ", "))")")
                        }
                    }
                    // Ignored by Go since 1.18, as here: the server's order always wins.
                    _ = tm["prefer_server_cipher_suites"]?.bool("tls_server_config.prefer_server_cipher_suites")
                    for (path, what) in [(cert, "cert_file"), (key, "key_file")] where !FileIO.exists(path) {
                        tm.error("tls_server_config.\(what): cannot read \"\(path)\"")
                    }
                    c.tls = tls
                }
            }
            if let h = m["http_server_config"] {
                // Accepted for compatibility; HTTP/2 and custom headers are not served.
                _ = h.mapping("http_server_config", allowedKeys: ["http2", "headers"])
            }
            if let users = m["basic_auth_users"]?.stringMap("basic_auth_users") {
                for (user, hash, location) in users {
                    if user.contains(":") {
                        doc.error("basic_auth_users: user name \"\(user)\" must not contain ':'", at: location)
                        continue
                    }
                    guard hash.hasPrefix("$2"), lookout_crypt_check("", hash) >= 0 else {
                        doc.error("basic_auth_users.\(user): not a bcrypt hash", at: location)
                        continue
                    }
                    c.basicAuthUsers[user] = hash
                }
            }
            if let v = m["bearer_token_files"], let files = v.stringList("bearer_token_files") {
                for f in files {
                    do {
                        if let token = try SecretFile.read(f, trim: .whitespace) {
                            c.bearerTokens.append(token.bytes)
                        } else {
                            v.error("bearer_token_files: \"\(f)\" is empty")
                        }
                    } catch {
                        v.error("bearer_token_files: cannot read \"\(f)\"")
                    }
                }
            }
            if let v = m["unauthenticated_paths"]?.stringList("unauthenticated_paths") {
                c.unauthenticatedPaths = Set(v)
            }
        }
        try doc.check()
        return c
    }

    public static func load(path: String) throws(Diagnostics) -> WebConfig {
        let text: String
        do {
            text = try FileIO.readText(path)
        } catch {
            throw Diagnostics([Diagnostic("cannot read web config: \(error)", file: path)])
        }
        return try parse(text, file: path)
    }

    /// The TLS setup for `tls_server_config`, or nil for plain HTTP.
    public func tlsContext() throws(Diagnostics) -> ServerTLS? {
        guard let tls else { return nil }
        return try ServerTLS(tls)
    }

    /// The request check for `ServerSettings.authorize`; nil when no credentials are configured.
    public func authorizer() -> (@Sendable (HTTPRequest) -> AuthDecision)? {
        guard requiresAuthentication else { return nil }
        let authenticator = Authenticator(users: basicAuthUsers, tokens: bearerTokens, openPaths: unauthenticatedPaths)
        return { authenticator.decide($0) }
    }
}
