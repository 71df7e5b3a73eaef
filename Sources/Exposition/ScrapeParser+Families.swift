#if canImport(Glibc)
import Glibc
import Series
#endif

/// What a sample line is to its family.
enum SampleRole: UInt8 {
    /// The value of a counter (`_total`), gauge, unknown, info or stateset series.
    case value
    case bucket, sum, count, created
    /// A summary's `{quantile=...}` sample.
    case quantile
}

/// A family being assembled from the lines of a scrape.
struct FamilyBuilder {
    /// The name as the format writes it in HELP/TYPE (OpenMetrics: without `_total`/`_info`).
    var name: String
    var nameBytes: [UInt8]
    var type: MetricType = .untyped
    var typeDeclared = false
    var help: String?
    var unit: String?
    var unitLine = 0
    var line: Int
    var groups: [GroupBuilder] = []
    var groupIndex: [Labels: Int] = [:]
    var lastGroup = -1

    init(name: String, line: Int) {
        self.name = name
        self.nameBytes = Array(name.utf8)
        self.line = line
    }
}

/// One series, or for histograms and summaries the samples that share a label set.
struct GroupBuilder {
    var labels: Labels
    var line: Int
    var value: Double?
    var timestamp: Int64?
    var buckets: [HistogramValue.Bucket] = []
    var quantiles: [SummaryValue.Quantile] = []
    var sum: Double?
    var count: Double?
    var created = false
}

extension ScrapeParser {
    // MARK: metadata

    private mutating func textFamily(_ name: String) -> Int {
        if let fi = familyIndex[name] { return fi }
        families.append(FamilyBuilder(name: name, line: line))
        familyIndex[name] = families.count - 1
        return families.count - 1
    }

    /// Text 0.0.4 as Prometheus scrapes it: a second HELP line for a family is ignored (the
    /// first one stays).
    mutating func setTextHelp(_ name: String, _ help: String) {
        let fi = textFamily(name)
        if families[fi].help == nil { families[fi].help = help }
    }

    /// Text 0.0.4 as Prometheus scrapes it: a second TYPE line is ignored (the first one
    /// stays), and so is a TYPE line after samples it would retype, except that samples of
    /// the family's own name become the counter or gauge it declares late.
    mutating func setTextType(_ name: String, _ type: MetricType) {
        let fi = textFamily(name)
        if families[fi].typeDeclared { return }
        if !families[fi].groups.isEmpty {
            if type == .counter || type == .gauge || type == .untyped {
                families[fi].type = type
                families[fi].typeDeclared = true
            }
            return
        }
        if type == .histogram || type == .summary {
            for suffix in ["_bucket", "_sum", "_count"] {
                if let other = familyIndex[name + suffix], !families[other].groups.isEmpty { return }
            }
        }
        families[fi].type = type
        families[fi].typeDeclared = true
        lastFamily = -1
    }

    mutating func setOpenMetricsMetadata(_ name: String, help: String? = nil, type: MetricType? = nil, unit: String? = nil)
        throws(ScrapeError)
    {
        if current >= 0 && families[current].name == name {
            if !families[current].groups.isEmpty {
                throw error(.invalidMetadata, "metadata for \(name) after its samples")
            }
        } else {
            try closeCurrentFamily()
            try startOpenMetricsFamily(name)
        }
        if let help {
            if families[current].help != nil { throw error(.invalidMetadata, "second HELP line for \(name)") }
            families[current].help = help
        }
        if let type {
            if families[current].typeDeclared { throw error(.invalidMetadata, "second TYPE line for \(name)") }
            families[current].type = type
            families[current].typeDeclared = true
        }
        if let unit {
            if families[current].unit != nil { throw error(.invalidMetadata, "second UNIT line for \(name)") }
            families[current].unit = unit
            families[current].unitLine = line
        }
    }

    private mutating func startOpenMetricsFamily(_ name: String) throws(ScrapeError) {
        if familyIndex[name] != nil {
            throw error(.duplicateSeries, "family \(name) appears again after other families")
        }
        families.append(FamilyBuilder(name: name, line: line))
        current = families.count - 1
        familyIndex[name] = current
        lastFamily = -1
    }

    /// The sample names an OpenMetrics family owns; no two families may share one. A gauge
    /// histogram also owns `_sum` and `_count`: text 0.0.4 has no gauge histograms, so its
    /// text form (and Prometheus' protobuf) is a histogram with those names.
    private static func sampleNames(_ f: FamilyBuilder) -> [String] {
        let n = f.name
        switch f.type {
        case .counter: return [n + "_total", n + "_created"]
        case .gauge, .untyped, .stateset: return [n]
        case .info: return [n + "_info"]
        case .histogram: return [n + "_bucket", n + "_count", n + "_sum", n + "_created"]
        case .gaugeHistogram: return [n + "_bucket", n + "_gcount", n + "_gsum", n + "_count", n + "_sum"]
        case .summary: return [n, n + "_count", n + "_sum", n + "_created"]
        }
    }

    /// Ends the OpenMetrics family whose samples came last: its unit must fit, its sample
    /// names must not clash with an earlier family's.
    mutating func closeCurrentFamily() throws(ScrapeError) {
        guard current >= 0 else { return }
        let f = families[current]
        current = -1
        lastFamily = -1
        if let unit = f.unit, !unit.isEmpty {
            if f.type == .info || f.type == .stateset {
                throw ScrapeError(.invalidMetadata, line: f.unitLine, "\(f.type.rawValue) family \(f.name) cannot have a unit")
            }
            if !f.name.hasSuffix("_" + unit) {
                throw ScrapeError(.invalidMetadata, line: f.unitLine, "family name \(f.name) does not end with its unit _\(unit)")
            }
        }
        for s in Self.sampleNames(f) where !claimed.insert(s).inserted {
            throw ScrapeError(.invalidMetadata, line: f.line, "family \(f.name) clashes with an earlier family on the name \(s)")
        }
    }

    // MARK: samples

    @inline(__always)
    private func sameAsLastName(_ p: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Bool {
        guard lastFamily >= 0, lastName.count == r.count else { return false }
        return lastName.withUnsafeBufferPointer { memcmp($0.baseAddress!, p.baseAddress! + r.lowerBound, r.count) == 0 }
    }

    @inline(__always)
    private static func hasSuffix(_ p: UnsafeBufferPointer<UInt8>, _ r: Range<Int>, _ s: StaticString) -> Bool {
        let k = s.utf8CodeUnitCount
        return r.count > k && memcmp(p.baseAddress! + r.upperBound - k, s.utf8Start, k) == 0
    }

    /// Text 0.0.4: `_bucket`, `_sum`, `_count` join the histogram or summary of their base
    /// name; anything else joins the family of its own name, made untyped if it is new.
    private mutating func resolveText(_ p: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) throws(ScrapeError)
        -> (Int, SampleRole)
    {
        func base(_ suffix: StaticString, _ types: [MetricType]) -> Int? {
            guard Self.hasSuffix(p, r, suffix) else { return nil }
            let b = internName(p, r.lowerBound..<(r.upperBound - suffix.utf8CodeUnitCount))
            guard let fi = familyIndex[b], types.contains(families[fi].type) else { return nil }
            return fi
        }
        if let fi = base("_bucket", [.histogram]) { return (fi, .bucket) }
        if let fi = base("_sum", [.histogram, .summary]) { return (fi, .sum) }
        if let fi = base("_count", [.histogram, .summary]) { return (fi, .count) }
        let full = internName(p, r)
        let fi = textFamily(full)
        switch families[fi].type {
        case .summary: return (fi, .quantile)
        case .histogram, .gaugeHistogram:
            throw error(.syntax, "sample \(full) of histogram \(full) needs a _bucket, _sum or _count suffix")
        default: return (fi, .value)
        }
    }

    /// OpenMetrics: the sample belongs to the current family if its name is the family's
    /// name with a suffix the type allows; otherwise it starts a new family of type unknown.
    private mutating func resolveOpenMetrics(_ p: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) throws(ScrapeError)
        -> (Int, SampleRole)
    {
        if current >= 0 {
            let matched: SampleRole? = families[current].nameBytes.withUnsafeBufferPointer { nb in
                guard r.count >= nb.count, memcmp(p.baseAddress! + r.lowerBound, nb.baseAddress!, nb.count) == 0 else {
                    return nil
                }
                let rest = (r.lowerBound + nb.count)..<r.upperBound
                switch families[current].type {
                case .counter:
                    if Self.equals(p, rest, "_total") { return .value }
                    if Self.equals(p, rest, "_created") { return .created }
                case .gauge, .untyped, .stateset:
                    if rest.isEmpty { return .value }
                case .info:
                    if Self.equals(p, rest, "_info") { return .value }
                case .histogram:
                    if Self.equals(p, rest, "_bucket") { return .bucket }
                    if Self.equals(p, rest, "_count") { return .count }
                    if Self.equals(p, rest, "_sum") { return .sum }
                    if Self.equals(p, rest, "_created") { return .created }
                case .gaugeHistogram:
                    if Self.equals(p, rest, "_bucket") { return .bucket }
                    if Self.equals(p, rest, "_gcount") { return .count }
                    if Self.equals(p, rest, "_gsum") { return .sum }
                case .summary:
                    if rest.isEmpty { return .quantile }
                    if Self.equals(p, rest, "_count") { return .count }
                    if Self.equals(p, rest, "_sum") { return .sum }
                    if Self.equals(p, rest, "_created") { return .created }
                }
                return nil
            }
            if let matched { return (current, matched) }
            if families[current].nameBytes.elementsEqual(UnsafeBufferPointer(rebasing: p[r])) {
                let f = families[current]
                throw error(.syntax, "sample \(f.name) does not fit the \(f.type.rawValue) family \(f.name)")
            }
        }
        try closeCurrentFamily()
        try startOpenMetricsFamily(internName(p, r))
        return (current, .value)
    }

    /// Files the sample just lexed (labels in `spans`) into its family and series.
    mutating func addSample(
        _ p: UnsafeBufferPointer<UInt8>, name: Range<Int>, value: Double, timestamp: Int64?, exemplar: Bool
    ) throws(ScrapeError) {
        let fi: Int
        let role: SampleRole
        if sameAsLastName(p, name) {
            fi = lastFamily
            role = lastRole
        } else {
            (fi, role) = format == .text ? try resolveText(p, name) : try resolveOpenMetrics(p, name)
            lastName.removeAll(keepingCapacity: true)
            lastName.append(contentsOf: UnsafeBufferPointer(rebasing: p[name]))
            lastFamily = fi
            lastRole = role
        }
        let om = format == .openMetrics
        let type = families[fi].type

        // The label that tells the samples of one histogram or summary apart.
        var special: Double?
        var specialIndex = -1
        if role == .bucket || role == .quantile {
            let word: StaticString = role == .bucket ? "le" : "quantile"
            for (k, s) in spans.enumerated() where Self.equals(p, s.name, word) {
                if specialIndex >= 0 { throw error(.syntax, "duplicate label \(word)") }
                specialIndex = k
            }
            guard specialIndex >= 0 else {
                throw error(
                    .invalidHistogram,
                    role == .bucket
                        ? "histogram bucket \(Self.excerpt(p, name)) without le label"
                        : "summary sample \(Self.excerpt(p, name)) without quantile label")
            }
            let s = spans[specialIndex]
            var parsed: Double?
            if s.escapes == 0 {
                parsed = NumberParsing.parseFloat(p, s.value, canonicalSpecials: om)
            } else {
                scratch.removeAll(keepingCapacity: true)
                Self.unescape(p, s.value, quotes: true, into: &scratch)
                parsed = scratch.withUnsafeBufferPointer { NumberParsing.parseFloat($0, 0..<$0.count, canonicalSpecials: om) }
            }
            guard let v = parsed else {
                throw error(.syntax, "expected float as value of label \(word), got \(Self.excerpt(p, s.value))")
            }
            if om && role == .quantile && !(v >= 0 && v <= 1) {
                throw error(.invalidValue, "quantile \(Self.excerpt(p, s.value)) is not between 0 and 1")
            }
            special = v
        }

        // `le` and `quantile` tell the samples of a histogram or summary apart; on its other
        // samples they would make series that cannot be written back.
        if (type == .histogram || type == .gaugeHistogram) && role != .bucket || type == .summary && role != .quantile {
            let word: StaticString = type == .summary ? "quantile" : "le"
            if spans.contains(where: { Self.equals(p, $0.name, word) }) {
                throw error(.invalidHistogram, "label \(word) on \(Self.excerpt(p, name)), which is not a \(type == .summary ? "quantile" : "bucket")")
            }
        }

        if om {
            try checkOpenMetricsValue(value, role: role, type: type, family: fi, p: p, name: name, exemplar: exemplar)
        }

        let gi = try group(fi, p, skipping: specialIndex)

        switch role {
        case .value:
            if let _ = families[fi].groups[gi].value {
                // OpenMetrics allows further points of a series when their timestamps go on;
                // the model keeps the latest.
                if !om { return skipDuplicate() }
                guard let t0 = families[fi].groups[gi].timestamp, let t1 = timestamp, t1 >= t0 else {
                    throw error(.duplicateSeries, "duplicate series \(seriesText(fi, gi))")
                }
            }
            families[fi].groups[gi].value = value
            families[fi].groups[gi].timestamp = timestamp
        case .bucket:
            let le = special!
            if let last = families[fi].groups[gi].buckets.last, om, !(le > last.upperBound) {
                throw error(
                    .invalidHistogram,
                    le == last.upperBound
                        ? "duplicate bucket le=\(ExpositionNumber.goString(le)) of \(seriesText(fi, gi))"
                        : "buckets of \(seriesText(fi, gi)) not in increasing order of le")
            }
            if !om && families[fi].groups[gi].buckets.contains(where: { $0.upperBound == le }) { return skipDuplicate() }
            families[fi].groups[gi].buckets.append(.init(upperBound: le, cumulativeCount: value))
        case .quantile:
            let q = special!
            if families[fi].groups[gi].quantiles.contains(where: { $0.quantile == q }) {
                if !om { return skipDuplicate() }
                throw error(.duplicateSeries, "duplicate quantile \(ExpositionNumber.goString(q)) of \(seriesText(fi, gi))")
            }
            families[fi].groups[gi].quantiles.append(.init(quantile: q, value: value))
        case .sum:
            if families[fi].groups[gi].sum != nil {
                if !om { return skipDuplicate() }
                throw error(.duplicateSeries, "duplicate sum of \(seriesText(fi, gi))")
            }
            families[fi].groups[gi].sum = value
        case .count:
            if families[fi].groups[gi].count != nil {
                if !om { return skipDuplicate() }
                throw error(.duplicateSeries, "duplicate count of \(seriesText(fi, gi))")
            }
            families[fi].groups[gi].count = value
        case .created:
            if families[fi].groups[gi].created { throw error(.duplicateSeries, "duplicate _created of \(seriesText(fi, gi))") }
            families[fi].groups[gi].created = true
        }
        if role != .value, role != .created, let timestamp {
            families[fi].groups[gi].timestamp = timestamp
        }
        if role != .created {
            sampleCount += 1
            if limits.sampleLimit > 0 && sampleCount > limits.sampleLimit {
                throw error(.sampleLimit, "more than \(limits.sampleLimit) samples")
            }
        }
    }

    /// Text 0.0.4: a series given again is skipped and counted, as Prometheus appends the
    /// first sample and rejects the next as a duplicate without failing the scrape.
    private mutating func skipDuplicate() {
        duplicateSamples += 1
    }

    private func seriesText(_ fi: Int, _ gi: Int) -> String {
        let g = families[fi].groups[gi]
        return families[fi].name + (g.labels.isEmpty ? "" : g.labels.description)
    }

    /// The value rules of OpenMetrics: counters and histogram parts are counters (not NaN,
    /// not negative, whole counts), info is 1, stateset 0 or 1; exemplars only on counters
    /// and buckets.
    private func checkOpenMetricsValue(
        _ v: Double, role: SampleRole, type: MetricType, family fi: Int, p: UnsafeBufferPointer<UInt8>,
        name: Range<Int>, exemplar: Bool
    ) throws(ScrapeError) {
        // Only on the error path: quoting the name allocates.
        var sample: String { Self.excerpt(p, name) }
        if exemplar {
            let allowed = (type == .counter && role == .value)
                || ((type == .histogram || type == .gaugeHistogram) && role == .bucket)
            if !allowed { throw error(.syntax, "exemplar on \(sample): only counter totals and histogram buckets have one") }
        }
        func counterLike(_ whole: Bool) throws(ScrapeError) {
            if v.isNaN || v < 0 { throw error(.invalidValue, "\(sample) must not be negative or NaN") }
            if whole && v.isFinite && v != v.rounded(.towardZero) {
                throw error(.invalidValue, "\(sample) must be a whole number")
            }
        }
        switch (type, role) {
        case (_, .created): break
        case (.counter, .value): try counterLike(false)
        case (.histogram, .bucket), (.histogram, .count), (.gaugeHistogram, .bucket), (.gaugeHistogram, .count):
            try counterLike(true)
        case (.histogram, .sum): try counterLike(false)
        case (.gaugeHistogram, .sum):
            if v.isNaN { throw error(.invalidValue, "\(sample) must not be NaN") }
        case (.summary, .count): try counterLike(true)
        case (.summary, .sum): try counterLike(false)
        case (.summary, .quantile):
            if v < 0 { throw error(.invalidValue, "\(sample) must not be negative") }
        case (.info, .value):
            if v != 1 { throw error(.invalidValue, "info sample \(sample) must be 1") }
        case (.stateset, .value):
            if v != 0 && v != 1 { throw error(.invalidValue, "stateset sample \(sample) must be 0 or 1") }
            let familyName = families[fi].nameBytes
            let hasStateLabel = spans.contains { s in
                s.name.count == familyName.count
                    && familyName.withUnsafeBufferPointer { memcmp($0.baseAddress!, p.baseAddress! + s.name.lowerBound, s.name.count) == 0 }
            }
            if !hasStateLabel { throw error(.syntax, "stateset sample \(sample) without the label \(families[fi].name)") }
        default: break
        }
    }

    /// The series (group) of family `fi` the current line's labels (minus the one at
    /// `skip`) name, created when new. The same label set as the previous line is found
    /// without building strings.
    private mutating func group(_ fi: Int, _ p: UnsafeBufferPointer<UInt8>, skipping skip: Int) throws(ScrapeError)
        -> Int
    {
        let last = families[fi].lastGroup
        if last >= 0, matches(p, skipping: skip, families[fi].groups[last].labels) { return last }
        let labels = try makeLabels(p, skipping: skip)
        let newIndex = families[fi].groups.count
        let gi: Int = {
            if $0 < 0 { $0 = newIndex }
            return $0
        }(&families[fi].groupIndex[labels, default: -1])
        if gi == newIndex {
            families[fi].groups.append(GroupBuilder(labels: labels, line: line))
        } else if format == .openMetrics && gi != last {
            throw error(
                .duplicateSeries,
                "series \(families[fi].name)\(labels.isEmpty ? "" : labels.description) appears again after other series")
        }
        families[fi].lastGroup = gi
        return gi
    }

    private func matches(_ p: UnsafeBufferPointer<UInt8>, skipping skip: Int, _ labels: Labels) -> Bool {
        var j = 0
        for (k, s) in spans.enumerated() where k != skip {
            guard s.escapes == 0, j < labels.count else { return false }
            let l = labels[j]
            guard Self.same(l.name, p, s.name), Self.same(l.value, p, s.value) else { return false }
            j += 1
        }
        return j == labels.count
    }

    @inline(__always)
    private static func same(_ s: String, _ p: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Bool {
        s.utf8.withContiguousStorageIfAvailable { u in
            u.count == r.count && (r.isEmpty || memcmp(u.baseAddress!, p.baseAddress! + r.lowerBound, r.count) == 0)
        } ?? false
    }

    private mutating func makeLabels(_ p: UnsafeBufferPointer<UInt8>, skipping skip: Int) throws(ScrapeError) -> Labels {
        labelScratch.removeAll(keepingCapacity: true)
        var sorted = true
        for (k, s) in spans.enumerated() where k != skip {
            let l = Label(name: internName(p, s.name), value: labelValue(p, s))
            if let prev = labelScratch.last, !(prev.name < l.name) { sorted = false }
            labelScratch.append(l)
        }
        if !sorted {
            labelScratch.sort { $0.name < $1.name }
            for k in labelScratch.indices.dropFirst() where labelScratch[k].name == labelScratch[k - 1].name {
                throw error(.syntax, "duplicate label \(labelScratch[k].name)")
            }
        }
        return Labels(sorted: labelScratch)
    }

    // MARK: the result

    mutating func buildFamilies() throws(ScrapeError) -> [MetricFamily] {
        var out: [MetricFamily] = []
        out.reserveCapacity(families.count)
        let om = format == .openMetrics
        for f in families where !f.groups.isEmpty {
            var metrics: [Metric] = []
            metrics.reserveCapacity(f.groups.count)
            for g in f.groups {
                switch f.type {
                case .counter, .gauge, .untyped, .info, .stateset:
                    // An OpenMetrics counter may give only `_created` for a series.
                    guard let v = g.value else { continue }
                    metrics.append(Metric(labels: g.labels, value: .single(v), timestampMilliseconds: g.timestamp))
                case .histogram, .gaugeHistogram:
                    var h = try om ? openMetricsHistogram(f, g) : textHistogram(g)
                    h.sumMissing = g.sum == nil
                    h.countMissing = g.count == nil
                    metrics.append(Metric(labels: g.labels, value: .histogram(h), timestampMilliseconds: g.timestamp))
                case .summary:
                    var qs = g.quantiles
                    if !zip(qs, qs.dropFirst()).allSatisfy({ $0.quantile < $1.quantile }) { qs.sort { $0.quantile < $1.quantile } }
                    var s = SummaryValue(quantiles: qs, sum: g.sum ?? 0, count: g.count ?? 0)
                    s.sumMissing = g.sum == nil
                    s.countMissing = g.count == nil
                    metrics.append(Metric(labels: g.labels, value: .summary(s), timestampMilliseconds: g.timestamp))
                }
            }
            if metrics.isEmpty { continue }
            var name = f.name
            if om && f.type == .counter { name += "_total" }
            if om && f.type == .info { name += "_info" }
            out.append(MetricFamily(name: name, help: f.help ?? "", type: f.type, unit: f.unit ?? "", metrics: metrics))
        }
        return out
    }

    /// Text 0.0.4 is lenient: buckets in any order, `+Inf`, `_sum` and `_count` optional.
    private func textHistogram(_ g: GroupBuilder) throws(ScrapeError) -> HistogramValue {
        var buckets = g.buckets
        if !zip(buckets, buckets.dropFirst()).allSatisfy({ $0.upperBound < $1.upperBound }) {
            buckets.sort { $0.upperBound < $1.upperBound }
        }
        if buckets.last?.upperBound != .infinity {
            buckets.append(.init(upperBound: .infinity, cumulativeCount: g.count ?? buckets.last?.cumulativeCount ?? 0))
        }
        return HistogramValue(buckets: buckets, sum: g.sum ?? 0, count: g.count ?? buckets[buckets.count - 1].cumulativeCount)
    }

    /// OpenMetrics: buckets ending in `+Inf`, cumulative; sum and count together and the
    /// count equal to the `+Inf` bucket; no sum when a bucket is negative (gauge
    /// histograms: a negative sum only then).
    private func openMetricsHistogram(_ f: FamilyBuilder, _ g: GroupBuilder) throws(ScrapeError) -> HistogramValue {
        let series = f.name + (g.labels.isEmpty ? "" : g.labels.description)
        func fail(_ m: String) -> ScrapeError { ScrapeError(.invalidHistogram, line: g.line, "histogram \(series): \(m)") }
        guard let inf = g.buckets.last, inf.upperBound == .infinity else { throw fail("no +Inf bucket") }
        for (a, b) in zip(g.buckets, g.buckets.dropFirst()) where b.cumulativeCount < a.cumulativeCount {
            throw fail("bucket counts are not cumulative")
        }
        let negative = g.buckets[0].upperBound < 0
        let gauge = f.type == .gaugeHistogram
        if (g.sum == nil) != (g.count == nil) {
            throw fail(gauge ? "_gsum and _gcount must come together" : "_sum and _count must come together")
        }
        if let c = g.count, c != inf.cumulativeCount { throw fail("count differs from the +Inf bucket") }
        if let s = g.sum {
            if gauge {
                if s < 0 && !negative { throw fail("negative _gsum without negative buckets") }
            } else if negative {
                throw fail("a histogram with negative buckets must not have a _sum")
            }
        }
        return HistogramValue(buckets: g.buckets, sum: g.sum ?? 0, count: g.count ?? inf.cumulativeCount)
    }
}
