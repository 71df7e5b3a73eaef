/// Adds a label to every series of scraped families, as Prometheus does with target labels
/// when `honor_labels` is false: a label of the same name that the target already exposed is
/// kept as `exported_<name>` (or `exported_exported_<name>`, ... until the name is free).
/// Histogram `le` and summary `quantile` are not labels of the model and are not affected.
///
/// `relabel(families, adding: ("target", "api"))` turns `up{target="x"}` into
/// `up{exported_target="x",target="api"}`.
public func relabel(_ families: [MetricFamily], adding label: (name: String, value: String)) -> [MetricFamily] {
    var out = families
    for fi in out.indices {
        for mi in out[fi].metrics.indices {
            var labels = out[fi].metrics[mi].labels
            // As in Prometheus, a label with an empty value is no label.
            if let existing = labels[label.name], !existing.isEmpty {
                var exported = "exported_" + label.name
                while let taken = labels[exported], !taken.isEmpty { exported = "exported_" + exported }
                labels.set(exported, existing)
            }
            labels.set(label.name, label.value)
            out[fi].metrics[mi].labels = labels
        }
    }
    return out
}
