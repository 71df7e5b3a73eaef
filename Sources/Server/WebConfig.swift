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
                    allowedKeys: ["cert_file", "key_file", "client_ca_file", "client_auth_type", "min_version"])
            {
                let cert = tm.required("cert_file")?.string("tls_server_config.cert_file")
                let key = tm.required("key_file")?.string("tls_server_config.key_file")
                if let cert, let key {
                    var tls = TLSServerConfig(certFile: cert, keyFile: key)
                    tls.clientCAFile = tm["client_ca_file"]?.string("tls_server_config.client_ca_file")
                    if let v = tm["client_auth_type"], let s = v.string("tls_server_config.client_auth_type") {
                        let allowed = ["NoClientCert", "RequestClientCert", "RequireAnyClientCert",
                                       "VerifyClientCertIfGiven", "RequireAndVerifyClientCert"]
                        if allowed.contains(s) { tls.clientAuthType = s } else {
                            v.error("tls_server_config.client_auth_type must be one of \(allowed.joined(separator: ", "))")
                        }
                    }
                    if let v = tm["min_version"], let s = v.string("tls_server_config.min_version") {
                        if ["TLS12", "TLS13"].contains(s) { tls.minVersion = s } else {
                            v.error("tls_server_config.min_version must be TLS12 or TLS13, found \"\(s)\"")
                        }
                    }
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

    /// The TLS context for `tls_server_config`, or nil for plain HTTP.
    public func tlsContext() throws(Diagnostics) -> NIOSSLContext? {
        guard let tls else { return nil }
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(tls.certFile).map { NIOSSLCertificateSource.certificate($0) }
            let key = try NIOSSLPrivateKey(file: tls.keyFile, format: .pem)
            var config = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
            config.minimumTLSVersion = tls.minVersion == "TLS13" ? .tlsv13 : .tlsv12
            switch tls.clientAuthType {
            case "RequireAndVerifyClientCert", "VerifyClientCertIfGiven":
                guard let ca = tls.clientCAFile else {
                    throw Diagnostics([Diagnostic("tls_server_config: client_auth_type \(tls.clientAuthType) needs client_ca_file", at: nil)])
                }
                config.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca))
                config.certificateVerification = .noHostnameVerification
            case "RequireAnyClientCert", "RequestClientCert":
                config.certificateVerification = .none
            default:
                config.certificateVerification = .none
            }
            return try NIOSSLContext(configuration: config)
        } catch let d as Diagnostics {
            throw d
        } catch {
            throw Diagnostics([Diagnostic("tls_server_config: cannot load certificate or key: \(error)", at: nil)])
        }
    }

    /// The request check for `ServerSettings.authorize`; nil when no credentials are configured.
    public func authorizer() -> (@Sendable (HTTPRequest) -> HTTPResponse?)? {
        guard requiresAuthentication else { return nil }
        let checker = CredentialChecker(users: basicAuthUsers, tokens: bearerTokens)
        let open = unauthenticatedPaths
        return { request in
            if open.contains(request.path) { return nil }
            if let auth = request.header("Authorization"), checker.check(authorization: auth) { return nil }
            return HTTPResponse(
                status: 401,
                headers: [("Content-Type", "text/plain; charset=utf-8"), ("WWW-Authenticate", "Basic realm=\"lookout\"")],
                body: Array("Unauthorized\n".utf8))
        }
    }
}

/// Checks `Authorization` headers. bcrypt is slow on purpose (tens of ms), so verified
/// credentials are remembered by their SHA-256, as Prometheus' exporter-toolkit does.
final class CredentialChecker: Sendable {
    private let users: [String: String]
    private let tokens: [[UInt8]]
    private let verified = Mutex<Set<[UInt8]>>([])

    init(users: [String: String], tokens: [[UInt8]]) {
        self.users = users
        self.tokens = tokens
    }

    func check(authorization: String) -> Bool {
        if authorization.hasPrefix("Bearer ") {
            let given = Array(authorization.utf8.dropFirst(7))
            return tokens.contains { constantTimeEqual($0, given) }
        }
        guard authorization.hasPrefix("Basic "),
            let decoded = Base64.decode(String(authorization.dropFirst(6))),
            let colon = decoded.firstIndex(of: UInt8(ascii: ":"))
        else { return false }
        let user = String(decoding: decoded[..<colon], as: UTF8.self)
        let password = String(decoding: decoded[(colon + 1)...], as: UTF8.self)
        guard let hash = users[user] else {
            // Spend the same time as for a real user, so timing does not reveal user names.
            _ = lookout_crypt_check(password, "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi")
            return false
        }
        let key = sha256(Array(("\(user)\u{0}\(password)\u{0}\(hash)").utf8))
        if verified.withLock({ $0.contains(key) }) { return true }
        guard lookout_crypt_check(password, hash) == 1 else { return false }
        verified.withLock { v in
            if v.count > 1000 { v.removeAll() }
            v.insert(key)
        }
        return true
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
