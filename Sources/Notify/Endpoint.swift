import CLookout
import LookoutCore

/// Where and how a receiver's requests go. Headers are made when a request is sent, from
/// the settings in force then, so stored notifications carry no credentials.
struct Endpoint: Sendable, Hashable {
    var name: String
    var kind: OutboxEntry.Kind
    var url: String
    var timeout: Duration
    var bearerToken: Secret?
    var basicAuth: WebhookSettings.BasicAuth?
    var hmacSecret: Secret?

    init(webhook w: WebhookSettings) {
        name = w.name
        kind = .webhook
        url = w.url
        timeout = w.timeout
        bearerToken = w.bearerToken
        basicAuth = w.basicAuth
        hmacSecret = w.hmacSecret
    }

    init(alertmanager base: String, name: String, timeout: Duration) {
        self.name = name
        kind = .alertmanager
        url = base + "/api/v2/alerts"
        self.timeout = timeout
    }

    func headers(for body: [UInt8]) -> [(String, String)] {
        var h: [(String, String)] = [("Content-Type", "application/json"), ("User-Agent", LookoutVersion.userAgent)]
        if let t = bearerToken { h.append(("Authorization", "Bearer " + t.text)) }
        if let b = basicAuth {
            h.append(("Authorization", "Basic " + Base64.encode(Array((b.username + ":").utf8) + b.password.bytes)))
        }
        if let key = hmacSecret { h.append(("X-Lookout-Signature", "sha256=" + Signature.hmacSHA256Hex(key: key.bytes, body))) }
        return h
    }

    /// The URL without any `user:password@`, for logs and the status page.
    var redactedURL: String { Self.redact(url) }

    static func redact(_ url: String) -> String { redactingCredentials(url) }
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

enum Base64 {
    static func encode(_ bytes: [UInt8]) -> String {
        let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i < bytes.count {
            let b0 = UInt32(bytes[i])
            let b1 = i + 1 < bytes.count ? UInt32(bytes[i + 1]) : 0
            let b2 = i + 2 < bytes.count ? UInt32(bytes[i + 2]) : 0
            let v = b0 << 16 | b1 << 8 | b2
            out.append(table[Int(v >> 18 & 63)])
            out.append(table[Int(v >> 12 & 63)])
            out.append(i + 1 < bytes.count ? table[Int(v >> 6 & 63)] : UInt8(ascii: "="))
            out.append(i + 2 < bytes.count ? table[Int(v & 63)] : UInt8(ascii: "="))
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}
