import CLookout
import Config
import LookoutCore

/// Where and how a receiver's requests go. Headers are made when a request is sent, from
/// the settings in force then, so stored notifications carry no credentials.
struct Endpoint: Sendable, Hashable {
    var name: String
    var kind: OutboxEntry.Kind
    var url: String
    var http: HTTPClientConfig
    var hmacSecret: Secret?

    init(webhook w: WebhookSettings) {
        name = w.name
        kind = .webhook
        url = w.url
        http = w.http
        hmacSecret = w.hmacSecret
    }

    init(alertmanager am: AlertmanagerSettings, name: String) {
        self.name = name
        kind = .alertmanager
        url = am.url + "/api/v2/alerts"
        http = am.http
    }

    /// The POST of `body` to this endpoint.
    func request(_ body: [UInt8]) -> NotificationRequest {
        NotificationRequest(url: url, headers: headers(for: body), body: body, client: http)
    }

    /// Headers the notifier sets on every request besides those every client sets.
    static let setHeaders = ["Content-Type", signatureHeader]
    static let signatureHeader = "X-Lookout-Signature"

    func headers(for body: [UInt8]) -> [(String, String)] {
        var h: [(String, String)] = [("Content-Type", "application/json"), ("User-Agent", LookoutVersion.userAgent)]
        h += http.headers.map { ($0.name, $0.value) }
        if let a = http.auth?.header { h.append((a.name, a.value)) }
        if let key = hmacSecret { h.append((Self.signatureHeader, "sha256=" + Signature.hmacSHA256Hex(key: key.bytes, body))) }
        return h
    }

    /// The URL without any `user:password@`, for logs and the status page.
    var redactedURL: String { HTTPURL.redactingCredentials(url) }
}

/// The `X-Lookout-Signature` value: HMAC-SHA256 of the exact body bytes, in lower-case hex.
public enum Signature {
    public static func hmacSHA256Hex(key: [UInt8], _ body: [UInt8]) -> String {
        var mac = [UInt8](repeating: 0, count: 32)
        let rc = key.withUnsafeBufferPointer { k in
            body.withUnsafeBufferPointer { b in
                mac.withUnsafeMutableBufferPointer { m in
                    lookout_hmac_sha256(k.baseAddress, k.count, b.baseAddress, b.count, m.baseAddress)
                }
            }
        }
        precondition(rc == 0, "HMAC-SHA256 failed")
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in mac {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
