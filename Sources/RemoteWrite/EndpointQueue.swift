import Config
import HTTPClient
import Logging
import LookoutCore
import NIOPosix

/// Sends the WAL to one endpoint, from the endpoint's own position: batches of at most
/// `max_samples_per_send` samples, a batch that is not full sent after `batch_send_deadline`,
/// each batch retried by `SendPolicy` until it is sent or dropped, and only then the new
/// position saved. Killed mid-batch, the next run sends that batch again.
struct EndpointQueue: Sendable {
    let endpoint: RemoteWriteEndpoint
    let wal: WAL
    let client: HTTPClient
    let clock: any AgentClock
    let metrics: RemoteWriteMetrics
    /// Where the position file is written (a blocking write and fsync).
    let io: NIOThreadPool
    let logger: Logger

    func run() async throws {
        let wake = WakeSignal()
        let url = endpoint.url
        var acked = wal.attach(key: url, wake: wake)
        defer { wal.detach(key: url) }
        let startedAt = clock.wallNow.secondsSinceEpoch
        metrics.update(url) { e in
            if e.highestSent == 0 { e.highestSent = startedAt }
        }
        var reader = WALReader(wal: wal, from: acked, keep: { [endpoint] in endpoint.keeps($0) })
        var policy = SendPolicy(minBackoff: endpoint.queue.minBackoff, maxBackoff: endpoint.queue.maxBackoff)
        let maxSamples = endpoint.queue.maxSamplesPerSend
        while true {
            try Task.checkCancellation()
            var batch = WALBatch()
            reader.read(into: &batch, maxSamples: maxSamples)
            publishPending(acked)
            if batch.isEmpty {
                await wake.wait()
                continue
            }
            // Not full: wait for more until the deadline, then send what there is.
            let deadline = clock.now + endpoint.queue.batchSendDeadline
            while batch.samples < maxSamples, clock.now < deadline {
                await waitForAppend(wake, until: deadline)
                try Task.checkCancellation()
                reader.read(into: &batch, maxSamples: maxSamples)
            }
            try await send(batch, from: acked, policy: &policy)
            let position = reader.cursor
            do {
                try await io.runIfActive { [wal] in try wal.advance(key: url, to: position) }
            } catch {
                logger.error("cannot save the position of a remote_write endpoint", metadata: ["url": "\(url)", "error": "\(error)"])
            }
            acked = reader.cursor
            publishPending(acked)
        }
    }

    /// Samples not acknowledged yet: from the saved position on, the batch in flight included.
    private func publishPending(_ position: WALPosition) {
        let pending = Double(wal.pending(from: position))
        metrics.update(endpoint.url) { $0.pending = pending }
    }

    private func waitForAppend(_ wake: WakeSignal, until deadline: MonotonicInstant) async {
        let clock = self.clock
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await wake.wait() }
            group.addTask { try? await clock.sleep(until: deadline) }
            await group.next()
            group.cancelAll()
        }
    }

    /// Sends one batch until it is acknowledged or dropped. Throws only when cancelled.
    private func send(_ batch: WALBatch, from acked: WALPosition, policy: inout SendPolicy) async throws {
        let body = WriteRequestCodec.body(batch.series)
        let headers = [
            HTTPHeader("Content-Encoding", WriteRequestCodec.contentEncoding),
            HTTPHeader("Content-Type", WriteRequestCodec.contentType),
            HTTPHeader("X-Prometheus-Remote-Write-Version", WriteRequestCodec.version),
        ]
        var config = endpoint.http
        config.connectTimeout = .seconds(5)
        let request = HTTPClientRequest(
            method: .post, url: endpoint.url, config: config, headers: headers, body: body,
            timeout: endpoint.remoteTimeout, bodyLimit: 64 << 10, acceptCompressed: false)
        let n = Double(batch.samples)
        while true {
            let started = clock.now
            let result = await client.execute(request)
            try Task.checkCancellation()
            let seconds = (clock.now - started).seconds
            let status = result.error == nil ? result.status : 0
            let verdict = policy.verdict(status: status, retryAfter: result.header("Retry-After"))
            let problem = Self.describe(result)
            metrics.update(endpoint.url) { e in
                e.batchDuration.observe(seconds)
                switch verdict {
                case .sent:
                    e.success += n
                    e.highestSent = max(e.highestSent, Double(batch.highestTimestamp) / 1000)
                    e.lastError = ""
                case .retry: e.retried += n
                case .drop: e.dropped += n
                }
                if let problem { e.lastError = problem }
            }
            switch verdict {
            case .sent:
                return
            case .drop:
                logger.warning(
                    "remote_write endpoint refused a batch; dropped",
                    metadata: ["url": "\(endpoint.url)", "samples": "\(batch.samples)", "error": "\(problem ?? "")"])
                return
            case .retry(let after):
                logger.debug(
                    "remote_write batch failed; retrying",
                    metadata: ["url": "\(endpoint.url)", "after": "\(PromDuration.format(after))", "error": "\(problem ?? "")"])
                // The WAL keeps growing while the receiver is away.
                publishPending(acked)
                try await clock.sleep(for: after)
            }
        }
    }

    /// What went wrong, short: the transport error, or the status and the start of the body.
    static func describe(_ result: HTTPResult) -> String? {
        if let error = result.error { return error.description }
        guard !(200..<300).contains(result.status) else { return nil }
        let text = String(decoding: result.body.prefix(200), as: UTF8.self)
            .split(whereSeparator: { $0 == "\n" || $0 == "\r" }).joined(separator: " ")
        return text.isEmpty ? "HTTP \(result.status)" : "HTTP \(result.status): \(text)"
    }
}
