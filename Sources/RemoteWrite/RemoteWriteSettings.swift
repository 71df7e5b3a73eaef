import Config
import LookoutCore
import Series

/// `remote_write:` of the config file.
///
/// ```yaml
/// remote_write:
///   interval: 15s               # how often the agent's own series are snapshotted
///   wal: data/wal               # the durable queue
///   max_wal_bytes: 256MiB       # oldest segments dropped beyond it, counted
///   external_labels: { cluster: eu1 }
///   endpoints:
///     - url: https://mimir.example/api/v1/push
///       remote_timeout: 30s
///       write_relabel: { keep: '^(lookout_.*|up)$' }   # or drop: regex on the metric name
///       queue: { max_samples_per_send: 2000, batch_send_deadline: 5s, min_backoff: 30ms, max_backoff: 5s }
///       # headers, bearer_token(_file), basic_auth, tls_config, follow_redirects
/// ```
public struct RemoteWriteSettings: Sendable, Hashable {
    public var interval: Duration = .seconds(15)
    /// Directory of the WAL; relative paths are under the working directory.
    public var wal: String = "data/wal"
    /// `wal` was not set: it goes under the state directory.
    public var walIsDefault = true
    public var maxWALBytes: Int = 256 << 20
    public var externalLabels: [Label] = []
    public var endpoints: [RemoteWriteEndpoint] = []

    public init() {}

    public static let keys = ["interval", "wal", "max_wal_bytes", "external_labels", "endpoints"]

    public static func parse(_ value: YAMLValue) -> RemoteWriteSettings? {
        guard let m = value.mapping("remote_write", allowedKeys: keys) else { return nil }
        var s = RemoteWriteSettings()
        if let v = m["interval"]?.duration("remote_write.interval", positive: true) { s.interval = v }
        if let node = m["wal"], let v = node.string("remote_write.wal") {
            if v.isEmpty {
                node.error("remote_write.wal must not be empty")
            } else {
                s.wal = ConfigPath.resolve(v, relativeTo: value.document.file)
                s.walIsDefault = false
            }
        }
        if let node = m["max_wal_bytes"], let v = node.byteSize("remote_write.max_wal_bytes") {
            if v < 64 << 10 { node.error("remote_write.max_wal_bytes must be at least 64KiB, found \(v) bytes") } else { s.maxWALBytes = v }
        }
        if let node = m["external_labels"], let pairs = node.stringMap("remote_write.external_labels") {
            for (name, value, location) in pairs {
                if !MetricNames.isValidLabelName(name) || name.hasPrefix("__") {
                    node.document.error("remote_write.external_labels: \"\(name)\" is not a valid label name", at: location)
                } else if value.isEmpty {
                    node.document.error("remote_write.external_labels.\(name) must not be empty", at: location)
                } else {
                    s.externalLabels.append(Label(name: name, value: value))
                }
            }
            s.externalLabels.sort { $0.name < $1.name }
        }
        if let node = m["endpoints"], let items = node.sequence("remote_write.endpoints") {
            var seen: [String: SourceLocation] = [:]
            for (i, item) in items.enumerated() {
                guard let e = RemoteWriteEndpoint.parse(item, index: i) else { continue }
                if let first = seen[e.url] {
                    item.error("remote_write.endpoints[\(i)]: duplicate url \"\(e.url)\" (first at \(first))")
                    continue
                }
                seen[e.url] = item.location
                s.endpoints.append(e)
            }
            if items.isEmpty { node.error("remote_write.endpoints must list at least one endpoint") }
        } else if m["endpoints"] == nil {
            m.error("remote_write needs endpoints (a list with at least one url)")
        }
        return s
    }
}

/// Which series an endpoint receives, by metric name.
public enum WriteRelabel: Sendable, Hashable {
    case keep(AnchoredRegex)
    case drop(AnchoredRegex)

    public func keeps(_ name: String) -> Bool {
        switch self {
        case .keep(let r): return r.matches(name)
        case .drop(let r): return !r.matches(name)
        }
    }

    public static func == (a: Self, b: Self) -> Bool {
        switch (a, b) {
        case (.keep(let x), .keep(let y)), (.drop(let x), .drop(let y)): return x.pattern == y.pattern
        default: return false
        }
    }

    public func hash(into h: inout Hasher) {
        switch self {
        case .keep(let r): h.combine("keep" + r.pattern)
        case .drop(let r): h.combine("drop" + r.pattern)
        }
    }
}

/// `queue:` of an endpoint, named as in Prometheus' queue_config.
public struct QueueSettings: Sendable, Hashable {
    public var maxSamplesPerSend = 2000
    /// How long a batch that is not full waits for more samples before it goes.
    public var batchSendDeadline: Duration = .seconds(5)
    public var minBackoff: Duration = .milliseconds(30)
    public var maxBackoff: Duration = .seconds(5)

    public init() {}
}

/// The headers remote_write sets itself, which an endpoint's `headers` may not name.
let remoteWriteSetHeaders = ["Content-Type", "Content-Encoding", "X-Prometheus-Remote-Write-Version"]

/// One entry of `remote_write.endpoints`.
public struct RemoteWriteEndpoint: Sendable, Hashable {
    public var url: String
    public var remoteTimeout: Duration = .seconds(30)
    public var relabel: WriteRelabel?
    public var queue = QueueSettings()
    public var http = HTTPClientConfig()

    public init(url: String) { self.url = url }

    public static let keys = ["url", "remote_timeout", "write_relabel", "queue"] + HTTPClientConfig.keys

    public func keeps(_ name: String) -> Bool { relabel?.keeps(name) ?? true }

    public static func parse(_ value: YAMLValue, index: Int) -> RemoteWriteEndpoint? {
        let what = "remote_write.endpoints[\(index)]"
        guard let m = value.mapping(what, allowedKeys: keys) else { return nil }
        guard let urlNode = m.required("url"), let url = urlNode.httpURL("\(what).url")?.text else { return nil }
        var e = RemoteWriteEndpoint(url: url)
        if let v = m["remote_timeout"]?.duration("\(what).remote_timeout", positive: true) { e.remoteTimeout = v }
        if let node = m["write_relabel"],
            let r = node.mapping("\(what).write_relabel", allowedKeys: ["keep", "drop"])
        {
            if r["keep"] != nil && r["drop"] != nil {
                r.error("\(what).write_relabel: set keep or drop, not both")
            } else if let k = r["keep"], let regex = k.regex("\(what).write_relabel.keep") {
                e.relabel = .keep(regex)
            } else if let d = r["drop"], let regex = d.regex("\(what).write_relabel.drop") {
                e.relabel = .drop(regex)
            } else if r.entries.isEmpty {
                node.error("\(what).write_relabel needs keep or drop (a regex on the metric name)")
            }
        }
        if let node = m["queue"],
            let q = node.mapping(
                "\(what).queue", allowedKeys: ["max_samples_per_send", "batch_send_deadline", "min_backoff", "max_backoff"])
        {
            if let v = q["max_samples_per_send"]?.int("\(what).queue.max_samples_per_send", range: 1...1_000_000) {
                e.queue.maxSamplesPerSend = v
            }
            if let v = q["batch_send_deadline"]?.duration("\(what).queue.batch_send_deadline", positive: true) {
                e.queue.batchSendDeadline = v
            }
            if let v = q["min_backoff"]?.duration("\(what).queue.min_backoff", positive: true) { e.queue.minBackoff = v }
            if let v = q["max_backoff"]?.duration("\(what).queue.max_backoff", positive: true) { e.queue.maxBackoff = v }
            if e.queue.minBackoff > e.queue.maxBackoff {
                q.error(
                    "\(what).queue: min_backoff \(PromDuration.format(e.queue.minBackoff)) is longer than max_backoff \(PromDuration.format(e.queue.maxBackoff))"
                )
            }
        }
        e.http = HTTPClientConfig.parse(m, what, setHeaders: remoteWriteSetHeaders)
        return e
    }
}
