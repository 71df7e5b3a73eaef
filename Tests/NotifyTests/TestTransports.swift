import Dispatch
import LookoutCore
import Notify
import Synchronization
import TestSupport

/// A transport that records requests and answers from a script (then with `fallback`), in memory.
final class RecordingTransport: NotificationTransport {
    private struct State {
        var requests: [NotificationRequest] = []
        var script: [TransportOutcome] = []
        var fallback: TransportOutcome = .status(200)
    }

    private let state = Mutex(State())

    init(script: [TransportOutcome] = [], fallback: TransportOutcome = .status(200)) {
        state.withLock {
            $0.script = script
            $0.fallback = fallback
        }
    }

    func post(_ request: NotificationRequest) async -> TransportOutcome {
        state.withLock { s in
            s.requests.append(request)
            return s.script.isEmpty ? s.fallback : s.script.removeFirst()
        }
    }

    var requests: [NotificationRequest] { state.withLock { $0.requests } }
    var count: Int { state.withLock { $0.requests.count } }

    func answer(_ outcomes: [TransportOutcome], then fallback: TransportOutcome? = nil) {
        state.withLock {
            $0.script = outcomes
            if let fallback { $0.fallback = fallback }
        }
    }
}

/// Real HTTP for integration tests: TestSupport's blocking libcurl client, run on a
/// Dispatch thread so the cooperative pool never blocks. Cancellation returns at once
/// (the blocking request finishes in the background).
struct CurlTransport: NotificationTransport {
    func post(_ request: NotificationRequest) async -> TransportOutcome {
        let shot = OneShot()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<TransportOutcome, Never>) in
                shot.set(c)
                // `Expect:` off: curl would wait for a 100 Continue before larger bodies.
                let lines = request.headers.map { "\($0.0): \($0.1)" } + ["Expect:"]
                DispatchQueue.global().async {
                    let r = TestHTTP.request(
                        "POST", request.url, body: request.body, headers: lines, timeout: request.timeout.seconds)
                    shot.resume(r.error.map(Self.classify) ?? .status(r.status))
                }
            }
        } onCancel: {
            shot.resume(.failed(.other, "cancelled"))
        }
    }

    static func classify(_ error: String) -> TransportOutcome {
        if error.contains("connect") || error.contains("resolve") { return .failed(.connect, error) }
        if error.contains("Timeout") || error.contains("timed out") { return .failed(.timeout, error) }
        return .failed(.other, error)
    }

    /// Resumes a continuation once, whichever of the request and the cancellation comes first.
    final class OneShot: Sendable {
        private struct State {
            var continuation: CheckedContinuation<TransportOutcome, Never>?
            var early: TransportOutcome?
            var done = false
        }

        private let state = Mutex(State())

        func set(_ c: CheckedContinuation<TransportOutcome, Never>) {
            let now = state.withLock { s -> TransportOutcome? in
                if let e = s.early, !s.done {
                    s.done = true
                    return e
                }
                s.continuation = c
                return nil
            }
            if let now { c.resume(returning: now) }
        }

        func resume(_ outcome: TransportOutcome) {
            let c = state.withLock { s -> CheckedContinuation<TransportOutcome, Never>? in
                guard !s.done else { return nil }
                if let c = s.continuation {
                    s.done = true
                    s.continuation = nil
                    return c
                }
                if s.early == nil { s.early = outcome }
                return nil
            }
            c?.resume(returning: outcome)
        }
    }
}

extension NotificationRequest {
    var text: String { String(decoding: body, as: UTF8.self) }
}
