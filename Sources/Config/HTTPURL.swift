import CCurl

/// An http:// or https:// URL as lookout's clients take it (targets, webhooks,
/// Alertmanagers, remote_write, the `probe` command): parsed by libcurl's URL parser, the
/// one that later fetches it, so a URL the config accepts is one libcurl takes. Also the
/// one way to show a URL without credentials.
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
        /// A space, tab, line break or other control character (libcurl refuses it).
        case whitespace
        /// An http(s) URL libcurl cannot parse otherwise (a port out of range, a bad host name...):
        /// libcurl's reason.
        case malformed(String)
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
        guard let handle = lookout_curl_url() else { return .failure(.malformed("out of memory")) }
        defer { lookout_curl_url_cleanup(handle) }
        let rc = lookout_curl_url_parse(handle, url)
        guard rc == CURLUE_OK else {
            if url.utf8.contains(where: { $0 <= 32 || $0 == 127 }) { return .failure(.whitespace) }
            switch rc {
            case CURLUE_NO_HOST, CURLUE_BAD_SCHEME, CURLUE_UNSUPPORTED_SCHEME, CURLUE_MALFORMED_INPUT:
                return .failure(.notHTTP)
            default:
                return .failure(.malformed(String(cString: lookout_curl_url_strerror(rc))))
            }
        }
        func part(_ p: CURLUPart) -> String? {
            guard let c = lookout_curl_url_part(handle, p) else { return nil }
            defer { lookout_curl_free(c) }
            return String(cString: c)
        }
        guard let scheme = part(CURLUPART_SCHEME), scheme == "http" || scheme == "https",
            let host = part(CURLUPART_HOST), !host.isEmpty,
            // libcurl reads `http:///x` as host `x`; the host must follow `//` right away.
            let authority = url.firstRange(of: "://").map({ url[$0.upperBound...] }), authority.first != "/"
        else { return .failure(.notHTTP) }
        let hostPort = part(CURLUPART_PORT).map { host + ":" + $0 } ?? host
        return .success(HTTPURL(text: url, scheme: scheme, hostPort: hostPort))
    }

    /// `scheme://user:password@host/path` → `scheme://host/path`: credentials in a URL are
    /// never shown in logs, the APIs or the status page. Works on any text, a URL libcurl
    /// refuses included, since error messages show those too.
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
        case .failure(.malformed(let reason)):
            error("\(what) is not a valid URL (\(reason)), found \"\(HTTPURL.redactingCredentials(url))\"")
        }
        return nil
    }
}
