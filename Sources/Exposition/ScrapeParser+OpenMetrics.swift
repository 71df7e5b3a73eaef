import Series


/// The grammar of OpenMetrics 1.0.0, one line at a time: single spaces, no blank lines, no
/// comments other than HELP, TYPE, UNIT and EOF.
extension ScrapeParser {
    mutating func openMetricsLine(_ p: UnsafeBufferPointer<UInt8>) throws(ScrapeError) {
        let n = p.count
        guard n > 0 else { throw error(.syntax, "empty line") }
        if p[0] == UInt8(ascii: "#") {
            try openMetricsComment(p)
            return
        }
        guard Self.isNameStart(p[0]) else {
            throw error(.syntax, "invalid metric name at \(Self.excerpt(p, 0..<n))")
        }
        var i = 1
        while i < n && Self.isNameChar(p[i]) { i += 1 }
        let name = 0..<i
        spans.removeAll(keepingCapacity: true)
        if i < n && p[i] == UInt8(ascii: "{") {
            i = try Self.openMetricsLabels(p, from: i + 1, into: &spans, line: line)
        }
        guard i < n, p[i] == UInt8(ascii: " ") else {
            throw error(.syntax, "expected a space and a value after \(Self.excerpt(p, 0..<i))")
        }
        i += 1
        let valueStart = i
        while i < n && p[i] != UInt8(ascii: " ") { i += 1 }
        guard let value = NumberParsing.parseFloat(p, valueStart..<i) else {
            throw error(.syntax, "invalid value \(Self.excerpt(p, valueStart..<i))")
        }
        var timestamp: Int64?
        var exemplar = false
        if i < n {
            i += 1
            if i < n && p[i] == UInt8(ascii: "#") {
                try openMetricsExemplar(p, from: i)
                exemplar = true
            } else {
                let tsStart = i
                while i < n && p[i] != UInt8(ascii: " ") { i += 1 }
                guard let ts = NumberParsing.parseSecondsAsMilliseconds(p, tsStart..<i) else {
                    throw error(.syntax, "invalid timestamp \(Self.excerpt(p, tsStart..<i))")
                }
                timestamp = ts
                if i < n {
                    guard i + 1 < n, p[i + 1] == UInt8(ascii: "#") else {
                        throw error(.syntax, "unexpected text after timestamp: \(Self.excerpt(p, i..<n))")
                    }
                    try openMetricsExemplar(p, from: i + 1)
                    exemplar = true
                }
            }
        }
        try checkLabelLimits(p)
        try addSample(p, name: name, value: value, timestamp: timestamp, exemplar: exemplar)
    }

    /// Label pairs after `{` with no blanks and no trailing comma; returns the index after `}`.
    static func openMetricsLabels(
        _ p: UnsafeBufferPointer<UInt8>, from start: Int, into spans: inout [LabelSpan], line: Int
    ) throws(ScrapeError) -> Int {
        let n = p.count
        var i = start
        guard i < n else { throw ScrapeError(.syntax, line: line, "unterminated label set") }
        if p[i] == UInt8(ascii: "}") { return i + 1 }
        while true {
            let nameStart = i
            guard i < n, isLabelNameStart(p[i]) else {
                throw ScrapeError(.syntax, line: line, "invalid label name at \(excerpt(p, i..<n))")
            }
            i += 1
            while i < n && isLabelNameChar(p[i]) { i += 1 }
            let name = nameStart..<i
            if equals(p, name, "__name__") {
                throw ScrapeError(.syntax, line: line, "label name \"__name__\" is reserved")
            }
            guard i + 1 < n, p[i] == UInt8(ascii: "="), p[i + 1] == UInt8(ascii: "\"") else {
                throw ScrapeError(.syntax, line: line, "expected =\" after label name \(excerpt(p, name))")
            }
            i += 2
            let valueStart = i
            var escapes = 0
            while true {
                guard i < n else {
                    throw ScrapeError(.syntax, line: line, "unterminated value of label \(excerpt(p, name))")
                }
                let b = p[i]
                if b == UInt8(ascii: "\"") { break }
                if b == 0x5C {
                    guard i + 1 < n else {
                        throw ScrapeError(.syntax, line: line, "unterminated value of label \(excerpt(p, name))")
                    }
                    let e = p[i + 1]
                    // Other escapes stay as written, as the reference parser keeps them.
                    if e == 0x5C || e == 0x22 || e == UInt8(ascii: "n") { escapes += 1 }
                    i += 2
                    continue
                }
                i += 1
            }
            spans.append(LabelSpan(name: name, value: valueStart..<i, escapes: escapes))
            i += 1
            guard i < n else { throw ScrapeError(.syntax, line: line, "unterminated label set") }
            if p[i] == UInt8(ascii: "}") { return i + 1 }
            guard p[i] == UInt8(ascii: ",") else {
                throw ScrapeError(.syntax, line: line, "expected ',' or '}' after label value, got \(excerpt(p, i..<n))")
            }
            i += 1
        }
    }

    /// ` # {labels} value [timestamp]` at the end of a sample line; `start` is at `#`.
    private mutating func openMetricsExemplar(_ p: UnsafeBufferPointer<UInt8>, from start: Int) throws(ScrapeError) {
        let n = p.count
        guard start + 2 < n, p[start + 1] == UInt8(ascii: " "), p[start + 2] == UInt8(ascii: "{") else {
            throw error(.syntax, "invalid exemplar \(Self.excerpt(p, start..<n))")
        }
        exemplarSpans.removeAll(keepingCapacity: true)
        var i = try Self.openMetricsLabels(p, from: start + 3, into: &exemplarSpans, line: line)
        var runes = 0
        for s in exemplarSpans {
            for k in s.name { if p[k] & 0xC0 != 0x80 { runes += 1 } }
            for k in s.value { if p[k] & 0xC0 != 0x80 { runes += 1 } }
        }
        if runes > 128 { throw error(.syntax, "exemplar labels longer than 128 characters") }
        guard i < n, p[i] == UInt8(ascii: " ") else {
            throw error(.syntax, "expected a space and a value in exemplar \(Self.excerpt(p, start..<n))")
        }
        i += 1
        let valueStart = i
        while i < n && p[i] != UInt8(ascii: " ") { i += 1 }
        guard NumberParsing.parseFloat(p, valueStart..<i) != nil else {
            throw error(.syntax, "invalid exemplar value \(Self.excerpt(p, valueStart..<i))")
        }
        if i == n { return }
        i += 1
        let tsStart = i
        while i < n && p[i] != UInt8(ascii: " ") { i += 1 }
        guard i == n, NumberParsing.parseSecondsAsMilliseconds(p, tsStart..<n) != nil else {
            throw error(.syntax, "invalid exemplar timestamp \(Self.excerpt(p, tsStart..<n))")
        }
    }

    /// `# HELP name text`, `# TYPE name type`, `# UNIT name unit` or `# EOF`.
    private mutating func openMetricsComment(_ p: UnsafeBufferPointer<UInt8>) throws(ScrapeError) {
        let n = p.count
        guard n >= 2, p[1] == UInt8(ascii: " ") else {
            throw error(.syntax, "invalid comment \(Self.excerpt(p, 0..<n)): only # HELP, # TYPE, # UNIT and # EOF")
        }
        var i = 2
        while i < n && p[i] != UInt8(ascii: " ") { i += 1 }
        let keyword = 2..<i
        if Self.equals(p, keyword, "EOF") && i == n {
            sawEOF = true
            return
        }
        enum Kind { case help, type, unit }
        let kind: Kind
        if Self.equals(p, keyword, "HELP") {
            kind = .help
        } else if Self.equals(p, keyword, "TYPE") {
            kind = .type
        } else if Self.equals(p, keyword, "UNIT") {
            kind = .unit
        } else {
            throw error(.syntax, "invalid comment \(Self.excerpt(p, 0..<n)): only # HELP, # TYPE, # UNIT and # EOF")
        }
        guard i < n else { throw error(.syntax, "metric name missing after \(Self.excerpt(p, 0..<n))") }
        i += 1
        let nameStart = i
        guard i < n, Self.isNameStart(p[i]) else {
            throw error(.syntax, "invalid metric name in \(Self.excerpt(p, 0..<n))")
        }
        while i < n && Self.isNameChar(p[i]) { i += 1 }
        let nameRange = nameStart..<i
        guard i < n, p[i] == UInt8(ascii: " ") else {
            throw error(.syntax, "expected a space after the metric name in \(Self.excerpt(p, 0..<n))")
        }
        i += 1
        let rest = i..<n
        let name = internName(p, nameRange)
        switch kind {
        case .help:
            scratch.removeAll(keepingCapacity: true)
            Self.unescape(p, rest, quotes: true, into: &scratch)
            try setOpenMetricsMetadata(name, help: String(decoding: scratch, as: UTF8.self))
        case .type:
            let type: MetricType
            if Self.equals(p, rest, "counter") {
                type = .counter
            } else if Self.equals(p, rest, "gauge") {
                type = .gauge
            } else if Self.equals(p, rest, "histogram") {
                type = .histogram
            } else if Self.equals(p, rest, "gaugehistogram") {
                type = .gaugeHistogram
            } else if Self.equals(p, rest, "summary") {
                type = .summary
            } else if Self.equals(p, rest, "unknown") {
                type = .untyped
            } else if Self.equals(p, rest, "info") {
                type = .info
            } else if Self.equals(p, rest, "stateset") {
                type = .stateset
            } else {
                throw error(.syntax, "unknown metric type \(Self.excerpt(p, rest))")
            }
            try setOpenMetricsMetadata(name, type: type)
        case .unit:
            for k in rest where !Self.isNameChar(p[k]) {
                throw error(.syntax, "invalid unit \(Self.excerpt(p, rest))")
            }
            try setOpenMetricsMetadata(name, unit: String(decoding: UnsafeBufferPointer(rebasing: p[rest]), as: UTF8.self))
        }
    }
}
