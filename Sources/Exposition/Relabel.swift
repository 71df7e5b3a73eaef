/// Adds a label to every series of scraped families, as Prometheus does with target labels
/// when `honor_labels` is false: a label of the same name that the target already exposed is
/// kept as `exported_<name>` (or `exported_exported_<name>`, ... until the name is free).
///
/// `relabel(families, adding: ("target", "api"))` turns `up{target="x"}` into
/// `up{exported_target="x",target="api"}`.
public func relabel(_ families: [MetricFamily], adding label: (name: String, value: String)) -> [MetricFamily] {
    var out = families
    for fi in out.indices {
        for mi in out[fi].metrics.indices {
            var labels = out[fi].metrics[mi].labels
            if let existing = labels[label.name] {
                var exported = "exported_" + label.name
                while labels[exported] != nil { exported = "exported_" + exported }
                labels.set(exported, existing)
            }
            labels.set(label.name, label.value)
            out[fi].metrics[mi].labels = labels
        }
    }
    return out
}
