import Series


/// The grammar of Prometheus text format 0.0.4, one line at a time.
extension ScrapeParser {
    mutating func textLine(_ p: UnsafeBufferPointer<UInt8>) throws(ScrapeError) {
        let n = p.count
        var i = 0
        while i < n && Self.isBlank(p[i]) { i += 1 }
        if i == n { return }
        if p[i] == UInt8(ascii: "#") {
            try textComment(p, from: i + 1)
            return
        }
        let nameStart = i
        guard Self.isNameStart(p[i]) else {
            throw error(.syntax, "invalid metric name at \(Self.excerpt(p, i..<n))")
        }
        i += 1
        while i < n && Self.isNameChar(p[i]) { i += 1 }
        let name = nameStart..<i
        if i < n && !Self.isBlank(p[i]) && p[i] != UInt8(ascii: "{") {
            throw error(.syntax, "invalid character in metric name \(Self.excerpt(p, nameStart..<(i + 1)))")
        }
        while i < n && Self.isBlank(p[i]) { i += 1 }
        spans.removeAll(keepingCapacity: true)
        if i < n && p[i] == UInt8(ascii: "{") {
            i = try textLabels(p, from: i + 1)
            while i < n && Self.isBlank(p[i]) { i += 1 }
        }
        guard i < n else { throw error(.syntax, "missing value after \(Self.excerpt(p, 0..<n))") }
        let valueStart = i
        while i < n && !Self.isBlank(p[i]) { i += 1 }
        guard let value = NumberParsing.parseFloat(p, valueStart..<i) else {
            throw error(.syntax, "expected float as value, got \(Self.excerpt(p, valueStart..<i))")
        }
        while i < n && Self.isBlank(p[i]) { i += 1 }
        var timestamp: Int64?
        if i < n {
            let tsStart = i
            while i < n && !Self.isBlank(p[i]) { i += 1 }
            guard let ts = NumberParsing.parseInt64(p, tsStart..<i) else {
                throw error(.syntax, "expected integer milliseconds as timestamp, got \(Self.excerpt(p, tsStart..<i))")
            }
            timestamp = ts
            while i < n && Self.isBlank(p[i]) { i += 1 }
            if i < n { throw error(.syntax, "unexpected text after timestamp: \(Self.excerpt(p, i..<n))") }
        }
        try checkLabelLimits(p)
        try addSample(p, name: name, value: value, timestamp: timestamp, exemplar: false)
    }

    /// Label pairs after `{`; returns the index after `}`. Blanks may surround every token,
    /// and a comma may follow the last pair.
    private mutating func textLabels(_ p: UnsafeBufferPointer<UInt8>, from start: Int) throws(ScrapeError) -> Int {
        let n = p.count
        var i = start
        while true {
            while i < n && Self.isBlank(p[i]) { i += 1 }
            guard i < n else { throw error(.syntax, "unterminated label set") }
            if p[i] == UInt8(ascii: "}") { return i + 1 }
            let nameStart = i
            guard Self.isLabelNameStart(p[i]) else {
                throw error(.syntax, "invalid label name at \(Self.excerpt(p, i..<n))")
            }
            i += 1
            while i < n && Self.isLabelNameChar(p[i]) { i += 1 }
            let name = nameStart..<i
            if Self.equals(p, name, "__name__") {
                throw error(.syntax, "label name \"__name__\" is reserved")
            }
            while i < n && Self.isBlank(p[i]) { i += 1 }
            guard i < n, p[i] == UInt8(ascii: "=") else {
                throw error(.syntax, "expected '=' after label name \(Self.excerpt(p, name))")
            }
            i += 1
            while i < n && Self.isBlank(p[i]) { i += 1 }
            guard i < n, p[i] == UInt8(ascii: "\"") else {
                throw error(.syntax, "expected '\"' at start of the value of label \(Self.excerpt(p, name))")
            }
            i += 1
            let valueStart = i
            var escapes = 0
            while true {
                guard i < n else { throw error(.syntax, "unterminated value of label \(Self.excerpt(p, name))") }
                let b = p[i]
                if b == UInt8(ascii: "\"") { break }
                if b == 0x5C {
                    guard i + 1 < n else { throw error(.syntax, "unterminated value of label \(Self.excerpt(p, name))") }
                    // Escapes the format does not define (`\t`) stay as written, as Prometheus keeps them.
                    let e = p[i + 1]
                    if e == 0x5C || e == 0x22 || e == UInt8(ascii: "n") { escapes += 1 }
                    i += 2
                    continue
                }
                i += 1
            }
            spans.append(LabelSpan(name: name, value: valueStart..<i, escapes: escapes))
            i += 1
            while i < n && Self.isBlank(p[i]) { i += 1 }
            guard i < n else { throw error(.syntax, "unterminated label set") }
            if p[i] == UInt8(ascii: ",") {
                i += 1
                continue
            }
            if p[i] == UInt8(ascii: "}") { return i + 1 }
            throw error(.syntax, "expected ',' or '}' after label value, got \(Self.excerpt(p, i..<n))")
        }
    }

    /// `# HELP name text`, `# TYPE name type`, or any other comment (ignored).
    private mutating func textComment(_ p: UnsafeBufferPointer<UInt8>, from start: Int) throws(ScrapeError) {
        let n = p.count
        var i = start
        while i < n && Self.isBlank(p[i]) { i += 1 }
        let keywordStart = i
        while i < n && !Self.isBlank(p[i]) { i += 1 }
        let keyword = keywordStart..<i
        let isHelp = Self.equals(p, keyword, "HELP")
        guard isHelp || Self.equals(p, keyword, "TYPE") else { return }
        while i < n && Self.isBlank(p[i]) { i += 1 }
        // A bare "# HELP" or "# TYPE" is a comment like any other.
        if i == n { return }
        let nameStart = i
        guard Self.isNameStart(p[i]) else {
            throw error(.syntax, "invalid metric name in \(isHelp ? "HELP" : "TYPE") line: \(Self.excerpt(p, i..<n))")
        }
        i += 1
        while i < n && Self.isNameChar(p[i]) { i += 1 }
        if i < n && !Self.isBlank(p[i]) {
            throw error(.syntax, "invalid metric name in \(isHelp ? "HELP" : "TYPE") line: \(Self.excerpt(p, nameStart..<n))")
        }
        let name = internName(p, nameStart..<i)
        while i < n && Self.isBlank(p[i]) { i += 1 }
        if isHelp {
            // No docstring: nothing to record (Prometheus' parsers ignore such a line).
            if i == n { return }
            // Escapes other than `\\` and `\n` stay as written, as Prometheus keeps them.
            scratch.removeAll(keepingCapacity: true)
            Self.unescape(p, i..<n, quotes: false, into: &scratch)
            let help = String(decoding: scratch, as: UTF8.self)
            setTextHelp(name, help)
            return
        }
        let typeStart = i
        while i < n && !Self.isBlank(p[i]) { i += 1 }
        let typeRange = typeStart..<i
        while i < n && Self.isBlank(p[i]) { i += 1 }
        if i < n { throw error(.syntax, "unexpected text after the type: \(Self.excerpt(p, i..<n))") }
        let type: MetricType
        if Self.equals(p, typeRange, "counter") {
            type = .counter
        } else if Self.equals(p, typeRange, "gauge") {
            type = .gauge
        } else if Self.equals(p, typeRange, "histogram") {
            type = .histogram
        } else if Self.equals(p, typeRange, "summary") {
            type = .summary
        } else if Self.equals(p, typeRange, "untyped") {
            type = .untyped
        } else {
            throw error(.syntax, "unknown metric type \(Self.excerpt(p, typeRange))")
        }
        setTextType(name, type)
    }
}
