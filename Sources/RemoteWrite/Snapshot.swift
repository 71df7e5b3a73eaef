import GoFormat
import Series

/// One sample of a snapshot: a flat series (labels with `__name__`, sorted) and its value.
public struct SnapshotSample: Sendable, Hashable {
    public var labels: [Label]
    public var value: Double

    public init(labels: [Label], value: Double) {
        self.labels = labels
        self.value = value
    }

    public var metricName: String { labels.first { $0.name == "__name__" }?.value ?? "" }
}

/// What remote_write sends of the agent's series: everything `/metrics` serves at one moment,
/// flattened as Prometheus stores a scrape. Histograms become `_bucket{le}`, `_sum` and
/// `_count`, summaries `{quantile}`, `_sum` and `_count`. External labels are added to every
/// series that has no label of that name.
public enum Snapshot {
    public static func flatten(_ families: [MetricFamily], externalLabels: [Label]) -> [SnapshotSample] {
        var out: [SnapshotSample] = []
        out.reserveCapacity(families.reduce(0) { $0 + $1.metrics.count })
        func add(_ name: String, _ labels: Labels, _ value: Double) {
            var pairs = labels.pairs
            pairs.append(Label(name: "__name__", value: name))
            for e in externalLabels where labels[e.name] == nil { pairs.append(e) }
            pairs.sort { $0.name < $1.name }
            out.append(SnapshotSample(labels: pairs, value: value))
        }
        for f in families {
            for m in f.metrics {
                switch m.value {
                case .single(let v):
                    add(f.name, m.labels, v)
                case .histogram(let h):
                    for b in h.buckets {
                        add(f.name + "_bucket", m.labels.setting("le", GoFloat.formatG(b.upperBound)), b.cumulativeCount)
                    }
                    add(f.name + "_sum", m.labels, h.sum)
                    add(f.name + "_count", m.labels, h.count)
                case .summary(let s):
                    for q in s.quantiles {
                        add(f.name, m.labels.setting("quantile", GoFloat.formatG(q.quantile)), q.value)
                    }
                    add(f.name + "_sum", m.labels, s.sum)
                    add(f.name + "_count", m.labels, s.count)
                }
            }
        }
        return out
    }
}
