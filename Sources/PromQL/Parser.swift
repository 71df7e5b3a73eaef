import GoFormat
import LookoutCore
import Series

/// A problem in a PromQL expression: a syntax error, a type error, or a construct lookout
/// does not evaluate (native histograms, functions newer than Prometheus 2.42). `range` is
/// where in the expression text it is.
public struct ParseError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var range: PositionRange
    /// True when the text uses something lookout does not evaluate (rather than bad PromQL).
    public var unsupported: Bool

    public init(_ message: String, _ range: PositionRange, unsupported: Bool = false) {
        self.message = message
        self.range = range
        self.unsupported = unsupported
    }

    public var description: String { message }
}

/// Parses PromQL as Prometheus 2.42 does: its precedence, keywords, modifiers and type
/// checks, with its error messages.
public enum PromQLParser {
    public static func parse(_ text: String) throws(ParseError) -> Expr {
        let tokens: [Token]
        do {
            tokens = try Lexer.tokenize(text)
        } catch {
            throw ParseError(error.message, error.range)
        }
        var p = Parser(tokens: tokens)
        let e = try p.parseExpr(minPrecedence: 0)
        guard p.current.kind == .eof else { throw p.unexpected(p.current) }
        return e
    }

    /// Aggregations Prometheus knows, in 2.42 and later; `AggregateOp`'s are 2.42's.
    static let allAggregations: Set<String> = Set(AggregateOp.allCases.map(\.rawValue)).union(["limitk", "limit_ratio"])

    /// Functions of Prometheus 2.42 that only work on native histograms.
    static let nativeHistogramFunctions: Set<String> = ["histogram_count", "histogram_sum", "histogram_fraction"]

    /// Functions of later Prometheus versions (several of them experimental there).
    static let laterFunctions: Set<String> = [
        "histogram_avg", "histogram_stddev", "histogram_stdvar", "double_exponential_smoothing", "info",
        "mad_over_time", "sort_by_label", "sort_by_label_desc", "first_over_time", "ts_of_max_over_time",
        "ts_of_min_over_time", "ts_of_last_over_time", "ts_of_first_over_time",
    ]

    static let keywords: Set<String> = [
        "and", "or", "unless", "atan2", "offset", "by", "without", "on", "ignoring", "group_left", "group_right",
        "bool",
    ]
}

private struct Parser {
    let tokens: [Token]
    var pos = 0
    /// How deep the tree being built is: one level per operand, parenthesis, call argument
    /// and operator folded into a chain. The parser, the printer and the evaluator all
    /// recurse over the tree, so deeper input is an error instead of a stack overflow.
    var depth = 0
    static let maxDepth = 256

    init(tokens: [Token]) { self.tokens = tokens }

    var current: Token { tokens[pos] }
    func peek(_ k: Int = 1) -> Token { tokens[min(pos + k, tokens.count - 1)] }

    @discardableResult
    mutating func advance() -> Token {
        let t = tokens[pos]
        if pos < tokens.count - 1 { pos += 1 }
        return t
    }

    func isKeyword(_ word: String, _ t: Token? = nil) -> Bool {
        let t = t ?? current
        return t.kind == .identifier && t.text.lowercased() == word
    }

    func describe(_ t: Token) -> String {
        switch t.kind {
        case .eof: return "end of input"
        case .identifier, .metricIdentifier:
            let lower = t.text.lowercased()
            if PromQLParser.keywords.contains(lower) || PromQLParser.allAggregations.contains(lower) {
                return "\(lower)"
            }
            return "identifier \"\(t.text)\""
        case .number: return "number \"\(t.text)\""
        case .duration: return "duration \"\(t.text)\""
        case .string: return "string"
        default: return "\"\(t.text)\""
        }
    }

    func unexpected(_ t: Token, expecting: String? = nil) -> ParseError {
        var m = "unexpected \(describe(t))"
        if let expecting { m += "; expected \(expecting)" }
        return ParseError(m, t.range)
    }

    mutating func expect(_ kind: Token.Kind, _ what: String) throws(ParseError) -> Token {
        guard current.kind == kind else { throw unexpected(current, expecting: what) }
        return advance()
    }

    // MARK: Binary expressions

    func binaryOp(_ t: Token) -> BinaryOp? {
        switch t.kind {
        case .add: return .add
        case .sub: return .sub
        case .mul: return .mul
        case .div: return .div
        case .mod: return .mod
        case .pow: return .pow
        case .eql: return .eql
        case .neq: return .neq
        case .gtr: return .gtr
        case .lss: return .lss
        case .gte: return .gte
        case .lte: return .lte
        case .identifier:
            switch t.text.lowercased() {
            case "and": return .and
            case "or": return .or
            case "unless": return .unless
            case "atan2": return .atan2
            default: return nil
            }
        default: return nil
        }
    }

    /// One level deeper, or an error past `maxDepth`.
    mutating func nest(_ at: PositionRange) throws(ParseError) {
        depth += 1
        if depth > Self.maxDepth {
            throw ParseError("expression nested too deeply: more than \(Self.maxDepth) levels of operators, parentheses or calls", at)
        }
    }

    mutating func parseExpr(minPrecedence: Int) throws(ParseError) -> Expr {
        let outer = depth
        defer { depth = outer }
        try nest(current.range)
        var lhs = try parseUnary()
        while true {
            if current.kind == .assign {
                throw ParseError("unexpected \"=\" (use == to compare)", current.range)
            }
            guard let op = binaryOp(current), op.precedence >= minPrecedence else { return lhs }
            let opToken = advance()
            // The chain so far becomes the left operand: one level deeper.
            try nest(opToken.range)
            var opRange = opToken.range
            var returnBool = false
            if isKeyword("bool") {
                opRange = opRange + current.range
                advance()
                returnBool = true
            }
            var matching = VectorMatching(cardinality: op.isSetOperator ? .manyToMany : .oneToOne, on: false, labels: [])
            if isKeyword("on") || isKeyword("ignoring") {
                matching.on = isKeyword("on")
                opRange = opRange + current.range
                advance()
                let (labels, r) = try parseLabelList()
                opRange = opRange + r
                matching.labels = labels
                if isKeyword("group_left") || isKeyword("group_right") {
                    matching.cardinality = isKeyword("group_left") ? .manyToOne : .oneToMany
                    opRange = opRange + advance().range
                    if current.kind == .leftParen {
                        let (include, r) = try parseLabelList()
                        matching.include = include
                        opRange = opRange + r
                    }
                }
            } else if isKeyword("group_left") || isKeyword("group_right") {
                throw unexpected(current, expecting: "on or ignoring before \(current.text.lowercased())")
            }
            let rhs = try parseExpr(minPrecedence: op.isRightAssociative ? op.precedence : op.precedence + 1)
            lhs = try makeBinary(op, lhs, rhs, returnBool: returnBool, matching: matching, opRange: opRange)
        }
    }

    /// Prometheus' checks of a binary expression (`checkAST`), in its order.
    func makeBinary(
        _ op: BinaryOp, _ lhs: Expr, _ rhs: Expr, returnBool: Bool, matching: VectorMatching, opRange: PositionRange
    ) throws(ParseError) -> Expr {
        let range = lhs.range + rhs.range
        let lt = lhs.type, rt = rhs.type
        if returnBool && !op.isComparison {
            throw ParseError("bool modifier can only be used on comparison operators", opRange)
        }
        if op.isComparison && !returnBool && lt == .scalar && rt == .scalar {
            throw ParseError("comparisons between scalars must use BOOL modifier", opRange)
        }
        if matching.on {
            for l in matching.labels where matching.include.contains(l) {
                throw ParseError("label \"\(l)\" must not occur in ON and GROUP clause at once", opRange)
            }
        }
        if lt != .scalar && lt != .vector {
            throw ParseError("binary expression must contain only scalar and instant vector types", lhs.range)
        }
        if rt != .scalar && rt != .vector {
            throw ParseError("binary expression must contain only scalar and instant vector types", rhs.range)
        }
        var m: VectorMatching? = matching
        if lt != .vector || rt != .vector {
            if !matching.labels.isEmpty {
                throw ParseError("vector matching only allowed between instant vectors", range)
            }
            m = nil
        } else if op.isSetOperator {
            if matching.cardinality == .oneToMany || matching.cardinality == .manyToOne {
                throw ParseError("no grouping allowed for \"\(op.rawValue)\" operation", range)
            }
        }
        if (lt == .scalar || rt == .scalar) && op.isSetOperator {
            throw ParseError("set operator \"\(op.rawValue)\" not allowed in binary scalar expression", range)
        }
        return .binary(op, lhs, rhs, returnBool: returnBool, matching: m, range)
    }

    /// `(a, b, c)`, trailing comma allowed.
    mutating func parseLabelList() throws(ParseError) -> ([String], PositionRange) {
        let open = try expect(.leftParen, "\"(\"")
        var labels: [String] = []
        while current.kind != .rightParen {
            guard current.kind == .identifier, MetricNames.isValidLabelName(current.text) else {
                throw unexpected(current, expecting: "label name or \")\"")
            }
            labels.append(advance().text)
            if current.kind == .comma {
                advance()
            } else if current.kind != .rightParen {
                throw unexpected(current, expecting: "\",\" or \")\"")
            }
        }
        let close = advance()
        return (labels, open.range + close.range)
    }

    // MARK: Unary and postfix

    mutating func parseUnary() throws(ParseError) -> Expr {
        if current.kind == .sub || current.kind == .add {
            let opToken = advance()
            // Unary operators bind like * and /: only ^ binds tighter (-2^2 is -4).
            let operand = try parseExpr(minPrecedence: BinaryOp.pow.precedence)
            let range = opToken.range + operand.range
            if case .number(let v, _) = operand {
                return .number(opToken.kind == .sub ? -v : v, range)
            }
            let t = operand.type
            guard t == .scalar || t == .vector else {
                throw ParseError(
                    "unary expression only allowed on expressions of type scalar or instant vector, got \"\(t.rawValue)\"",
                    range)
            }
            return opToken.kind == .sub ? .unaryMinus(operand, range) : operand
        }
        let primary = try parsePrimary()
        return try parsePostfix(primary)
    }

    /// A duration in brackets or after `offset`: Prometheus' syntax, greater than zero.
    mutating func parseDuration(_ what: String) throws(ParseError) -> (Int64, PositionRange) {
        guard current.kind == .duration else { throw unexpected(current, expecting: what) }
        let t = advance()
        let ms: Int64
        do {
            ms = try PromDuration.parseMilliseconds(t.text)
        } catch {
            throw ParseError("\(error)", t.range)
        }
        guard ms > 0 else { throw ParseError("duration must be greater than 0", t.range) }
        return (ms, t.range)
    }

    mutating func parsePostfix(_ e: Expr) throws(ParseError) -> Expr {
        var e = e
        while true {
            if current.kind == .leftBracket {
                advance()
                let (rangeMs, _) = try parseDuration("a duration such as 5m")
                if current.kind == .colon {
                    // A subquery: `expr[range:step]`.
                    advance()
                    var step: Int64 = 0
                    if current.kind == .duration { step = try parseDuration("a step duration").0 }
                    let close = try expect(.rightBracket, "\"]\"")
                    let range = e.range + close.range
                    guard e.type == .vector else {
                        throw ParseError("subquery is only allowed on instant vector, got \(e.type.rawValue) instead", range)
                    }
                    e = .subquery(Subquery(expr: e, rangeMilliseconds: rangeMs, stepMilliseconds: step, range: range))
                    continue
                }
                let close = try expect(.rightBracket, "\"]\" or \":\"")
                let range = e.range + close.range
                guard case .vectorSelector(let vs) = e else {
                    throw ParseError("ranges only allowed for vector selectors", range)
                }
                if vs.offsetMilliseconds != 0 { throw ParseError("no offset modifiers allowed before range", range) }
                if vs.at != nil { throw ParseError("no @ modifiers allowed before range", range) }
                e = .matrixSelector(MatrixSelector(selector: vs, rangeMilliseconds: rangeMs, range: range))
                continue
            }
            if isKeyword("offset") {
                advance()
                let negative = current.kind == .sub
                if negative { advance() }
                let (ms, r) = try parseDuration("a duration such as 5m")
                e = try withOffset(e, negative ? -ms : ms, end: r.end)
                continue
            }
            if current.kind == .at {
                advance()
                let at: AtModifier
                var end: Int
                if isKeyword("start") || isKeyword("end") {
                    let word = advance()
                    _ = try expect(.leftParen, "\"(\"")
                    end = try expect(.rightParen, "\")\"").range.end
                    at = word.text.lowercased() == "start" ? .start : .end
                } else {
                    var sign = 1.0
                    var r = current.range
                    if current.kind == .sub || current.kind == .add {
                        sign = current.kind == .sub ? -1 : 1
                        advance()
                        r = current.range
                    }
                    guard current.kind == .number else { throw unexpected(current, expecting: "a timestamp, start() or end()") }
                    let t = advance()
                    end = t.range.end
                    guard let v = Self.parseNumber(t.text) else { throw ParseError("invalid number \"\(t.text)\"", t.range) }
                    let seconds = sign * v
                    guard seconds.isFinite, seconds * 1000 < 9.2e18, seconds * 1000 > -9.2e18 else {
                        throw ParseError(
                            "timestamp out of bounds for @ modifier: \(GoFloat.formatFixed(seconds, verb: "f", precision: 6))", r)
                    }
                    at = .timestamp(Int64((seconds * 1000).rounded()))
                }
                e = try withAt(e, at, end: end)
                continue
            }
            return e
        }
    }

    func withOffset(_ e: Expr, _ ms: Int64, end: Int) throws(ParseError) -> Expr {
        switch e {
        case .vectorSelector(var vs):
            guard vs.offsetMilliseconds == 0 else { throw ParseError("offset may not be set multiple times", vs.range) }
            vs.offsetMilliseconds = ms
            vs.range.end = end
            return .vectorSelector(vs)
        case .matrixSelector(var m):
            guard m.selector.offsetMilliseconds == 0 else { throw ParseError("offset may not be set multiple times", m.range) }
            m.selector.offsetMilliseconds = ms
            m.range.end = end
            return .matrixSelector(m)
        case .subquery(var s):
            guard s.offsetMilliseconds == 0 else { throw ParseError("offset may not be set multiple times", s.range) }
            s.offsetMilliseconds = ms
            s.range.end = end
            return .subquery(s)
        default:
            throw ParseError(
                "offset modifier must be preceded by an instant vector selector or range vector selector or a subquery", e.range)
        }
    }

    func withAt(_ e: Expr, _ at: AtModifier, end: Int) throws(ParseError) -> Expr {
        switch e {
        case .vectorSelector(var vs):
            guard vs.at == nil else { throw ParseError("@ <timestamp> may not be set multiple times", vs.range) }
            vs.at = at
            vs.range.end = end
            return .vectorSelector(vs)
        case .matrixSelector(var m):
            guard m.selector.at == nil else { throw ParseError("@ <timestamp> may not be set multiple times", m.range) }
            m.selector.at = at
            m.range.end = end
            return .matrixSelector(m)
        case .subquery(var s):
            guard s.at == nil else { throw ParseError("@ <timestamp> may not be set multiple times", s.range) }
            s.at = at
            s.range.end = end
            return .subquery(s)
        default:
            throw ParseError(
                "@ modifier must be preceded by an instant vector selector or range vector selector or a subquery", e.range)
        }
    }

    // MARK: Primary expressions

    mutating func parsePrimary() throws(ParseError) -> Expr {
        let t = current
        switch t.kind {
        case .number:
            advance()
            guard let v = Self.parseNumber(t.text) else { throw ParseError("invalid number \"\(t.text)\"", t.range) }
            return .number(v, t.range)
        case .duration:
            throw ParseError("unexpected duration \"\(t.text)\": durations are allowed only in ranges such as [5m]", t.range)
        case .string:
            advance()
            return .string(t.text, t.range)
        case .leftParen:
            advance()
            let inner = try parseExpr(minPrecedence: 0)
            let close = try expect(.rightParen, "\")\"")
            return .paren(inner, t.range + close.range)
        case .leftBrace:
            return try parseSelector(name: nil, nameRange: nil)
        case .metricIdentifier:
            advance()
            return try parseSelector(name: t.text, nameRange: t.range)
        case .identifier:
            let lower = t.text.lowercased()
            if PromQLParser.allAggregations.contains(lower)
                && (peek().kind == .leftParen || isKeyword("by", peek()) || isKeyword("without", peek()))
            {
                return try parseAggregation()
            }
            if peek().kind == .leftParen {
                return try parseCall()
            }
            if PromQLParser.keywords.contains(lower) || PromQLParser.allAggregations.contains(lower) {
                throw unexpected(t)
            }
            advance()
            return try parseSelector(name: t.text, nameRange: t.range)
        default:
            throw unexpected(t, expecting: "an expression")
        }
    }

    /// Go's `strconv.ParseInt(s, 0, 64)` first (so `0x1f` and octal `017` work), then ParseFloat.
    static func parseNumber(_ s: String) -> Double? {
        let lower = s.lowercased()
        if lower.hasPrefix("0x") { return UInt64(lower.dropFirst(2), radix: 16).map { Double($0) } }
        if lower.count > 1, lower.hasPrefix("0"), lower.allSatisfy({ $0 >= "0" && $0 <= "7" }) {
            return Int64(lower.dropFirst(), radix: 8).map { Double($0) }
        }
        return GoFloat.parse(s)
    }

    mutating func parseSelector(name: String?, nameRange: PositionRange?) throws(ParseError) -> Expr {
        var matchers: [LabelMatcher] = []
        var range = nameRange ?? current.range
        if let name, let nameRange {
            do {
                matchers.append(try LabelMatcher(name: "__name__", op: .equal, value: name))
            } catch {
                throw ParseError("\(error)", nameRange)
            }
        }
        if current.kind == .leftBrace {
            let open = advance()
            range = range + open.range
            while current.kind != .rightBrace {
                let labelToken = current
                guard labelToken.kind == .identifier, MetricNames.isValidLabelName(labelToken.text) else {
                    throw unexpected(labelToken, expecting: "label matching such as a=\"b\"")
                }
                advance()
                let op: LabelMatcher.Op
                switch current.kind {
                case .assign: op = .equal
                case .neq: op = .notEqual
                case .eqlRegex: op = .regexMatch
                case .neqRegex: op = .regexNoMatch
                default: throw unexpected(current, expecting: "label matching operator =, !=, =~ or !~")
                }
                advance()
                let valueToken = current
                guard valueToken.kind == .string else { throw unexpected(valueToken, expecting: "a quoted label value") }
                advance()
                if name != nil && labelToken.text == "__name__" {
                    throw ParseError(
                        "metric name must not be set twice: \"\(name!)\" or \"\(valueToken.text)\"",
                        labelToken.range + valueToken.range)
                }
                do {
                    matchers.append(try LabelMatcher(name: labelToken.text, op: op, value: valueToken.text))
                } catch {
                    throw ParseError("invalid regular expression \"\(valueToken.text)\": \(error.reason)", valueToken.range)
                }
                if current.kind == .comma {
                    advance()
                } else if current.kind != .rightBrace {
                    throw unexpected(current, expecting: "\",\" or \"}\"")
                }
            }
            range = range + advance().range
        }
        if !matchers.contains(where: { !$0.matchesEmpty }) {
            throw ParseError("vector selector must contain at least one non-empty matcher", range)
        }
        return .vectorSelector(VectorSelector(name: name, matchers: matchers, range: range))
    }

    mutating func parseArguments() throws(ParseError) -> ([Expr], PositionRange) {
        let open = try expect(.leftParen, "\"(\"")
        var args: [Expr] = []
        while current.kind != .rightParen {
            args.append(try parseExpr(minPrecedence: 0))
            if current.kind == .comma {
                advance()
            } else if current.kind != .rightParen {
                throw unexpected(current, expecting: "\",\" or \")\"")
            }
        }
        let close = advance()
        return (args, open.range + close.range)
    }

    static func expectType(_ e: Expr, _ want: ValueType, _ context: String) throws(ParseError) {
        guard e.type == want else {
            throw ParseError("expected type \(want.rawValue) in \(context), got \(e.type.rawValue)", e.range)
        }
    }

    mutating func parseCall() throws(ParseError) -> Expr {
        let nameToken = advance()
        guard let f = Function(rawValue: nameToken.text) else {
            if PromQLParser.nativeHistogramFunctions.contains(nameToken.text) {
                throw ParseError(
                    "function \"\(nameToken.text)\" works on native histograms, which lookout does not evaluate",
                    nameToken.range, unsupported: true)
            }
            if PromQLParser.laterFunctions.contains(nameToken.text) {
                throw ParseError(
                    "function \"\(nameToken.text)\" is not a function of Prometheus 2.42 (experimental or newer)",
                    nameToken.range, unsupported: true)
            }
            throw ParseError("unknown function with name \"\(nameToken.text)\"", nameToken.range)
        }
        let (args, argsRange) = try parseArguments()
        let range = nameToken.range + argsRange
        let types = f.argumentTypes
        if f.variadic == 0 {
            guard args.count == types.count else {
                throw ParseError("expected \(types.count) argument(s) in call to \"\(f.rawValue)\", got \(args.count)", range)
            }
        } else {
            let least = types.count - 1
            if args.count < least {
                throw ParseError("expected at least \(least) argument(s) in call to \"\(f.rawValue)\", got \(args.count)", range)
            }
            if f.variadic > 0 && args.count > least + f.variadic {
                throw ParseError(
                    "expected at most \(least + f.variadic) argument(s) in call to \"\(f.rawValue)\", got \(args.count)", range)
            }
        }
        for (i, a) in args.enumerated() {
            try Self.expectType(a, types[min(i, types.count - 1)], "call to function \"\(f.rawValue)\"")
        }
        return .call(f, args, range)
    }

    mutating func parseAggregation() throws(ParseError) -> Expr {
        let opToken = advance()
        let name = opToken.text.lowercased()
        guard let op = AggregateOp(rawValue: name) else {
            throw ParseError(
                "aggregation \"\(name)\" is not an aggregation of Prometheus 2.42 (experimental or newer)", opToken.range,
                unsupported: true)
        }
        var grouping: [String] = []
        var without = false
        var hasModifier = false
        var range = opToken.range
        if isKeyword("by") || isKeyword("without") {
            without = isKeyword("without")
            advance()
            let (labels, r) = try parseLabelList()
            grouping = labels
            hasModifier = true
            range = range + r
        }
        let (args, argsRange) = try parseArguments()
        range = range + argsRange
        if !hasModifier && (isKeyword("by") || isKeyword("without")) {
            without = isKeyword("without")
            advance()
            let (labels, r) = try parseLabelList()
            grouping = labels
            range = range + r
        }
        let expected = op.parameterType == nil ? 1 : 2
        guard args.count == expected else {
            throw ParseError(
                "wrong number of arguments for aggregate expression provided, expected \(expected), got \(args.count)",
                range)
        }
        let expr = args[expected - 1]
        try Self.expectType(expr, .vector, "aggregation expression")
        var param: Expr?
        if let t = op.parameterType {
            param = args[0]
            try Self.expectType(args[0], t, "aggregation parameter")
        }
        return .aggregate(op, param: param, expr: expr, grouping: grouping, without: without, range)
    }
}
