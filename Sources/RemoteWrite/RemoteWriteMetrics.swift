import Series
import Synchronization

/// The remote_write metrics, named like Prometheus' own remote storage metrics.
public final class RemoteWriteMetrics: MetricsSource {
    struct Endpoint {
        var success = 0.0
        var retried = 0.0
        var dropped = 0.0
        var pending = 0.0
        var highestSent = 0.0
        var batchDuration = HistogramAccumulator(upperBounds: HistogramAccumulator.defaultLatencyBounds)
        var lastError = ""
    }

    struct State {
        /// Endpoints in config order.
        var urls: [String] = []
        var endpoints: [String: Endpoint] = [:]
        var wal: WAL?
    }

    private let state = Mutex(State())

    public init() {}

    /// The endpoints shown (the configured ones); counters of an endpoint that stays are kept.
    func configure(urls: [String], wal: WAL?) {
        state.withLock { s in
            s.urls = urls
            s.wal = wal
            for u in urls where s.endpoints[u] == nil { s.endpoints[u] = Endpoint() }
            for u in s.endpoints.keys where !urls.contains(u) { s.endpoints.removeValue(forKey: u) }
        }
    }

    func update(_ url: String, _ body: (inout Endpoint) -> Void) {
        state.withLock { s in
            if var e = s.endpoints[url] {
                body(&e)
                s.endpoints[url] = e
            }
        }
    }

    /// One endpoint's state, for the status page.
    public struct EndpointStatus: Sendable, Hashable {
        public var url: String
        public var sent: Double
        public var retried: Double
        public var dropped: Double
        public var pending: Double
        /// Seconds since the epoch of the newest sample the receiver acknowledged; 0 before the first.
        public var highestSentTimestamp: Double
        public var lastError: String
    }

    public var endpoints: [EndpointStatus] {
        state.withLock { s in
            s.urls.compactMap { u in
                s.endpoints[u].map {
                    EndpointStatus(
                        url: u, sent: $0.success, retried: $0.retried, dropped: $0.dropped, pending: $0.pending,
                        highestSentTimestamp: $0.highestSent, lastError: $0.lastError)
                }
            }
        }
    }

    public var walBytes: Int? { state.withLock { $0.wal }?.bytes }

    public func collect() -> [MetricFamily] {
        let (urls, endpoints, wal) = state.withLock { ($0.urls, $0.endpoints, $0.wal) }
        guard !urls.isEmpty else { return [] }
        var samples: [(Labels, Double)] = []
        var pending: [(Labels, Double)] = []
        var highest: [(Labels, Double)] = []
        var durations: [(Labels, HistogramValue)] = []
        for u in urls {
            guard let e = endpoints[u] else { continue }
            samples.append((Labels([("result", "dropped"), ("url", u)]), e.dropped))
            samples.append((Labels([("result", "retried"), ("url", u)]), e.retried))
            samples.append((Labels([("result", "success"), ("url", u)]), e.success))
            let url = Labels([("url", u)])
            pending.append((url, e.pending))
            highest.append((url, e.highestSent))
            durations.append((url, e.batchDuration.value))
        }
        var out: [MetricFamily] = [
            .counter(
                "lookout_remote_write_samples_total",
                help: "Samples sent to a remote_write endpoint (success), sent again after a failed attempt (retried), or given up on (dropped: the receiver refused them with a 4xx).",
                samples),
            .gauge(
                "lookout_remote_write_pending_samples", help: "Samples in the WAL the endpoint has not sent yet.", pending),
            .gauge(
                "lookout_remote_write_highest_sent_timestamp_seconds",
                help: "Timestamp of the newest sample the endpoint acknowledged; until the first, when its queue started.",
                unit: "seconds", highest),
            .histogram(
                "lookout_remote_write_sent_batch_duration_seconds",
                help: "Duration of each attempt to send a batch to a remote_write endpoint.", unit: "seconds", durations),
        ]
        if let wal {
            out.append(
                .gauge("lookout_remote_write_wal_bytes", help: "Bytes of the remote_write WAL's segments on disk.", unit: "bytes", [(.empty, Double(wal.bytes))]))
            out.append(
                .counter(
                    "lookout_remote_write_wal_dropped_samples_total",
                    help: "Samples deleted from the WAL by max_wal_bytes before every endpoint had sent them.",
                    [(.empty, Double(wal.droppedSamples))]))
        }
        return out
    }
}
