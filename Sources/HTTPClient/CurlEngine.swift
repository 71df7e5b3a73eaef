import CCurl
import Config
import LookoutCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One request on its way through the engine. Created by `execute`, handed to the curl
/// thread through the queue; from then on only the curl thread touches its mutable parts,
/// except `cancelled`, which the cancelling task sets.
final class Transfer: @unchecked Sendable {
    let request: HTTPClientRequest
    /// Set before the transfer is queued; resumed exactly once, on the curl thread.
    var continuation: CheckedContinuation<HTTPResult, Never>?
    let cancelled = Atomic<Bool>(false)

    // Curl thread only.
    var easy: UnsafeMutableRawPointer?
    var headerList: UnsafeMutablePointer<curl_slist>?
    var body: [UInt8] = []
    var headers: [HTTPHeader] = []
    var limitExceeded = false
    let errorBuffer: UnsafeMutablePointer<CChar>

    init(request: HTTPClientRequest) {
        self.request = request
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(to: 0)
    }

    deinit {
        errorBuffer.deallocate()
        if let headerList { lookout_curl_slist_free_all(headerList) }
    }
}

/// Owns the curl multi handle and the one thread that drives it. Callers only queue
/// transfers and cancellations under a lock and wake the thread; all libcurl calls except
/// `curl_multi_wakeup` (which is thread-safe) happen on that thread. libcurl is loaded and
/// initialised, and the handles made, with the first request: an agent that sends none
/// never maps libcurl nor the libraries it brings.
final class CurlEngine: @unchecked Sendable {
    private struct Queue {
        var adds: [Transfer] = []
        var cancels: [Transfer] = []
        var shuttingDown = false
        var thread: pthread_t?
        var joined = false
    }

    private let queue = Mutex(Queue())
    /// Made under the queue's lock before the thread starts (with the first request); read
    /// by the curl thread, and by callers under the lock once `Queue.thread` is set.
    private var multi: UnsafeMutableRawPointer!
    private var share: UnsafeMutableRawPointer?
    private let maxCachedConnections: Int
    private let userAgent: String

    // Curl thread only.
    private var active: [UnsafeMutableRawPointer: Transfer] = [:]
    private var idle: [UnsafeMutableRawPointer] = []
    private let maxIdleHandles = 256

    static let globalInit: Bool = lookout_curl_global_init(Int(CURL_GLOBAL_ALL)) == CURLE_OK

    init(maxCachedConnections: Int, userAgent: String) {
        self.maxCachedConnections = maxCachedConnections
        self.userAgent = userAgent
    }

    /// libcurl's global state and the handles, before the thread starts.
    private func makeHandles() {
        precondition(Self.globalInit, "curl_global_init failed")
        multi = lookout_curl_multi_init()!
        // The multi handle's connection cache is shared by all its transfers; its size
        // must cover every connection a round of probes keeps alive, or connections are
        // closed and reopened each round. Per-host connections are not capped: every
        // due request runs at once (a cap would make them queue, and libcurl's phase
        // times do not show the wait).
        lookout_curl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, max(16, maxCachedConnections))
        // DNS answers and TLS sessions live in a share handle, so an easy handle taken
        // fresh from the pool still resumes TLS sessions other handles negotiated.
        share = lookout_curl_share_init()
        if let share {
            lookout_curl_share_setopt_long(share, CURLSHOPT_SHARE, Int(CURL_LOCK_DATA_DNS.rawValue))
            lookout_curl_share_setopt_long(share, CURLSHOPT_SHARE, Int(CURL_LOCK_DATA_SSL_SESSION.rawValue))
        }
    }

    /// Queues a transfer; false when the engine is shutting down.
    func submit(_ t: Transfer) -> Bool {
        let multi: UnsafeMutableRawPointer? = queue.withLock { q in
            if q.shuttingDown { return nil }
            q.adds.append(t)
            if q.thread == nil { startThread(&q) }
            return self.multi
        }
        guard let multi else { return false }
        lookout_curl_multi_wakeup(multi)
        return true
    }

    func cancel(_ t: Transfer) {
        // Before the first request there is no thread to wake: it reads the cancellation when it starts.
        let multi = queue.withLock { q -> UnsafeMutableRawPointer? in
            if q.shuttingDown { return nil }
            q.cancels.append(t)
            return q.thread == nil ? nil : self.multi
        }
        if let multi { lookout_curl_multi_wakeup(multi) }
    }

    /// Stops the thread: every queued and running transfer finishes as cancelled, then all
    /// handles are cleaned up. Blocks until the thread has exited; idempotent.
    func shutdown() {
        enum Action {
            case none
            case join(pthread_t, UnsafeMutableRawPointer?)
            case cleanUpHere([Transfer])
        }
        let action = queue.withLock { q -> Action in
            if q.joined { return .none }
            q.shuttingDown = true
            q.joined = true
            if let thread = q.thread { return .join(thread, self.multi) }
            defer { q.adds = [] }
            return .cleanUpHere(q.adds)
        }
        switch action {
        case .none:
            return
        case .join(let thread, let multi):
            if let multi { lookout_curl_multi_wakeup(multi) }
            pthread_join(thread, nil)
        case .cleanUpHere(let pending):
            // The thread never started: nothing else touches the handles.
            for t in pending { t.continuation?.resume(returning: Self.cancelledResult("the HTTP client was shut down")) }
            cleanup()
        }
    }

    private final class ThreadBody {
        let engine: CurlEngine
        init(_ engine: CurlEngine) { self.engine = engine }
    }

    /// Makes the handles and starts the curl thread; under the queue's lock, on the first request.
    private func startThread(_ q: inout Queue) {
        makeHandles()
        var tid = pthread_t()
        let arg = Unmanaged.passRetained(ThreadBody(self)).toOpaque()
        let rc = pthread_create(&tid, nil, { arg in
            let body = Unmanaged<ThreadBody>.fromOpaque(arg!).takeRetainedValue()
            lookout_curl_name_thread("lookout-http")
            body.engine.loop()
            return nil
        }, arg)
        precondition(rc == 0, "cannot start the HTTP thread: \(rc)")
        q.thread = tid
    }

    // MARK: The curl thread

    private func loop() {
        var running: Int32 = 0
        while true {
            let (adds, cancels, stop) = queue.withLock { q in
                defer {
                    q.adds = []
                    q.cancels = []
                }
                return (q.adds, q.cancels, q.shuttingDown)
            }
            for t in adds { start(t) }
            for t in cancels { abort(t, message: "cancelled") }
            if stop {
                for t in Array(active.values) { abort(t, message: "the HTTP client was shut down") }
                break
            }
            lookout_curl_multi_perform(multi, &running)
            var left: Int32 = 0
            while let msg = lookout_curl_multi_info_read(multi, &left) {
                guard lookout_curl_msg_is_done(msg) != 0, let easy = msg.pointee.easy_handle else { continue }
                complete(easy, code: lookout_curl_msg_result(msg))
            }
            // Sleeps until a socket is ready, a libcurl timer (timeouts included) is due,
            // or `curl_multi_wakeup` is called.
            lookout_curl_multi_poll(multi, 1000)
        }
        cleanup()
    }

    private func cleanup() {
        if let multi { lookout_curl_multi_cleanup(multi) }
        for easy in idle { lookout_curl_easy_cleanup(easy) }
        idle = []
        if let share { lookout_curl_share_cleanup(share) }
    }

    private func start(_ t: Transfer) {
        if t.cancelled.load(ordering: .acquiring) {
            t.continuation?.resume(returning: Self.cancelledResult("cancelled"))
            t.continuation = nil
            return
        }
        let easy: UnsafeMutableRawPointer
        if let reused = idle.popLast() {
            easy = reused
        } else {
            guard let fresh = lookout_curl_easy_init() else {
                t.continuation?.resume(returning: HTTPResult(error: HTTPError(kind: .other, message: "curl_easy_init failed")))
                t.continuation = nil
                return
            }
            easy = fresh
            if let share { lookout_curl_easy_setopt_pointer(easy, CURLOPT_SHARE, share) }
        }
        configure(easy, t)
        t.easy = easy
        active[easy] = t
        let rc = lookout_curl_multi_add_handle(multi, easy)
        if rc != CURLM_OK {
            complete(easy, code: CURLE_FAILED_INIT)
        }
    }

    private func configure(_ easy: UnsafeMutableRawPointer, _ t: Transfer) {
        let r = t.request
        lookout_curl_easy_setopt_string(easy, CURLOPT_URL, r.url)
        lookout_curl_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1)
        lookout_curl_easy_setopt_string(easy, CURLOPT_PROTOCOLS_STR, "http,https")
        lookout_curl_easy_setopt_string(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https")
        lookout_curl_easy_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, Int(max(1, r.connectTimeout.milliseconds)))
        lookout_curl_easy_setopt_long(easy, CURLOPT_TIMEOUT_MS, Int(max(1, r.timeout.milliseconds)))
        lookout_curl_easy_setopt_long(easy, CURLOPT_FOLLOWLOCATION, r.followRedirects ? 1 : 0)
        lookout_curl_easy_setopt_long(easy, CURLOPT_MAXREDIRS, r.maxRedirects)
        lookout_curl_easy_setopt_long(easy, CURLOPT_TCP_KEEPALIVE, 1)
        lookout_curl_easy_setopt_string(easy, CURLOPT_USERAGENT, userAgent)
        if r.acceptCompressed {
            // "" = every encoding this libcurl decodes; the write callback sees decoded bytes.
            lookout_curl_easy_setopt_string(easy, CURLOPT_ACCEPT_ENCODING, "")
        }
        switch r.method {
        case .get:
            lookout_curl_easy_setopt_long(easy, CURLOPT_HTTPGET, 1)
        case .head:
            lookout_curl_easy_setopt_long(easy, CURLOPT_NOBODY, 1)
        case .post, .put:
            let body = r.body ?? []
            lookout_curl_easy_setopt_long(easy, CURLOPT_POST, 1)
            lookout_curl_easy_setopt_off_t(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count))
            body.withUnsafeBytes { buf in
                // COPYPOSTFIELDS copies `POSTFIELDSIZE` bytes, so the body may contain NULs.
                _ = lookout_curl_easy_setopt_pointer(easy, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: buf.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!))
            }
            if r.method == .put { lookout_curl_easy_setopt_string(easy, CURLOPT_CUSTOMREQUEST, "PUT") }
        }
        var list: UnsafeMutablePointer<curl_slist>? = nil
        for h in r.headers { list = lookout_curl_slist_append(list, "\(h.name): \(h.value)") }
        if r.body != nil {
            // Without this, libcurl waits up to a second for "100 Continue" before larger bodies.
            list = lookout_curl_slist_append(list, "Expect:")
        }
        t.headerList = list
        if let list { lookout_curl_easy_setopt_slist(easy, CURLOPT_HTTPHEADER, list) }
        if let auth = r.basicAuth {
            lookout_curl_easy_setopt_long(easy, CURLOPT_HTTPAUTH, lookout_curl_auth_basic)
            lookout_curl_easy_setopt_string(easy, CURLOPT_USERNAME, auth.username)
            lookout_curl_easy_setopt_string(easy, CURLOPT_PASSWORD, auth.password.text)
        }
        if let tls = r.tls {
            if let ca = tls.caFile { lookout_curl_easy_setopt_string(easy, CURLOPT_CAINFO, ca) }
            if let cert = tls.certFile { lookout_curl_easy_setopt_string(easy, CURLOPT_SSLCERT, cert) }
            if let key = tls.keyFile { lookout_curl_easy_setopt_string(easy, CURLOPT_SSLKEY, key) }
            if tls.insecureSkipVerify {
                lookout_curl_easy_setopt_long(easy, CURLOPT_SSL_VERIFYPEER, 0)
                lookout_curl_easy_setopt_long(easy, CURLOPT_SSL_VERIFYHOST, 0)
            }
        }
        let me = Unmanaged.passUnretained(t).toOpaque()
        lookout_curl_easy_setopt_pointer(easy, CURLOPT_ERRORBUFFER, t.errorBuffer)
        lookout_curl_easy_setopt_pointer(easy, CURLOPT_WRITEDATA, me)
        lookout_curl_easy_setopt_write_callback(easy, CURLOPT_WRITEFUNCTION) { ptr, size, n, user in
            let t = Unmanaged<Transfer>.fromOpaque(user!).takeUnretainedValue()
            let count = size * n
            // The limit counts decoded bytes: a gzip bomb stops here, one decoded chunk
            // past the limit, without inflating the rest.
            if t.body.count + count > t.request.bodyLimit {
                t.limitExceeded = true
                return 0
            }
            t.body.append(contentsOf: UnsafeRawBufferPointer(start: ptr, count: count))
            return count
        }
        lookout_curl_easy_setopt_pointer(easy, CURLOPT_HEADERDATA, me)
        lookout_curl_easy_setopt_write_callback(easy, CURLOPT_HEADERFUNCTION) { ptr, size, n, user in
            let t = Unmanaged<Transfer>.fromOpaque(user!).takeUnretainedValue()
            let count = size * n
            let line = UnsafeRawBufferPointer(start: ptr, count: count)
            Transfer.headerLine(line, into: &t.headers)
            return count
        }
    }

    private func complete(_ easy: UnsafeMutableRawPointer, code: CURLcode) {
        guard let t = active.removeValue(forKey: easy) else { return }
        lookout_curl_multi_remove_handle(multi, easy)
        var status = 0
        lookout_curl_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
        var connects = 0
        lookout_curl_easy_getinfo_long(easy, CURLINFO_NUM_CONNECTS, &connects)
        var localPort = 0
        lookout_curl_easy_getinfo_long(easy, CURLINFO_LOCAL_PORT, &localPort)
        func time(_ info: CURLINFO) -> Int64 {
            var v: curl_off_t = 0
            lookout_curl_easy_getinfo_off_t(easy, info, &v)
            return Int64(v)
        }
        let timings = PhaseTimings(
            namelookup: time(CURLINFO_NAMELOOKUP_TIME_T), connect: time(CURLINFO_CONNECT_TIME_T),
            appconnect: time(CURLINFO_APPCONNECT_TIME_T), pretransfer: time(CURLINFO_PRETRANSFER_TIME_T),
            starttransfer: time(CURLINFO_STARTTRANSFER_TIME_T), total: time(CURLINFO_TOTAL_TIME_T))
        let wire = time(CURLINFO_SIZE_DOWNLOAD_T)
        var error: HTTPError?
        if code != CURLE_OK {
            let buffered = String(cString: t.errorBuffer)
            let message = buffered.isEmpty ? String(cString: lookout_curl_easy_strerror(code)) : buffered
            error = Self.classify(code, limitExceeded: t.limitExceeded, message: message, limit: t.request.bodyLimit)
        }
        let result = HTTPResult(
            status: status, headers: t.headers, body: t.body, timings: timings,
            // No new connection, yet one was used: it was kept alive from before.
            reusedConnection: connects == 0 && localPort > 0, wireBytes: Int(wire), error: error)
        t.body = []
        recycle(easy, t)
        t.continuation?.resume(returning: result)
        t.continuation = nil
    }

    private func abort(_ t: Transfer, message: String) {
        guard let easy = t.easy, active[easy] === t else { return }
        active.removeValue(forKey: easy)
        lookout_curl_multi_remove_handle(multi, easy)
        recycle(easy, t)
        t.continuation?.resume(returning: Self.cancelledResult(message))
        t.continuation = nil
    }

    private func recycle(_ easy: UnsafeMutableRawPointer, _ t: Transfer) {
        t.easy = nil
        // Reset keeps the handle's share; options (and pointers into `t`) are cleared.
        lookout_curl_easy_reset(easy)
        if let list = t.headerList {
            lookout_curl_slist_free_all(list)
            t.headerList = nil
        }
        if idle.count < maxIdleHandles {
            idle.append(easy)
        } else {
            lookout_curl_easy_cleanup(easy)
        }
    }

    static func cancelledResult(_ message: String) -> HTTPResult {
        HTTPResult(error: HTTPError(kind: .cancelled, message: message))
    }

    static func classify(_ code: CURLcode, limitExceeded: Bool, message: String, limit: Int) -> HTTPError {
        let kind: HTTPErrorKind
        var message = message
        switch code {
        case CURLE_WRITE_ERROR where limitExceeded:
            kind = .limit
            message = "body larger than the limit of \(limit) bytes"
        case CURLE_OPERATION_TIMEDOUT:
            kind = .timeout
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            kind = .dns
        case CURLE_COULDNT_CONNECT:
            kind = .connect
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER,
            CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH,
            CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_SHUTDOWN_FAILED, CURLE_SSL_CRL_BADFILE, CURLE_SSL_ENGINE_NOTFOUND,
            CURLE_SSL_ENGINE_SETFAILED, CURLE_SSL_ENGINE_INITFAILED, CURLE_USE_SSL_FAILED, CURLE_SSL_CLIENTCERT:
            kind = .tls
        case CURLE_ABORTED_BY_CALLBACK:
            kind = .cancelled
        default:
            kind = .other
        }
        return HTTPError(kind: kind, code: Int(code.rawValue), message: message)
    }
}

extension Transfer {
    /// One header line from libcurl: a status line starts a new response (redirects,
    /// `100 Continue`), so the headers kept are the last response's.
    static func headerLine(_ line: UnsafeRawBufferPointer, into headers: inout [HTTPHeader]) {
        guard line.count > 0 else { return }
        if line.count >= 5, line[0] == UInt8(ascii: "H"), line[1] == UInt8(ascii: "T"), line[2] == UInt8(ascii: "T"),
            line[3] == UInt8(ascii: "P"), line[4] == UInt8(ascii: "/")
        {
            headers.removeAll(keepingCapacity: true)
            return
        }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > 0 else { return }
        var start = colon + 1
        var end = line.count
        while start < end, line[start] == 32 || line[start] == 9 { start += 1 }
        while end > start, line[end - 1] == 10 || line[end - 1] == 13 || line[end - 1] == 32 || line[end - 1] == 9 { end -= 1 }
        let name = String(decoding: UnsafeRawBufferPointer(rebasing: line[0..<colon]), as: UTF8.self)
        let value = String(decoding: UnsafeRawBufferPointer(rebasing: line[start..<end]), as: UTF8.self)
        headers.append(HTTPHeader(name, value))
    }
}
