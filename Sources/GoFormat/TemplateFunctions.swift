import LookoutCore

/// Go's template builtins and Prometheus' template functions (those of Prometheus 2.42), with
/// their errors: arguments of the wrong number or type, and the functions' own failures
/// (reported as `error calling NAME: ...`).
enum TemplateFunctions {
    enum Failure: Error {
        /// The function failed: `error calling NAME: message`.
        case call(String)
        /// Arguments the function cannot take: the message as it is.
        case plain(String)
        /// The expansion ran out of its budget.
        case limit(GoTemplate.Error)
    }

    static func call(
        _ name: String, _ args: [GoValue], _ data: GoTemplate.Data, spend: (Int) throws(Failure) -> Void
    ) throws(Failure) -> GoValue {
        func want(_ n: Int) throws(Failure) {
            guard args.count == n else { throw .plain("wrong number of args for \(name): want \(n) got \(args.count)") }
        }
        func wrongType(_ v: GoValue, _ expected: String) -> Failure {
            .plain("wrong type for value; expected \(expected); got \(v.goType)")
        }
        func string(_ k: Int) throws(Failure) -> String {
            guard case .string(let s) = args[k] else { throw wrongType(args[k], "string") }
            return s
        }
        func sample(_ k: Int) throws(Failure) -> TemplateSample {
            guard case .sample(let s) = args[k] else { throw wrongType(args[k], "*template.sample") }
            return s
        }
        func samples(_ k: Int) throws(Failure) -> [TemplateSample] {
            guard case .samples(let s) = args[k] else { throw wrongType(args[k], "template.queryResult") }
            return s
        }
        func float() throws(Failure) -> Double {
            try want(1)
            return try toFloat(args[0])
        }

        switch name {
        case "eq", "ne", "lt", "le", "gt", "ge":
            return .bool(try compare(name, args))
        case "not":
            try want(1)
            return .bool(!args[0].isTrue)
        case "len":
            try want(1)
            switch args[0] {
            case .string(let s): return .int(Int64(s.utf8.count))
            case .map(let m): return .int(Int64(m.count))
            case .samples(let l): return .int(Int64(l.count))
            case .args(let m): return .int(Int64(m.count))
            default: throw .call("len of type \(args[0].goType)")
            }
        case "index":
            guard !args.isEmpty else { throw .plain("wrong number of args for index: want at least 1 got 0") }
            return try index(args[0], args.dropFirst())
        case "print":
            var out = ""
            for (k, a) in args.enumerated() {
                if k > 0, !a.isString, !args[k - 1].isString { out += " " }
                out += a.printed()
            }
            return .string(out)
        case "println":
            return .string(args.map { $0.printed() }.joined(separator: " ") + "\n")
        case "printf":
            guard !args.isEmpty else { throw .plain("wrong number of args for printf: want at least 1 got 0") }
            return .string(GoPrintf.format(try string(0), Array(args.dropFirst())))
        case "humanize": return .string(Humanize.humanize(try float()))
        case "humanize1024": return .string(Humanize.humanize1024(try float()))
        case "humanizeDuration": return .string(Humanize.duration(try float()))
        case "humanizePercentage": return .string(Humanize.percentage(try float()))
        case "humanizeTimestamp":
            let v = try float()
            if v.isNaN || v.isInfinite { return .string(GoFloat.formatG(v, precision: 4)) }
            return .string(GoTime.format(milliseconds: try milliseconds(v)))
        case "toTime":
            let v = try float()
            if v.isNaN || v.isInfinite { throw .call("value is NaN or Inf") }
            return .time(try milliseconds(v))
        case "parseDuration":
            try want(1)
            let s = try string(0)
            do {
                return .float(Double(try PromDuration.parseMilliseconds(s)) / 1000)
            } catch {
                throw .call("not a valid duration string: \(goQuoted(s))")
            }
        case "title":
            try want(1)
            return .string(GoStrings.title(try string(0)))
        case "toUpper":
            try want(1)
            return .string(GoStrings.map(try string(0)) { $0.properties.uppercaseMapping })
        case "toLower":
            try want(1)
            return .string(GoStrings.map(try string(0)) { $0.properties.lowercaseMapping })
        case "match":
            try want(2)
            try spend(GoTemplateCost.regex)
            let (pattern, text) = (try string(0), try string(1))
            do {
                return .bool(try GoRegexp(pattern).matches(text))
            } catch {
                throw .call(error.description)
            }
        case "reReplaceAll":
            try want(3)
            try spend(GoTemplateCost.regex)
            let (pattern, replacement, text) = (try string(0), try string(1), try string(2))
            do {
                return .string(try GoRegexp(pattern).replaceAll(in: text, with: replacement))
            } catch {
                throw .call("regexp: Compile(`\(pattern)`): \(error.description)")
            }
        case "safeHtml":
            try want(1)
            return .string(try string(0))
        case "args":
            var m: [String: GoValue] = [:]
            for (k, a) in args.enumerated() { m["arg\(k)"] = a }
            return .args(m)
        case "query":
            try want(1)
            let q = try string(0)
            guard let query = data.query else { throw .call("queries are not available here") }
            try spend(GoTemplateCost.query)
            let result: [TemplateSample]
            do throws(GoTemplate.QueryError) {
                result = try query(q)
            } catch {
                throw .call(error.message)
            }
            try spend(result.count)
            return .samples(result)
        case "first":
            try want(1)
            guard let s = try samples(0).first else { throw .call("first() called on vector with no elements") }
            return .sample(s)
        case "label":
            try want(2)
            let l = try string(0)
            return .string(try sample(1).labels[l] ?? "")
        case "value":
            try want(1)
            return .float(try sample(0).value)
        case "strvalue":
            try want(1)
            return .string(try sample(0).labels["__value__"] ?? "")
        case "sortByLabel":
            try want(2)
            let l = try string(0)
            var list = try samples(1)
            try spend(list.count)
            // Stable, as Go's sort.Stable.
            list = list.enumerated().sorted {
                let a = $0.element.labels[l] ?? "", b = $1.element.labels[l] ?? ""
                return a != b ? a.utf8.lexicographicallyPrecedes(b.utf8) : $0.offset < $1.offset
            }.map(\.element)
            return .samples(list)
        case "externalURL":
            try want(0)
            return .string(data.externalURL)
        case "pathPrefix":
            // lookout serves under no route prefix.
            try want(0)
            return .string("")
        case "graphLink", "tableLink":
            try want(1)
            return .string("/graph?g0.expr=\(GoURL.queryEscape(try string(0)))&g0.tab=\(name == "graphLink" ? 0 : 1)")
        case "stripPort":
            try want(1)
            let s = try string(0)
            return .string(GoNet.splitHostPort(s)?.host ?? s)
        case "stripDomain":
            try want(1)
            let s = try string(0)
            let (host, port) = GoNet.splitHostPort(s) ?? (s, "")
            if GoNet.isIP(host) { return .string(s) }
            let short = String(host.split(separator: ".", omittingEmptySubsequences: false).first ?? "")
            if port.isEmpty { return .string(short) }
            return .string(GoNet.joinHostPort(short, port))
        default:
            throw .plain("function \"\(name)\" not defined")
        }
    }

    /// Prometheus' `convertToFloat`: floats, ints and numeric strings.
    static func toFloat(_ v: GoValue) throws(Failure) -> Double {
        switch v {
        case .float(let f): return f
        case .int(let i): return Double(i)
        case .string(let s):
            guard let f = GoFloat.parse(s) else { throw .call("strconv.ParseFloat: parsing \(goQuoted(s)): invalid syntax") }
            return f
        default: throw .call("can't convert \(v.goType) to float")
        }
    }

    /// Seconds as Prometheus' templates turn them into a time: whole milliseconds.
    static func milliseconds(_ seconds: Double) throws(Failure) -> Int64 {
        let ns = seconds * 1e9
        guard ns < 9.223372036854775807e18, ns >= -9.223372036854775808e18 else {
            throw .call("\(GoFloat.formatG(seconds)) cannot be represented as a nanoseconds timestamp since it overflows int64")
        }
        return Int64(ns) / 1_000_000
    }

    /// Go's `eq`, `ne`, `lt`, `le`, `gt`, `ge` over basic values.
    static func compare(_ name: String, _ args: [GoValue]) throws(Failure) -> Bool {
        enum Basic { case bool(Bool), int(Int64), float(Double), string(String) }
        func basic(_ v: GoValue) throws(Failure) -> Basic {
            switch v {
            case .bool(let b): return .bool(b)
            case .int(let i): return .int(i)
            case .float(let f): return .float(f)
            case .string(let s): return .string(s)
            default: throw .call("invalid type for comparison")
            }
        }
        func equal(_ a: Basic, _ b: Basic) throws(Failure) -> Bool {
            switch (a, b) {
            case (.bool(let x), .bool(let y)): return x == y
            case (.int(let x), .int(let y)): return x == y
            case (.float(let x), .float(let y)): return x == y
            case (.string(let x), .string(let y)): return x == y
            default: throw .call("incompatible types for comparison")
            }
        }
        func less(_ a: Basic, _ b: Basic) throws(Failure) -> Bool {
            switch (a, b) {
            case (.int(let x), .int(let y)): return x < y
            case (.float(let x), .float(let y)): return x < y
            case (.string(let x), .string(let y)): return x.utf8.lexicographicallyPrecedes(y.utf8)
            case (.bool, .bool): throw .call("invalid type for comparison")
            default: throw .call("incompatible types for comparison")
            }
        }
        if name == "eq" {
            guard args.count >= 2 else {
                if args.isEmpty { throw .plain("wrong number of args for eq: want at least 1 got 0") }
                throw .call("missing argument for comparison")
            }
            let first = try basic(args[0])
            for a in args.dropFirst() {
                if try equal(first, try basic(a)) { return true }
            }
            return false
        }
        guard args.count == 2 else { throw .plain("wrong number of args for \(name): want 2 got \(args.count)") }
        let (a, b) = (try basic(args[0]), try basic(args[1]))
        if name == "ne" { return !(try equal(a, b)) }
        let isLess = try less(a, b)
        switch name {
        case "lt": return isLess
        case "ge": return !isLess
        default:
            // `le` and `gt` also compare for equality.
            let lessOrEqual = try isLess ? true : equal(a, b)
            return name == "le" ? lessOrEqual : !lessOrEqual
        }
    }

    /// Go's `index`: maps by key, query results by position.
    static func index(_ item: GoValue, _ keys: ArraySlice<GoValue>) throws(Failure) -> GoValue {
        var v = item
        for k in keys {
            switch (v, k) {
            case (.map(let m), .string(let s)): v = .string(m[s] ?? "")
            case (.args(let m), .string(let s)): v = m[s] ?? .none
            case (.map, _), (.args, _): throw .call("value has type \(k.goType); should be string")
            case (.samples(let l), .int(let x)):
                guard x >= 0, x < l.count else { throw .call("index out of range: \(x)") }
                v = .sample(l[Int(x)])
            case (.samples, _): throw .call("cannot index slice/array with type \(k.goType)")
            default: throw .call("can't index item of type \(v.goType)")
            }
        }
        return v
    }
}

/// What functions cost in steps of a template's budget, besides one step per call.
enum GoTemplateCost {
    /// A query, besides one step per sample it returns.
    static let query = 1_000
    /// Compiling a regex.
    static let regex = 100
}

extension GoValue {
    var isString: Bool { if case .string = self { return true } else { return false } }
}

/// Go's `strings` functions over Unicode scalars, with Go's simple (one-to-one) case mappings.
enum GoStrings {
    static func map(_ s: String, _ mapping: (Unicode.Scalar) -> String) -> String {
        var out = String.UnicodeScalarView()
        for c in s.unicodeScalars {
            let m = mapping(c).unicodeScalars
            if m.count == 1 { out.append(m.first!) } else { out.append(c) }
        }
        return String(out)
    }

    /// `strings.Title`: the first letter of each word in title case.
    static func title(_ s: String) -> String {
        var out = String.UnicodeScalarView()
        var previous: Unicode.Scalar = " "
        for c in s.unicodeScalars {
            if isSeparator(previous) {
                let m = c.properties.titlecaseMapping.unicodeScalars
                out.append(m.count == 1 ? m.first! : c)
            } else {
                out.append(c)
            }
            previous = c
        }
        return String(out)
    }

    static func isSeparator(_ r: Unicode.Scalar) -> Bool {
        if r.value <= 0x7F {
            switch r {
            case "0"..."9", "a"..."z", "A"..."Z", "_": return false
            default: return true
            }
        }
        if r.properties.isAlphabetic || r.properties.numericType == .decimal { return false }
        return r.properties.isWhitespace
    }
}

/// Go's `net.SplitHostPort`, `net.JoinHostPort` and whether `net.ParseIP` accepts a host.
enum GoNet {
    static func splitHostPort(_ s: String) -> (host: String, port: String)? {
        let b = Array(s.utf8)
        guard let colon = b.lastIndex(of: UInt8(ascii: ":")) else { return nil }
        var host: ArraySlice<UInt8>
        var j = 0, k = 0
        if b.first == UInt8(ascii: "[") {
            guard let end = b.firstIndex(of: UInt8(ascii: "]")), end + 1 == colon else { return nil }
            host = b[1..<end]
            j = 1
            k = end + 1
        } else {
            host = b[..<colon]
            if host.contains(UInt8(ascii: ":")) { return nil }
        }
        if b[j...].contains(UInt8(ascii: "[")) || b[k...].contains(UInt8(ascii: "]")) { return nil }
        return (String(decoding: host, as: UTF8.self), String(decoding: b[(colon + 1)...], as: UTF8.self))
    }

    static func joinHostPort(_ host: String, _ port: String) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    static func isIP(_ s: String) -> Bool {
        if s.contains(":") {
            return !s.isEmpty && s.unicodeScalars.allSatisfy { $0.properties.isASCIIHexDigit || $0 == ":" || $0 == "." }
        }
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4
            && parts.allSatisfy { p in
                !p.isEmpty && p.count <= 3 && p.allSatisfy(\.isASCII) && p.allSatisfy(\.isNumber) && (p.count == 1 || p.first != "0")
                    && Int(p)! <= 255
            }
    }
}

/// Go's `url.QueryEscape`: spaces as `+`, everything but unreserved characters percent-encoded.
public enum GoURL {
    public static func queryEscape(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            case UInt8(ascii: " "):
                out += "+"
            default:
                let hex = Array("0123456789ABCDEF".unicodeScalars)
                out += "%"
                out.unicodeScalars.append(hex[Int(b >> 4)])
                out.unicodeScalars.append(hex[Int(b & 15)])
            }
        }
        return out
    }
}
