#if canImport(Glibc)
import Glibc
import Series
#endif

/// The parser for scraped bodies: Prometheus text 0.0.4 and OpenMetrics 1.0.0, into the
/// series model. A pure function of the bytes and the limits.
///
/// It is fed the body in chunks as they arrive (`feed`), holding only the tail of an
/// unfinished line, and gives the families at the end (`finish`). Any error rejects the
/// whole scrape, with a reason and the line; after one, every call throws it again.
///
/// Text 0.0.4 accepts what Prometheus 2.42 scrapes: blanks around tokens and a trailing
/// comma in label sets are allowed; a second HELP or TYPE line is ignored, and so is a TYPE
/// line after the samples it would retype (samples of the family's own name take a late
/// counter or gauge type); a sample with no TYPE line is its own untyped family;
/// `_sum`/`_count`/`_bucket` join the histogram or summary declared for their base name;
/// label-value escapes are `\\`, `\"`, `\n` and HELP's `\\` and `\n`, others stay as written;
/// a series given again is skipped (the first sample stays) and counted in
/// `duplicateSamples`; the last line may lack its newline. OpenMetrics follows the specification and its
/// test suite: single spaces, metadata before samples, families and metric points not
/// interleaved, `# EOF` last, value rules per type (counters not negative, buckets
/// cumulative, ...). Exemplars are checked and dropped; `_created` samples are dropped.
/// Metric and label names are the classic ones (`[a-zA-Z_:][a-zA-Z0-9_:]*`).
///
/// Into the model: OpenMetrics counters are named with `_total` and info families with
/// `_info` (the names their samples carry); a histogram or summary without `_sum` or
/// `_count` is marked so (`sumMissing`, `countMissing`) and re-exposed as it came (its sum
/// reads 0 and its count the `+Inf` bucket's; text: a missing `+Inf` bucket is added from
/// `_count`); of an OpenMetrics series given several times with rising
/// timestamps the last point is kept. Families are in the order they first appear; a
/// family with no samples is left out.
///
/// ```swift
/// var parser = ScrapeParser(contentType: response.contentType, limits: ScrapeLimits(sampleLimit: 50_000))
/// for chunk in body { try parser.feed(chunk) }
/// let families = relabel(try parser.finish(), adding: ("target", "api"))
/// ```
public struct ScrapeParser: Sendable {
    public let format: ScrapeFormat
    public let limits: ScrapeLimits

    var pending: [UInt8] = []
    var line = 0
    var bytesSeen = 0
    var failure: ScrapeError?
    var sawEOF = false

    // Scratch space reused from line to line.
    var spans: [LabelSpan] = []
    var exemplarSpans: [LabelSpan] = []
    var scratch: [UInt8] = []
    var labelScratch: [Label] = []

    var names = StringInterner()
    var values = StringInterner(capacity: 4096)

    var families: [FamilyBuilder] = []
    var familyIndex: [String: Int] = [:]
    /// OpenMetrics: the family whose samples may come next, and every sample name of the
    /// families already closed.
    var current = -1
    var claimed: Set<String> = []
    var sampleCount = 0
    /// Text 0.0.4: samples of a series already given, skipped (Prometheus keeps the first).
    public internal(set) var duplicateSamples = 0

    // The last sample name and where it went: consecutive lines nearly always share it.
    var lastName: [UInt8] = []
    var lastFamily = -1
    var lastRole = SampleRole.value

    public init(format: ScrapeFormat, limits: ScrapeLimits = .none) {
        self.format = format
        self.limits = limits
        spans.reserveCapacity(16)
        scratch.reserveCapacity(256)
    }

    public init(contentType: String?, limits: ScrapeLimits = .none) {
        self.init(format: ScrapeFormat(contentType: contentType), limits: limits)
    }

    /// Parses a whole body.
    public static func parse(_ body: [UInt8], contentType: String?, limits: ScrapeLimits = .none) throws(ScrapeError)
        -> [MetricFamily]
    {
        try parse(body, format: ScrapeFormat(contentType: contentType), limits: limits)
    }

    public static func parse(_ body: [UInt8], format: ScrapeFormat, limits: ScrapeLimits = .none) throws(ScrapeError)
        -> [MetricFamily]
    {
        var p = ScrapeParser(format: format, limits: limits)
        try p.feed(body)
        return try p.finish()
    }

    public static func parse(_ body: String, format: ScrapeFormat, limits: ScrapeLimits = .none) throws(ScrapeError)
        -> [MetricFamily]
    {
        try parse(Array(body.utf8), format: format, limits: limits)
    }

    /// Feeds the next piece of the body.
    public mutating func feed(_ chunk: UnsafeRawBufferPointer) throws(ScrapeError) {
        if let failure { throw failure }
        guard let base = chunk.baseAddress, chunk.count > 0 else { return }
        let p = UnsafeBufferPointer(start: base.assumingMemoryBound(to: UInt8.self), count: chunk.count)
        do throws(ScrapeError) {
            try consume(p)
        } catch {
            failure = error
            throw error
        }
    }

    public mutating func feed(_ chunk: [UInt8]) throws(ScrapeError) {
        var failed: ScrapeError?
        chunk.withUnsafeBytes { b in
            do throws(ScrapeError) { try feed(b) } catch { failed = error }
        }
        if let failed { throw failed }
    }

    /// Ends the body: parses a last line without newline, checks what can only be checked
    /// at the end, and returns the families in the order they first appeared.
    public mutating func finish() throws(ScrapeError) -> [MetricFamily] {
        if let failure { throw failure }
        do throws(ScrapeError) {
            if !pending.isEmpty {
                let last = pending
                pending = []
                var failed: ScrapeError?
                last.withUnsafeBufferPointer { b in
                    do throws(ScrapeError) { try processLine(b, newline: false) } catch { failed = error }
                }
                if let failed { throw failed }
            }
            if format == .openMetrics {
                if !sawEOF { throw ScrapeError(.missingEOF, line: line, "OpenMetrics exposition does not end with # EOF") }
                try closeCurrentFamily()
            }
            return try buildFamilies()
        } catch {
            failure = error
            throw error
        }
    }

    private mutating func consume(_ p: UnsafeBufferPointer<UInt8>) throws(ScrapeError) {
        bytesSeen += p.count
        if limits.bodySizeLimit > 0 && bytesSeen > limits.bodySizeLimit {
            throw ScrapeError(.bodySizeLimit, line: 0, "body larger than \(limits.bodySizeLimit) bytes")
        }
        let base = p.baseAddress!
        var start = 0
        if !pending.isEmpty {
            guard let nl = memchr(base, 0x0A, p.count) else {
                pending.append(contentsOf: p)
                return
            }
            let end = UnsafeRawPointer(nl) - UnsafeRawPointer(base)
            pending.append(contentsOf: UnsafeBufferPointer(rebasing: p[0..<end]))
            var whole = pending
            pending = []
            var failed: ScrapeError?
            whole.withUnsafeBufferPointer { b in
                do throws(ScrapeError) { try processLine(b, newline: true) } catch { failed = error }
            }
            if let failed { throw failed }
            whole.removeAll(keepingCapacity: true)
            pending = whole
            start = end + 1
        }
        while start < p.count {
            guard let nl = memchr(base + start, 0x0A, p.count - start) else {
                pending.append(contentsOf: UnsafeBufferPointer(rebasing: p[start..<p.count]))
                return
            }
            let end = UnsafeRawPointer(nl) - UnsafeRawPointer(base)
            try processLine(UnsafeBufferPointer(rebasing: p[start..<end]), newline: true)
            start = end + 1
        }
    }

    private mutating func processLine(_ p: UnsafeBufferPointer<UInt8>, newline: Bool) throws(ScrapeError) {
        line += 1
        if sawEOF { throw ScrapeError(.contentAfterEOF, line: line, "content after # EOF") }
        guard UTF8Check.isValid(p) else { throw ScrapeError(.invalidUTF8, line: line, "invalid UTF-8") }
        switch format {
        case .text: try textLine(p)
        case .openMetrics: try openMetricsLine(p)
        }
    }

    // MARK: helpers shared by both grammars

    func error(_ reason: ScrapeError.Reason, _ message: String) -> ScrapeError {
        ScrapeError(reason, line: line, message)
    }

    /// A short, quoted excerpt of the input for error messages.
    static func excerpt(_ p: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> String {
        let r = range.clamped(to: 0..<p.count)
        let cut = r.count > 48
        let shown = String(decoding: UnsafeBufferPointer(rebasing: p[r.lowerBound..<(cut ? r.lowerBound + 48 : r.upperBound)]), as: UTF8.self)
        return (shown + (cut ? "..." : "")).debugDescription
    }

    @inline(__always) static func isBlank(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 }

    @inline(__always) static func isNameStart(_ b: UInt8) -> Bool {
        let l = b | 0x20
        return (l >= 0x61 && l <= 0x7A) || b == 0x5F || b == 0x3A
    }

    @inline(__always) static func isNameChar(_ b: UInt8) -> Bool {
        isNameStart(b) || (b >= 0x30 && b <= 0x39)
    }

    @inline(__always) static func isLabelNameStart(_ b: UInt8) -> Bool {
        let l = b | 0x20
        return (l >= 0x61 && l <= 0x7A) || b == 0x5F
    }

    @inline(__always) static func isLabelNameChar(_ b: UInt8) -> Bool {
        isLabelNameStart(b) || (b >= 0x30 && b <= 0x39)
    }

    static func equals(_ p: UnsafeBufferPointer<UInt8>, _ r: Range<Int>, _ word: StaticString) -> Bool {
        guard r.count == word.utf8CodeUnitCount else { return false }
        return memcmp(p.baseAddress! + r.lowerBound, word.utf8Start, r.count) == 0
    }

    mutating func internName(_ p: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> String {
        names.intern(UnsafeBufferPointer(rebasing: p[r]))
    }

    /// The value of a label span, unescaped when it has escapes.
    mutating func labelValue(_ p: UnsafeBufferPointer<UInt8>, _ s: LabelSpan) -> String {
        if s.escapes == 0 {
            let b = UnsafeBufferPointer(rebasing: p[s.value])
            return b.count <= 128 ? values.intern(b) : String(decoding: b, as: UTF8.self)
        }
        scratch.removeAll(keepingCapacity: true)
        Self.unescape(p, s.value, quotes: true, into: &scratch)
        return scratch.withUnsafeBufferPointer { values.intern($0) }
    }

    /// Resolves the escapes both formats share (`\\`, `\n`, and `\"` where allowed); other
    /// backslashes stay as they are (the lexers have already rejected them where the format
    /// forbids them).
    static func unescape(_ p: UnsafeBufferPointer<UInt8>, _ r: Range<Int>, quotes: Bool, into out: inout [UInt8]) {
        var i = r.lowerBound
        while i < r.upperBound {
            let b = p[i]
            if b == 0x5C, i + 1 < r.upperBound {
                let n = p[i + 1]
                if n == 0x5C {
                    out.append(0x5C)
                    i += 2
                    continue
                }
                if n == UInt8(ascii: "n") {
                    out.append(0x0A)
                    i += 2
                    continue
                }
                if quotes && n == 0x22 {
                    out.append(0x22)
                    i += 2
                    continue
                }
            }
            out.append(b)
            i += 1
        }
    }

    /// Checks the labels of the sample line just lexed against the limits.
    mutating func checkLabelLimits(_ p: UnsafeBufferPointer<UInt8>) throws(ScrapeError) {
        if limits.labelLimit > 0 && spans.count > limits.labelLimit {
            throw error(.labelLimit, "\(spans.count) labels, more than the limit of \(limits.labelLimit)")
        }
        if limits.labelNameLengthLimit > 0 || limits.labelValueLengthLimit > 0 {
            for s in spans {
                if limits.labelNameLengthLimit > 0 && s.name.count > limits.labelNameLengthLimit {
                    throw error(
                        .labelNameLength,
                        "label name \(Self.excerpt(p, s.name)) longer than \(limits.labelNameLengthLimit) bytes")
                }
                if limits.labelValueLengthLimit > 0 && s.value.count - s.escapes > limits.labelValueLengthLimit {
                    throw error(
                        .labelValueLength,
                        "value of label \(Self.excerpt(p, s.name)) longer than \(limits.labelValueLengthLimit) bytes")
                }
            }
        }
    }
}

/// Where a label's name and (still escaped) value are in the line.
struct LabelSpan {
    var name: Range<Int>
    var value: Range<Int>
    /// Escape sequences in the value that unescaping shortens to one byte.
    var escapes: Int
}

/// UTF-8 validation, fast for the ASCII that expositions nearly always are.
enum UTF8Check {
    static func isValid(_ p: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = p.baseAddress else { return true }
        let n = p.count
        var i = 0
        while i + 8 <= n {
            let w = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
            if w & 0x8080_8080_8080_8080 != 0 { break }
            i += 8
        }
        while i < n && p[i] < 0x80 { i += 1 }
        if i == n { return true }
        return validate(p, from: i)
    }

    private static func validate(_ p: UnsafeBufferPointer<UInt8>, from start: Int) -> Bool {
        var i = start
        let n = p.count
        @inline(__always) func cont(_ k: Int, _ lo: UInt8 = 0x80, _ hi: UInt8 = 0xBF) -> Bool {
            k < n && p[k] >= lo && p[k] <= hi
        }
        while i < n {
            let b = p[i]
            if b < 0x80 {
                i += 1
            } else if b >= 0xC2 && b <= 0xDF {
                guard cont(i + 1) else { return false }
                i += 2
            } else if b == 0xE0 {
                guard cont(i + 1, 0xA0), cont(i + 2) else { return false }
                i += 3
            } else if (b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF {
                guard cont(i + 1), cont(i + 2) else { return false }
                i += 3
            } else if b == 0xED {
                guard cont(i + 1, 0x80, 0x9F), cont(i + 2) else { return false }
                i += 3
            } else if b == 0xF0 {
                guard cont(i + 1, 0x90), cont(i + 2), cont(i + 3) else { return false }
                i += 4
            } else if b >= 0xF1 && b <= 0xF3 {
                guard cont(i + 1), cont(i + 2), cont(i + 3) else { return false }
                i += 4
            } else if b == 0xF4 {
                guard cont(i + 1, 0x80, 0x8F), cont(i + 2), cont(i + 3) else { return false }
                i += 4
            } else {
                return false
            }
        }
        return true
    }
}
