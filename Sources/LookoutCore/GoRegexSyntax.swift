/// What Go's `regexp/syntax` refuses and RE2 accepts. Prometheus 2.42 (its `promtool` is the
/// yardstick) is built with Go 1.19; RE2 and Go share their syntax except for these:
///
/// - `\C` (any byte) is RE2's only;
/// - Unicode scripts newer than Go 1.19's tables (Unicode 13) are RE2's only;
/// - a group name must be ASCII letters, digits and `_` in Go;
/// - Go refuses a parse tree higher than 1000 (`expression nests too deeply`);
/// - a `\Q` without `\E` runs to the end of the pattern in both, so the `)$` Prometheus puts
///   around a label matcher's pattern becomes literal text: the anchored pattern lacks a `)`.
///
/// The scan is one pass over the pattern's bytes; RE2 reports every other error itself.
enum GoRegexSyntax {
    /// Go's `maxHeight`.
    static let maxHeight = 1000

    /// Scripts RE2 20220601 knows and Go 1.19 does not.
    static let newerScripts: Set<String> = [
        "Cypro_Minoan", "Kawi", "Nag_Mundari", "Old_Uyghur", "Tangsa", "Toto", "Vithkuqi",
    ]

    /// Why Go refuses `pattern` where RE2 may not; nil when nothing here objects. With
    /// `anchored`, the pattern is checked as Prometheus compiles a label matcher: `^(?:pattern)$`.
    static func refusal(_ pattern: [UInt8], anchored: Bool) -> String? {
        var scan = Scan()
        if anchored {
            scan.run(Array("^(?:".utf8) + pattern + Array(")$".utf8))
            if scan.refusal == nil && scan.unterminatedQuote {
                let wrapped = "^(?:" + String(decoding: pattern, as: UTF8.self) + ")$"
                return "missing ): \(wrapped) (\\Q without \\E)"
            }
        } else {
            scan.run(pattern)
        }
        return scan.refusal
    }

    /// Go's `isValidCaptureName`: ASCII letters, digits and underscores, at least one.
    static func isValidGroupName(_ name: String) -> Bool {
        !name.isEmpty
            && name.utf8.allSatisfy { c in
                c == UInt8(ascii: "_") || (c >= 0x30 && c <= 0x39) || (c | 0x20 >= 0x61 && c | 0x20 <= 0x7A)
            }
    }

    /// A node of the parse tree Go would build, as far as its height goes.
    private struct Node {
        enum Kind { case literal, concat, alternate, other }
        var kind: Kind
        var height: Int
        /// Characters of a literal run (Go merges adjacent literal characters into one node).
        var run = 1
    }

    /// A group being parsed: its finished alternatives and the items of the current one.
    private struct Frame {
        var capture: Bool
        var alternatives = 0
        var alternativesMax = 0
        var items: [Node] = []
    }

    private struct Scan {
        var refusal: String?
        var unterminatedQuote = false
        var frames = [Frame(capture: false)]

        mutating func run(_ b: [UInt8]) {
            let n = b.count
            var i = 0
            func byte(_ k: Int) -> UInt8 { k < n ? b[k] : 0 }
            func skipContinuation() { while i < n && b[i] & 0xC0 == 0x80 { i += 1 } }
            while i < n && refusal == nil {
                let c = b[i]
                switch c {
                case UInt8(ascii: "\\"):
                    let d = byte(i + 1)
                    if d == UInt8(ascii: "Q") {
                        if let end = GoRegexSyntax.find(UInt8(ascii: "\\"), UInt8(ascii: "E"), in: b, from: i + 2) {
                            if end > i + 2 { pushLiteral() }
                            i = end + 2
                        } else {
                            if n > i + 2 { pushLiteral() }
                            unterminatedQuote = true
                            i = n
                        }
                        continue
                    }
                    if let reason = GoRegexSyntax.escapeRefusal(b, at: i) {
                        refusal = reason
                        return
                    }
                    if (d == UInt8(ascii: "p") || d == UInt8(ascii: "P")) && byte(i + 2) == UInt8(ascii: "{") {
                        i = (b[(i + 3)...].firstIndex(of: UInt8(ascii: "}")) ?? n - 1) + 1
                        push(Node(kind: .other, height: 1))
                        continue
                    }
                    let isLetter = (d | 0x20) >= 0x61 && (d | 0x20) <= 0x7A
                    if isLetter && d == UInt8(ascii: "x") && byte(i + 2) == UInt8(ascii: "{") {
                        i = (b[(i + 3)...].firstIndex(of: UInt8(ascii: "}")) ?? n - 1) + 1
                        pushLiteral()
                        continue
                    }
                    // \d \w \b \A ... are classes or assertions; \n \x41 \. are literal characters.
                    if isLetter && !GoRegexSyntax.literalEscapes.contains(d) { push(Node(kind: .other, height: 1)) } else { pushLiteral() }
                    i += 2
                    skipContinuation()
                case UInt8(ascii: "["):
                    i = endOfClass(b, from: i)
                    push(Node(kind: .other, height: 1))
                    if refusal != nil { return }
                case UInt8(ascii: "("):
                    if byte(i + 1) == UInt8(ascii: "?") {
                        if byte(i + 2) == UInt8(ascii: "P") {
                            // (?P<name>...): a capture.
                            i = (b[i...].firstIndex(of: UInt8(ascii: ">")) ?? n - 1) + 1
                            frames.append(Frame(capture: true))
                            continue
                        }
                        var k = i + 2
                        while k < n && b[k] != UInt8(ascii: ":") && b[k] != UInt8(ascii: ")") { k += 1 }
                        i = k + 1
                        // (?i) sets flags and builds no node; (?i:...) groups without capturing.
                        if byte(k) == UInt8(ascii: ":") { frames.append(Frame(capture: false)) }
                        continue
                    }
                    frames.append(Frame(capture: true))
                    i += 1
                case UInt8(ascii: ")"):
                    i += 1
                    guard frames.count > 1 else { continue }  // RE2 reports the unmatched `)`
                    let frame = frames.removeLast()
                    var node = GoRegexSyntax.close(frame)
                    if frame.capture { node = Node(kind: .other, height: node.height + 1) }
                    push(node)
                case UInt8(ascii: "|"):
                    i += 1
                    let branch = GoRegexSyntax.concat(frames[frames.count - 1].items)
                    GoRegexSyntax.addAlternative(branch, to: &frames[frames.count - 1])
                    frames[frames.count - 1].items = []
                case UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "?"):
                    i += 1
                    repeatLast()
                    if byte(i) == UInt8(ascii: "?") { i += 1 }
                case UInt8(ascii: "{"):
                    if let end = GoRegexSyntax.endOfRepeat(b, from: i) {
                        i = end
                        repeatLast()
                        if byte(i) == UInt8(ascii: "?") { i += 1 }
                    } else {
                        pushLiteral()
                        i += 1
                    }
                case UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "$"):
                    push(Node(kind: .other, height: 1))
                    i += 1
                default:
                    pushLiteral()
                    i += 1
                    skipContinuation()
                }
            }
            guard refusal == nil else { return }
            while frames.count > 1 {
                let frame = frames.removeLast()
                push(GoRegexSyntax.close(frame))
            }
            check(GoRegexSyntax.close(frames[0]))
        }

        mutating func pushLiteral() {
            let top = frames.count - 1
            if let last = frames[top].items.last, last.kind == .literal {
                frames[top].items[frames[top].items.count - 1].run += 1
            } else {
                frames[top].items.append(Node(kind: .literal, height: 1))
            }
        }

        mutating func push(_ node: Node) {
            check(node)
            frames[frames.count - 1].items.append(node)
        }

        /// `x*`, `x+`, `x?`, `x{n,m}` apply to the last character of a literal run.
        mutating func repeatLast() {
            let top = frames.count - 1
            guard var last = frames[top].items.popLast() else { return }  // RE2 reports the missing argument
            if last.kind == .literal && last.run > 1 {
                last.run -= 1
                frames[top].items.append(last)
                push(Node(kind: .other, height: 2))
            } else {
                push(Node(kind: .other, height: last.height + 1))
            }
        }

        mutating func check(_ node: Node) {
            if node.height > GoRegexSyntax.maxHeight && refusal == nil { refusal = "expression nests too deeply" }
        }

        /// Index after the `]` closing the class that starts at `from`.
        mutating func endOfClass(_ b: [UInt8], from: Int) -> Int {
            let n = b.count
            var i = from + 1
            if i < n && b[i] == UInt8(ascii: "^") { i += 1 }
            if i < n && b[i] == UInt8(ascii: "]") { i += 1 }  // a leading ] is literal
            while i < n && b[i] != UInt8(ascii: "]") {
                if b[i] == UInt8(ascii: "\\") {
                    if let reason = GoRegexSyntax.escapeRefusal(b, at: i) {
                        refusal = reason
                        return n
                    }
                    i += 2
                } else if b[i] == UInt8(ascii: "["), i + 1 < n, b[i + 1] == UInt8(ascii: ":"),
                    let end = GoRegexSyntax.find(UInt8(ascii: ":"), UInt8(ascii: "]"), in: b, from: i + 2)
                {
                    i = end + 2  // [:alpha:]
                } else {
                    i += 1
                }
            }
            return min(i + 1, n)
        }
    }

    /// Why Go refuses the escape at `i` (a backslash) where RE2 takes it: `\C`, or a script
    /// Go does not know in `\p{...}`, `\P{...}`, `\p{^...}`.
    private static func escapeRefusal(_ b: [UInt8], at i: Int) -> String? {
        guard i + 1 < b.count else { return nil }
        let d = b[i + 1]
        if d == UInt8(ascii: "C") { return "invalid escape sequence: \\C" }
        guard d == UInt8(ascii: "p") || d == UInt8(ascii: "P"), i + 2 < b.count, b[i + 2] == UInt8(ascii: "{") else {
            return nil
        }
        let close = b[(i + 3)...].firstIndex(of: UInt8(ascii: "}")) ?? b.count
        var name = String(decoding: b[min(i + 3, b.count)..<close], as: UTF8.self)
        if name.hasPrefix("^") { name.removeFirst() }
        guard newerScripts.contains(name) else { return nil }
        return "invalid character class range: " + String(decoding: b[i..<min(close + 1, b.count)], as: UTF8.self)
    }

    /// Letters that escape a literal character (`\n`, `\x41`); other escaped letters are
    /// classes or assertions (`\d`, `\b`).
    private static let literalEscapes: Set<UInt8> = Set("aftnrvx".utf8)

    /// The index of the two bytes `first`, `second` in `b` at or after `from`.
    private static func find(_ first: UInt8, _ second: UInt8, in b: [UInt8], from: Int) -> Int? {
        var k = from
        while k + 1 < b.count {
            if b[k] == first && b[k + 1] == second { return k }
            k += 1
        }
        return nil
    }

    /// The index after a repetition `{n}`, `{n,}` or `{n,m}` starting at `from`; nil when the
    /// brace is a literal character.
    private static func endOfRepeat(_ b: [UInt8], from: Int) -> Int? {
        var i = from + 1
        func digits() -> Bool {
            let start = i
            while i < b.count && b[i] >= 0x30 && b[i] <= 0x39 { i += 1 }
            return i > start
        }
        guard digits() else { return nil }
        if i < b.count && b[i] == UInt8(ascii: ",") {
            i += 1
            _ = digits()
        }
        guard i < b.count && b[i] == UInt8(ascii: "}") else { return nil }
        return i + 1
    }

    /// A concatenation of `items`: nested concatenations are flattened as Go does.
    private static func concat(_ items: [Node]) -> Node {
        var count = 0
        var maxHeight = 0
        for item in items {
            if item.kind == .concat {
                count += 2
                maxHeight = max(maxHeight, item.height - 1)
            } else {
                count += 1
                maxHeight = max(maxHeight, item.height)
            }
        }
        switch count {
        case 0: return Node(kind: .other, height: 1)  // the empty match
        case 1: return items[0]
        default: return Node(kind: .concat, height: maxHeight + 1)
        }
    }

    private static func addAlternative(_ node: Node, to frame: inout Frame) {
        if node.kind == .alternate {
            frame.alternatives += 2
            frame.alternativesMax = max(frame.alternativesMax, node.height - 1)
        } else {
            frame.alternatives += 1
            frame.alternativesMax = max(frame.alternativesMax, node.height)
        }
    }

    /// The node a group's content becomes.
    private static func close(_ frame: Frame) -> Node {
        let last = concat(frame.items)
        if frame.alternatives == 0 { return last }
        var f = frame
        addAlternative(last, to: &f)
        return Node(kind: .alternate, height: f.alternativesMax + 1)
    }
}
