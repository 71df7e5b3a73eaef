import LookoutCore
import Series

/// What one selector of an expression reads from the history, relative to the evaluation
/// time: known when the expression is parsed, so the history keeps exactly that.
public struct SelectorNeed: Sendable {
    public var matchers: [LabelMatcher]
    /// How far before the evaluation time the selector reads (its range, offsets, enclosing
    /// subqueries, and the lookback window of instant selectors); nil when a fixed `@` time
    /// makes it unbounded.
    public var lookbackMilliseconds: Int64?
    /// How long samples must be kept for it: 0 when the latest sample is all it can return.
    public var retentionMilliseconds: Int64?
    /// Where the selector is in the expression.
    public var range: PositionRange
}

extension Expr {
    /// Every selector of the expression with what it reads (`lookbackDelta`: how far an
    /// instant selector looks back, 5 m).
    public func selectorNeeds(lookbackDelta: Int64 = History.lookbackMilliseconds) -> [SelectorNeed] {
        var out: [SelectorNeed] = []
        collectNeeds(base: 0, lookbackDelta: lookbackDelta, into: &out)
        return out
    }

    /// The longest span of history the expression needs kept, and the selector that needs
    /// it: nil when no selector needs more than the latest sample; a nil duration is
    /// unbounded (a fixed `@` time).
    public func longestRetention(lookbackDelta: Int64 = History.lookbackMilliseconds) -> (milliseconds: Int64?, range: PositionRange)? {
        var best: (milliseconds: Int64?, range: PositionRange)?
        for n in selectorNeeds(lookbackDelta: lookbackDelta) {
            guard let need = n.retentionMilliseconds else { return (nil, n.range) }
            if need > 0 && need > (best?.milliseconds ?? 0) { best = (need, n.range) }
        }
        return best
    }

    /// `base`: how far before the query's time the current evaluation time can be (nil:
    /// unbounded); `start()`/`end()` reset it to 0, a fixed `@` to unbounded.
    private func collectNeeds(base: Int64?, lookbackDelta: Int64, into out: inout [SelectorNeed]) {
        func rebase(_ at: AtModifier?) -> Int64? {
            switch at {
            case .timestamp?: return nil
            case .start?, .end?: return 0
            case nil: return base
            }
        }
        switch self {
        case .vectorSelector(let vs):
            let reach = rebase(vs.at).map { max(0, $0 + vs.offsetMilliseconds) }
            out.append(
                SelectorNeed(
                    matchers: vs.matchers, lookbackMilliseconds: reach.map { $0 + lookbackDelta },
                    retentionMilliseconds: reach.map { $0 == 0 ? 0 : $0 + lookbackDelta }, range: vs.range))
        case .matrixSelector(let ms):
            let reach = rebase(ms.selector.at).map { max(0, $0 + ms.selector.offsetMilliseconds + ms.rangeMilliseconds) }
            out.append(
                SelectorNeed(matchers: ms.selector.matchers, lookbackMilliseconds: reach, retentionMilliseconds: reach, range: ms.range))
        case .subquery(let sq):
            let inner = rebase(sq.at).map { max(0, $0 + sq.offsetMilliseconds + sq.rangeMilliseconds) }
            sq.expr.collectNeeds(base: inner, lookbackDelta: lookbackDelta, into: &out)
        default:
            for c in children { c.collectNeeds(base: base, lookbackDelta: lookbackDelta, into: &out) }
        }
    }
}
