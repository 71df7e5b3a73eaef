import CCurl
#if canImport(Glibc)
import Glibc
#endif

/// A blocking HTTP client for tests (libcurl's easy interface), independent of the agent's own client.
public enum TestHTTP {
    public struct Response: Sendable {
        public var status: Int
        public var headers: [(String, String)]
        public var body: [UInt8]
        /// Set when the transfer failed (no status).
        public var error: String?
        public var seconds: Double

        public var text: String { String(decoding: body, as: UTF8.self) }

        public func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }
    }

    private final class Sink {
        var body: [UInt8] = []
        var headers: [(String, String)] = []
    }

    public static func get(_ url: String, headers: [String] = [], timeout: Double = 30) -> Response {
        request("GET", url, headers: headers, timeout: timeout)
    }

    public static func post(_ url: String, body: [UInt8] = [], headers: [String] = [], timeout: Double = 30) -> Response {
        request("POST", url, body: body, headers: headers, timeout: timeout)
    }

    public static func request(
        _ method: String, _ url: String, body: [UInt8]? = nil, headers: [String] = [], timeout: Double = 30,
        extraOptions: ((UnsafeMutableRawPointer) -> Void)? = nil
    ) -> Response {
        guard let h = lookout_curl_easy_init() else { return Response(status: 0, headers: [], body: [], error: "curl init", seconds: 0) }
        defer { lookout_curl_easy_cleanup(h) }
        let sink = Sink()
        let sinkPtr = Unmanaged.passUnretained(sink).toOpaque()
        lookout_curl_easy_setopt_string(h, CURLOPT_URL, url)
        lookout_curl_easy_setopt_string(h, CURLOPT_CUSTOMREQUEST, method)
        lookout_curl_easy_setopt_long(h, CURLOPT_TIMEOUT_MS, Int(timeout * 1000))
        lookout_curl_easy_setopt_long(h, CURLOPT_NOSIGNAL, 1)
        lookout_curl_easy_setopt_pointer(h, CURLOPT_WRITEDATA, sinkPtr)
        lookout_curl_easy_setopt_write_callback(h, CURLOPT_WRITEFUNCTION) { ptr, size, n, user in
            let sink = Unmanaged<Sink>.fromOpaque(user!).takeUnretainedValue()
            let count = size * n
            ptr!.withMemoryRebound(to: UInt8.self, capacity: count) { sink.body.append(contentsOf: UnsafeBufferPointer(start: $0, count: count)) }
            return count
        }
        lookout_curl_easy_setopt_pointer(h, CURLOPT_HEADERDATA, sinkPtr)
        lookout_curl_easy_setopt_write_callback(h, CURLOPT_HEADERFUNCTION) { ptr, size, n, user in
            let sink = Unmanaged<Sink>.fromOpaque(user!).takeUnretainedValue()
            let count = size * n
            let line = ptr!.withMemoryRebound(to: UInt8.self, capacity: count) {
                String(decoding: UnsafeBufferPointer(start: $0, count: count), as: UTF8.self)
            }
            if line.hasPrefix("HTTP/") { sink.headers.removeAll() }
            if let colon = line.firstIndex(of: ":") {
                let name = String(line[..<colon])
                let value = line[line.index(after: colon)...].trimmingCharacters()
                sink.headers.append((name, value))
            }
            return count
        }
        var list: UnsafeMutablePointer<curl_slist>? = nil
        for header in headers { list = lookout_curl_slist_append(list, header) }
        defer { lookout_curl_slist_free_all(list) }
        if list != nil { lookout_curl_easy_setopt_slist(h, CURLOPT_HTTPHEADER, list) }
        var bodyCopy = body ?? []
        let rc: CURLcode = bodyCopy.withUnsafeMutableBytes { buf in
            if body != nil {
                lookout_curl_easy_setopt_pointer(h, CURLOPT_POSTFIELDS, buf.baseAddress)
                lookout_curl_easy_setopt_long(h, CURLOPT_POSTFIELDSIZE, buf.count)
            }
            extraOptions?(h)
            return lookout_curl_easy_perform(h)
        }
        var status = 0
        lookout_curl_easy_getinfo_long(h, CURLINFO_RESPONSE_CODE, &status)
        var total = 0.0
        lookout_curl_easy_getinfo_double(h, CURLINFO_TOTAL_TIME, &total)
        let error = rc == CURLE_OK ? nil : String(cString: lookout_curl_easy_strerror(rc))
        return Response(status: status, headers: sink.headers, body: sink.body, error: error, seconds: total)
    }
}

extension Substring {
    fileprivate func trimmingCharacters() -> String {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == "\r\n" || l == "\r" || l == "\n" || l == " " { s.removeLast() }
        return String(s)
    }
}
