import PromQL
import Series

/// The metric names loaded rules can read, as a filter of the registry's families: what
/// the engine gathers each round instead of the whole exposition.
///
/// Built from every selector of every rule's expression and of its templates' literal
/// `query` strings. A selector names its series by `__name__="x"` or by a regex of
/// alternatives (`__name__=~"x|y"`); one that names none exactly (another regex, `!=`,
/// `!~`, or no name at all: `{job="x"}`) can read any family, and so can a template that
/// gives `query` anything but a literal. Either makes the filter take every family.
enum RuleNameIndex {
    static func filter(_ groups: [RuleGroupDefinition]) -> FamilyNameFilter {
        var names: [String] = []
        for g in groups {
            for r in g.rules {
                let templates = r.labels.map(\.template) + r.annotations.map(\.template)
                if templates.contains(where: \.hasNonLiteralQuery) { return .all }
                for e in r.expressions {
                    for need in e.selectorNeeds() {
                        guard let exact = exactNames(need.matchers) else { return .all }
                        names += exact
                    }
                }
            }
        }
        return FamilyNameFilter(names: names)
    }

    /// The names a selector's matchers allow, when they are a known few; nil otherwise.
    static func exactNames(_ matchers: [LabelMatcher]) -> [String]? {
        if let m = matchers.first(where: { $0.name == "__name__" && $0.op == .equal }) { return [m.value] }
        for m in matchers where m.name == "__name__" && m.op == .regexMatch {
            if let set = m.regex?.literalSet { return Array(set) }
        }
        return nil
    }
}
