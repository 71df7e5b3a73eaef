import LookoutCore
import NIOCore
import NIOSSL

/// The server side of TLS as exporter-toolkit's `tls_server_config` sets it up, on NIOSSL:
///
/// | client_auth_type | certificate asked for | required | verified against client_ca_file |
/// | --- | --- | --- | --- |
/// | NoClientCert | no | no | no |
/// | RequestClientCert | yes | no | no |
/// | RequireAnyClientCert | yes | yes | no |
/// | VerifyClientCertIfGiven | yes | no | when given |
/// | RequireAndVerifyClientCert | yes | yes | yes |
///
/// (Without `client_ca_file`, verification uses the system's roots, as Go does.) TLS 1.2
/// offers only forward-secret AEAD suites unless `cipher_suites` says otherwise; TLS 1.3's
/// suites are all forward secret and not configurable (as in Go).
public struct ServerTLS: Sendable {
    public let context: NIOSSLContext
    /// RequestClientCert and RequireAnyClientCert: a certificate is taken without verification.
    public let acceptsAnyClientCertificate: Bool

    public static let clientAuthTypes = [
        "NoClientCert", "RequestClientCert", "RequireAnyClientCert", "VerifyClientCertIfGiven",
        "RequireAndVerifyClientCert",
    ]

    static let versions: [String: Int] = ["TLS10": 10, "TLS11": 11, "TLS12": 12, "TLS13": 13]

    /// The TLS 1.2 (and older) suites Go's `tls.CipherSuites()` lists, by name.
    static let cipherSuites: [String: NIOTLSCipher] = [
        "TLS_RSA_WITH_AES_128_CBC_SHA": .TLS_RSA_WITH_AES_128_CBC_SHA,
        "TLS_RSA_WITH_AES_256_CBC_SHA": .TLS_RSA_WITH_AES_256_CBC_SHA,
        "TLS_RSA_WITH_AES_128_GCM_SHA256": .TLS_RSA_WITH_AES_128_GCM_SHA256,
        "TLS_RSA_WITH_AES_256_GCM_SHA384": .TLS_RSA_WITH_AES_256_GCM_SHA384,
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": .TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": .TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": .TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": .TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": .TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": .TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": .TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": .TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": .TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": .TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305": .TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305": .TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ]

    /// Accepted in `cipher_suites` and, as in Go, without effect.
    static let tls13Suites: Set<String> = ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"]

    /// The default for TLS 1.2: ECDHE key exchange (forward secrecy) with AEAD ciphers only.
    static let forwardSecretSuites: [NIOTLSCipher] = [
        .TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, .TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        .TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, .TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        .TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, .TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ]

    /// Go's `tls.CurveID` names.
    static let curves: [String: NIOTLSCurve] = [
        "CurveP256": .secp256r1, "CurveP384": .secp384r1, "CurveP521": .secp521r1, "X25519": .x25519,
    ]

    public init(context: NIOSSLContext, acceptsAnyClientCertificate: Bool = false) {
        self.context = context
        self.acceptsAnyClientCertificate = acceptsAnyClientCertificate
    }

    /// Loads the certificate, key and client CAs of a parsed `tls_server_config`.
    public init(_ tls: WebConfig.TLSServerConfig) throws(Diagnostics) {
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(tls.certFile).map { NIOSSLCertificateSource.certificate($0) }
            let key = try NIOSSLPrivateKey(file: tls.keyFile, format: .pem)
            var config = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
            config.minimumTLSVersion = Self.nioVersion(tls.minVersion)
            config.maximumTLSVersion = Self.nioVersion(tls.maxVersion)
            if let names = tls.cipherSuites {
                config.cipherSuiteValues = names.compactMap { Self.cipherSuites[$0] }
            } else {
                config.cipherSuiteValues = Self.forwardSecretSuites
            }
            if let names = tls.curvePreferences { config.curves = names.compactMap { Self.curves[$0] } }
            if let ca = tls.clientCAFile { config.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca)) }
            var acceptsAny = false
            switch tls.clientAuthType {
            case "RequestClientCert":
                config.certificateVerification = .optionalVerification
                acceptsAny = true
            case "RequireAnyClientCert":
                config.certificateVerification = .noHostnameVerification
                acceptsAny = true
            case "VerifyClientCertIfGiven":
                config.certificateVerification = .optionalVerification
            case "RequireAndVerifyClientCert":
                config.certificateVerification = .noHostnameVerification
            default:
                config.certificateVerification = .none
            }
            self.init(context: try NIOSSLContext(configuration: config), acceptsAnyClientCertificate: acceptsAny)
        } catch {
            throw Diagnostics([Diagnostic("tls_server_config: cannot load certificate, key or client CA: \(error)", at: nil)])
        }
    }

    static func nioVersion(_ name: String) -> TLSVersion {
        switch name {
        case "TLS10": .tlsv1
        case "TLS11": .tlsv11
        case "TLS12": .tlsv12
        default: .tlsv13
        }
    }

    /// A handler for one connection.
    func makeHandler() -> NIOSSLServerHandler {
        guard acceptsAnyClientCertificate else { return NIOSSLServerHandler(context: context) }
        return NIOSSLServerHandler(context: context, customVerificationCallback: { _, promise in
            promise.succeed(.certificateVerified)
        })
    }
}
