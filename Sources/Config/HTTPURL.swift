/// An http:// or https:// URL as lookout's clients take it (targets, webhooks,
/// Alertmanagers, the `probe` command): the one check of what such a URL must look like,
/// and the one way to show it without credentials.
public struct HTTPURL: Sendable, Hashable {
    /// The URL as written.
    public let text: String
    /// `http` or `https`.
    public let scheme: String
    /// `host[:port]`, without any `user:password@`.
    public let hostPort: String

    /// Why a text is not an `HTTPURL`.
    public enum Problem: Error, Sendable, Hashable {
        /// Not `http://` or `https://` followed by a host.
        case notHTTP
        /// A space, tab, line break or other control character (libcurl would refuse it).
        case whitespace
    }

    public init?(_ url: String) {
        guard case .success(let u) = Self.check(url) else { return nil }
        self = u
    }

    private init(text: String, scheme: String, hostPort: String) {
        self.text = text
        self.scheme = scheme
        self.hostPort = hostPort
    }

    public static func check(_ url: String) -> Result<HTTPURL, Problem> {
        let b = Array(url.utf8)
        let scheme: String
        let schemeEnd: Int
        if b.starts(with: "http://".utf8) {
            (scheme, schemeEnd) = ("http", 7)
        } else if b.starts(with: "https://".utf8) {
            (scheme, schemeEnd) = ("https", 8)
        } else {
            return .failure(.notHTTP)
        }
        var end = schemeEnd
        while end < b.count, b[end] != UInt8(ascii: "/"), b[end] != UInt8(ascii: "?"), b[end] != UInt8(ascii: "#") {
            end += 1
        }
        var authority = b[schemeEnd..<end]
        if let at = authority.lastIndex(of: UInt8(ascii: "@")) { authority = authority[(at + 1)...] }
        guard !authority.isEmpty, authority.first != UInt8(ascii: ":") else {
            return .failure(.notHTTP)
        }
        guard !b.contains(where: { $0 <= 32 || $0 == 127 }) else { return .failure(.whitespace) }
        return .success(HTTPURL(text: url, scheme: scheme, hostPort: String(decoding: authority, as: UTF8.self)))
    }

    /// `scheme://user:password@host/path` → `scheme://host/path`: credentials in a URL are
    /// never shown in logs, the APIs or the status page.
    public static func redactingCredentials(_ url: String) -> String {
        guard let schemeEnd = url.firstRange(of: "://") else { return url }
        let rest = url[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return url }
        return String(url[..<schemeEnd.upperBound]) + String(rest[rest.index(after: at)...])
    }
}

extension YAMLValue {
    /// An http:// or https:// URL with a host and no whitespace.
    public func httpURL(_ what: String) -> HTTPURL? {
        guard let url = string(what) else { return nil }
        switch HTTPURL.check(url) {
        case .success(let u):
            return u
        case .failure(.whitespace):
            error("\(what) must not contain spaces or line breaks")
        case .failure(.notHTTP):
            error("\(what) must be an http:// or https:// URL with a host, found \"\(HTTPURL.redactingCredentials(url))\"")
        }
        return nil
    }
}
