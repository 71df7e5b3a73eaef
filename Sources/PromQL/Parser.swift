import GoFormat
import LookoutCore
import Series

/// A problem in a PromQL expression: a syntax error, a type error, or a construct outside
/// lookout's subset. `range` is where in the expression text it is.
public struct ParseError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var range: PositionRange
    /// True when the text is valid PromQL but uses something lookout does not evaluate.
    public var unsupported: Bool

    public init(_ message: String, _ range: PositionRange, unsupported: Bool = false) {
        self.message = message
        self.range = range
        self.unsupported = unsupported
    }

    public var description: String { message }
}

/// Parses lookout's PromQL subset. The grammar is Prometheus' own (precedence, keywords,
/// modifiers), so constructs outside the subset are recognised and reported as such, with
/// their position, instead of as syntax errors.
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
        if case .string(_, let r) = e.unwrapped {
            throw ParseError("string literals are not supported: lookout's functions take none", r, unsupported: true)
        }
        return e
    }

    /// Aggregations Prometheus knows; only `AggregateOp`'s are evaluated here.
    static let allAggregations: Set<String> = [
        "sum", "avg", "count", "min", "max", "group", "stddev", "stdvar", "topk", "bottomk", "count_values",
        "quantile", "limitk", "limit_ratio",
    ]

    /// Functions Prometheus knows; only `Function`'s are evaluated here.
    static let allFunctions: Set<String> = [
        "abs", "absent", "absent_over_time", "acos", "acosh", "asin", "asinh", "atan", "atanh", "avg_over_time",
        "ceil", "changes", "clamp", "clamp_max", "clamp_min", "cos", "cosh", "count_over_time", "days_in_month",
        "day_of_month", "day_of_week", "day_of_year", "deg", "delta", "deriv", "exp", "floor", "histogram_avg",
        "histogram_count", "histogram_sum", "histogram_fraction", "histogram_quantile", "histogram_stddev",
        "histogram_stdvar", "holt_winters", "double_exponential_smoothing", "hour", "idelta", "increase", "info",
        "irate", "label_replace", "label_join", "last_over_time", "ln", "log10", "log2", "mad_over_time",
        "max_over_time", "min_over_time", "minute", "month", "pi", "predict_linear", "present_over_time",
        "quantile_over_time", "rad", "rate", "resets", "round", "scalar", "sgn", "sin", "sinh", "sort",
        "sort_desc", "sort_by_label", "sort_by_label_desc", "sqrt", "stddev_over_time", "stdvar_over_time",
        "sum_over_time", "tan", "tanh", "time", "timestamp", "vector", "year", "first_over_time",
        "ts_of_max_over_time", "ts_of_min_over_time", "ts_of_last_over_time", "ts_of_first_over_time",
    ]

    static let keywords: Set<String> = [
        "and", "or", "unless", "atan2", "offset", "by", "without", "on", "ignoring", "group_left", "group_right",
        "bool", "start", "end", "smoothed", "anchored",
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
            if isKeyword("atan2") {
                throw ParseError("operator atan2 is not supported by lookout's evaluator", current.range, unsupported: true)
            }
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
            var explicitMatching = false
            if isKeyword("on") || isKeyword("ignoring") {
                matching.on = isKeyword("on")
                opRange = opRange + current.range
                advance()
                let (labels, r) = try parseLabelList()
                opRange = opRange + r
                matching.labels = labels
                explicitMatching = true
            }
            if isKeyword("group_left") || isKeyword("group_right") {
                var r = current.range
                let word = current.text.lowercased()
                advance()
                if current.kind == .leftParen {
                    let (_, lr) = try parseLabelList()
                    r = r + lr
                }
                throw ParseError(
                    "\(word) is not supported by lookout's evaluator: only one-to-one matching (on/ignoring) is",
                    r, unsupported: true)
            }
            let rhs = try parseExpr(minPrecedence: op.isRightAssociative ? op.precedence : op.precedence + 1)
            lhs = try makeBinary(op, lhs, rhs, returnBool: returnBool, matching: matching, explicit: explicitMatching, opRange: opRange)
        }
    }

    func makeBinary(
        _ op: BinaryOp, _ lhs: Expr, _ rhs: Expr, returnBool: Bool, matching: VectorMatching, explicit: Bool,
        opRange: PositionRange
    ) throws(ParseError) -> Expr {
        let range = lhs.range + rhs.range
        let lt = lhs.type, rt = rhs.type
        if returnBool && !op.isComparison {
            throw ParseError("bool modifier can only be used on comparison operators", opRange)
        }
        if op.isComparison && !returnBool && lt == .scalar && rt == .scalar {
            throw ParseError("comparisons between scalars must use BOOL modifier", opRange)
        }
        if lt != .scalar && lt != .vector {
            throw ParseError("binary expression must contain only scalar and instant vector types", lhs.range)
        }
        if rt != .scalar && rt != .vector {
            throw ParseError("binary expression must contain only scalar and instant vector types", rhs.range)
        }
        var m: VectorMatching? = matching
        if lt != .vector || rt != .vector {
            if explicit && !matching.labels.isEmpty {
                throw ParseError("vector matching only allowed between instant vectors", range)
            }
            m = nil
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
            // Unary minus binds tighter than * and / but looser than ^: -2^2 is -4.
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

    mutating func parsePostfix(_ e: Expr) throws(ParseError) -> Expr {
        var e = e
        while true {
            if current.kind == .leftBracket {
                let open = advance()
                // `[5m]` or a subquery `[5m:1m]`.
                var durationToken: Token?
                if current.kind == .duration || current.kind == .number { durationToken = advance() }
                if current.kind == .colon {
                    var r = open.range
                    while current.kind != .rightBracket && current.kind != .eof { r = r + advance().range }
                    r = r + current.range
                    throw ParseError("subqueries are not supported by lookout's evaluator", e.range + r, unsupported: true)
                }
                guard let d = durationToken else { throw unexpected(current, expecting: "a duration such as 5m") }
                let close = try expect(.rightBracket, "\"]\"")
                guard case .vectorSelector(let vs) = e else {
                    throw ParseError("ranges only allowed for vector selectors", e.range + close.range)
                }
                let ms: Int64
                do {
                    ms = try PromDuration.parseMilliseconds(d.text)
                } catch {
                    throw ParseError("\(error)", d.range)
                }
                guard ms > 0 else { throw ParseError("range must be greater than 0", d.range) }
                e = .matrixSelector(MatrixSelector(selector: vs, rangeMilliseconds: ms, range: e.range + close.range))
                continue
            }
            if isKeyword("offset") {
                var r = advance().range
                if current.kind == .sub { r = r + advance().range }
                if current.kind == .duration || current.kind == .number { r = r + advance().range }
                throw ParseError("the offset modifier is not supported by lookout's evaluator", r, unsupported: true)
            }
            if current.kind == .at {
                var r = advance().range
                if current.kind == .number || current.kind == .identifier { r = r + advance().range }
                if current.kind == .leftParen && current.range.start == r.end {
                    r = r + advance().range
                    if current.kind == .rightParen { r = r + advance().range }
                }
                throw ParseError("the @ modifier is not supported by lookout's evaluator", r, unsupported: true)
            }
            return e
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

    mutating func parseCall() throws(ParseError) -> Expr {
        let nameToken = advance()
        guard let f = Function(rawValue: nameToken.text) else {
            if PromQLParser.allFunctions.contains(nameToken.text) {
                throw ParseError(
                    "function \"\(nameToken.text)\" is not supported by lookout's evaluator", nameToken.range,
                    unsupported: true)
            }
            throw ParseError("unknown function with name \"\(nameToken.text)\"", nameToken.range)
        }
        let (args, argsRange) = try parseArguments()
        let range = nameToken.range + argsRange
        let types = f.argumentTypes
        guard args.count == types.count else {
            throw ParseError(
                "expected \(types.count) argument(s) in call to \"\(f.rawValue)\", got \(args.count)", range)
        }
        for (a, t) in zip(args, types) {
            if a.type == .string {
                throw ParseError("string literals are not supported: lookout's functions take none", a.range, unsupported: true)
            }
            guard a.type == t else {
                throw ParseError(
                    "expected type \(t.rawValue) in call to function \"\(f.rawValue)\", got \(a.type.rawValue)", a.range)
            }
        }
        return .call(f, args, range)
    }

    mutating func parseAggregation() throws(ParseError) -> Expr {
        let opToken = advance()
        let name = opToken.text.lowercased()
        guard let op = AggregateOp(rawValue: name) else {
            throw ParseError("aggregation \"\(name)\" is not supported by lookout's evaluator", opToken.range, unsupported: true)
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
        let expected = op == .quantile ? 2 : 1
        guard args.count == expected else {
            throw ParseError(
                "wrong number of arguments for aggregate expression provided, expected \(expected), got \(args.count)",
                range)
        }
        let expr = args[expected - 1]
        var param: Expr?
        if op == .quantile {
            param = args[0]
            guard args[0].type == .scalar else {
                throw ParseError("expected type scalar in aggregation parameter, got \(args[0].type.rawValue)", args[0].range)
            }
        }
        guard expr.type == .vector else {
            throw ParseError("expected type instant vector in aggregation expression, got \(expr.type.rawValue)", expr.range)
        }
        return .aggregate(op, param: param, expr: expr, grouping: grouping, without: without, range)
    }
}
