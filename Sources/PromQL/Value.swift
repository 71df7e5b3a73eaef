import GoFormat
import LookoutCore
import Series

/// One element of an instant vector.
public struct Sample: Sendable, Hashable {
    public var labels: Labels
    public var value: Double

    public init(labels: Labels, value: Double) {
        self.labels = labels
        self.value = value
    }

    public static func == (a: Sample, b: Sample) -> Bool {
        a.labels == b.labels && a.value.bitPattern == b.value.bitPattern
    }

    public func hash(into h: inout Hasher) {
        h.combine(labels)
        h.combine(value.bitPattern)
    }
}

/// The result of evaluating an expression.
public enum Value: Sendable {
    case scalar(Double)
    case vector([Sample])
    case string(String)
}

/// An evaluation failure, with Prometheus' wording where Prometheus has one.
public struct EvalError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Prometheus' staleness marker: a NaN with a particular payload, written when a series
/// disappears so that instant selectors stop returning it at once.
public enum StaleNaN {
    public static let bitPattern: UInt64 = 0x7ff0_0000_0000_0002
    public static let value = Double(bitPattern: bitPattern)

    @inline(__always)
    public static func isStale(_ v: Double) -> Bool { v.bitPattern == bitPattern }
}

extension Labels {
    /// Orders label sets the way Prometheus sorts series: pair by pair.
    static func compare(_ a: Labels, _ b: Labels) -> Int {
        let n = Swift.min(a.count, b.count)
        for i in 0..<n {
            let x = a[i], y = b[i]
            if x.name != y.name { return x.name < y.name ? -1 : 1 }
            if x.value != y.value { return x.value < y.value ? -1 : 1 }
        }
        return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
    }

    /// The set without `__name__`.
    public var droppingMetricName: Labels {
        for (i, l) in pairs.enumerated() {
            if l.name == "__name__" {
                var p = pairs
                p.remove(at: i)
                return Labels(sorted: p)
            }
            if l.name > "__name__" { break }
        }
        return self
    }

    /// Prometheus' `String()` of a label set, `{__name__="up", job="x"}`, as promtool prints it.
    public var promString: String {
        "{" + pairs.map { "\($0.name)=\(goQuoted($0.value))" }.joined(separator: ", ") + "}"
    }
}
