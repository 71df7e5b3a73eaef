import Series
import Testing
@testable import Exposition

/// One row of a parser table: an input and what the parser must make of it.
struct ParserCase: Sendable, CustomTestStringConvertible {
    enum Expect: Sendable {
        /// Parses; the result described by `describe(_:)` equals the string.
        case families(String)
        /// Parses (the row is about acceptance, the values are checked elsewhere).
        case accepted
        /// Rejected for this reason on this line.
        case rejected(ScrapeError.Reason, line: Int)
    }

    let name: String
    let input: String
    let expect: Expect

    init(_ name: String, _ input: String, _ expect: Expect) {
        self.name = name
        self.input = input
        self.expect = expect
    }

    var testDescription: String { name }

    func check(_ format: ScrapeFormat) {
        let result: Result<[MetricFamily], ScrapeError>
        do throws(ScrapeError) {
            result = .success(try ScrapeParser.parse(Array(input.utf8), format: format))
        } catch {
            result = .failure(error)
        }
        switch (expect, result) {
        case (.families(let d), .success(let fams)):
            #expect(describe(fams) == d, "\(name)")
        case (.accepted, .success):
            break
        case (.rejected(let reason, let line), .failure(let e)):
            #expect(e.reason == reason && e.line == line, "\(name): got \(e.reason) at \(e.line): \(e.message)")
        case (_, .success(let fams)):
            Issue.record("\(name): expected a rejection, parsed:\n\(describe(fams))")
        case (_, .failure(let e)):
            Issue.record("\(name): expected success, got \(e.reason) \(e)")
        }
    }
}

/// A compact, exact description of parsed families for table expectations.
func describe(_ families: [MetricFamily]) -> String {
    func n(_ v: Double) -> String { ExpositionNumber.goString(v) }
    var lines: [String] = []
    for f in families {
        var head = "\(f.name) \(f.type.rawValue)"
        if !f.help.isEmpty { head += " help=\(f.help.debugDescription)" }
        if !f.unit.isEmpty { head += " unit=\(f.unit)" }
        lines.append(head)
        for m in f.metrics {
            var s = "  " + m.labels.description + " "
            switch m.value {
            case .single(let v): s += n(v)
            case .histogram(let h):
                s += "[" + h.buckets.map { "\(n($0.upperBound)):\(n($0.cumulativeCount))" }.joined(separator: " ")
                    + "] sum=\(n(h.sum)) count=\(n(h.count))"
            case .summary(let q):
                s += "[" + q.quantiles.map { "\(n($0.quantile)):\(n($0.value))" }.joined(separator: " ")
                    + "] sum=\(n(q.sum)) count=\(n(q.count))"
            }
            if let ts = m.timestampMilliseconds { s += " @\(ts)" }
            lines.append(s)
        }
    }
    return lines.joined(separator: "\n")
}
