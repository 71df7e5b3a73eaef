/// A YAML 1.2 reader for configuration and rule files: block and flow collections, plain,
/// quoted and block scalars, comments, anchors and aliases, one document. It keeps what a
/// strict loader needs (each node's style and its position in the file) and nothing else; tags
/// are accepted and ignored, every scalar stays a string (the loader decides what it means).
/// Not supported, with an error naming the place: complex (`?`) keys and collections as keys.

/// A position in the text: 1-based line and column (columns count Unicode scalars).
public struct YAMLMark: Sendable, Equatable {
    public var line: Int
    public var column: Int
    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }
}

public struct YAMLScalar: Sendable {
    public enum Style: Sendable { case plain, singleQuoted, doubleQuoted, literal, folded }
    public var string: String
    public var style: Style
    public var mark: YAMLMark
}

public indirect enum YAMLNode: Sendable {
    case scalar(YAMLScalar)
    case mapping([(key: YAMLNode, value: YAMLNode)], YAMLMark)
    case sequence([YAMLNode], YAMLMark)

    /// Where the node starts: a scalar's first character (its quote or block indicator), a
    /// block collection's first key or dash, a flow collection's bracket.
    public var mark: YAMLMark {
        switch self {
        case let .scalar(s): return s.mark
        case let .mapping(_, m), let .sequence(_, m): return m
        }
    }
}

public struct YAMLSyntaxError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var mark: YAMLMark
    public var description: String { "\(mark.line):\(mark.column): \(message)" }
}

public enum YAML {
    /// The one document in `text`, or nil when it holds none (only comments or nothing).
    public static func parse(_ text: String) throws(YAMLSyntaxError) -> YAMLNode? {
        var reader = YAMLReader(Array(text.utf8))
        try reader.checkCharacters()
        return try reader.document()
    }
}

/// The reader proper: recursive descent over the UTF-8 bytes.
struct YAMLReader {
    static let maxDepth = 256
    /// Nodes a document may hold once aliases are expanded (a "billion laughs" guard).
    static let maxNodes = 1_000_000

    let b: [UInt8]
    var pos = 0
    /// Byte offset where each line starts.
    var lineStarts: [Int] = [0]
    var depth = 0
    var nodes = 0
    var anchors: [String: (node: YAMLNode, size: Int)] = [:]

    init(_ bytes: [UInt8]) {
        var bytes = bytes
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        b = bytes
        for (i, c) in bytes.enumerated() where c == 10 { lineStarts.append(i + 1) }
    }

    /// YAML text is printable: the C0 controls other than tab and line breaks, and DEL, are not.
    func checkCharacters() throws(YAMLSyntaxError) {
        for (i, c) in b.enumerated() where (c < 32 && c != 9 && c != 10 && c != 13) || c == 127 {
            let hex = String(c, radix: 16, uppercase: true)
            throw error("control character U+\(String(repeating: "0", count: 4 - hex.count) + hex) is not allowed in YAML", at: i)
        }
    }

    // MARK: Positions and characters

    func mark(_ offset: Int) -> YAMLMark {
        var lo = 0, hi = lineStarts.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if lineStarts[mid] <= offset { lo = mid } else { hi = mid - 1 }
        }
        var column = 1
        var i = lineStarts[lo]
        while i < offset && i < b.count {
            if b[i] & 0xC0 != 0x80 { column += 1 }
            i += 1
        }
        return YAMLMark(line: lo + 1, column: column)
    }

    func error(_ message: String, at offset: Int? = nil) -> YAMLSyntaxError {
        YAMLSyntaxError(message: message, mark: mark(min(offset ?? pos, b.count)))
    }

    func at(_ i: Int) -> UInt8 { i < b.count ? b[i] : 0 }
    var cur: UInt8 { at(pos) }
    var atEnd: Bool { pos >= b.count }

    static func isBreak(_ c: UInt8) -> Bool { c == 10 || c == 13 }
    static func isBlank(_ c: UInt8) -> Bool { c == 32 || c == 9 }
    /// Space, tab, line break or the end of the text.
    func isSeparator(_ i: Int) -> Bool { i >= b.count || Self.isBlank(b[i]) || Self.isBreak(b[i]) }

    /// The column (0-based, in bytes: indentation is ASCII spaces) of offset `i`.
    func indentColumn(_ i: Int) -> Int {
        var s = i
        while s > 0 && b[s - 1] != 10 { s -= 1 }
        return i - s
    }

    mutating func skipBlanks() { while Self.isBlank(cur) { pos += 1 } }

    /// Skips blanks and a comment up to the line break (not past it).
    mutating func skipToLineEnd() {
        skipBlanks()
        if cur == UInt8(ascii: "#") { while !atEnd && !Self.isBreak(cur) { pos += 1 } }
    }

    mutating func skipBreak() {
        if cur == 13 { pos += 1 }
        if cur == 10 { pos += 1 }
    }

    /// Moves to the first content character of the next line that has any (skipping blank and
    /// comment lines); returns its indentation, or nil at the end of the text. Tabs may not
    /// indent.
    mutating func nextContentLine() throws(YAMLSyntaxError) -> Int? {
        while true {
            skipToLineEnd()
            if atEnd { return nil }
            if Self.isBreak(cur) {
                skipBreak()
                let start = pos
                while cur == 32 { pos += 1 }
                if cur == 9 {
                    var j = pos
                    while Self.isBlank(at(j)) { j += 1 }
                    if j < b.count && !Self.isBreak(b[j]) && b[j] != UInt8(ascii: "#") {
                        throw error("a tab character may not indent (use spaces)", at: pos)
                    }
                }
                if atEnd { return nil }
                if Self.isBreak(cur) || Self.isBlank(cur) || cur == UInt8(ascii: "#") { continue }
                return pos - start
            }
            return indentColumn(pos)
        }
    }

    /// True at `---` or `...` at the start of a line, followed by a separator.
    func atDocumentMarker(_ i: Int) -> Bool {
        guard i + 2 < b.count, indentColumn(i) == 0 else { return false }
        let c = at(i)
        guard (c == UInt8(ascii: "-") || c == UInt8(ascii: ".")), at(i + 1) == c, at(i + 2) == c else { return false }
        return isSeparator(i + 3)
    }

    // MARK: Document

    mutating func document() throws(YAMLSyntaxError) -> YAMLNode? {
        guard var indent = try nextContentLine() else { return nil }
        // Directives (%YAML, %TAG) come before an explicit start.
        while cur == UInt8(ascii: "%") && indent == 0 {
            while !atEnd && !Self.isBreak(cur) { pos += 1 }
            guard let next = try nextContentLine() else { return nil }
            indent = next
        }
        var root: YAMLNode?
        if atDocumentMarker(pos) && cur == UInt8(ascii: "-") {
            pos += 3
            skipToLineEnd()
            if !atEnd && !Self.isBreak(cur) {
                // Content on the `---` line itself.
                root = try inlineNode(parentIndent: -1, inFlow: false)
            } else if let next = try nextContentLine(), !atDocumentMarker(pos) {
                root = try blockNode(indent: next, parentIndent: -1)
            }
        } else if !atDocumentMarker(pos) {
            root = try blockNode(indent: indent, parentIndent: -1)
        }
        // Only blank lines, comments and an end marker may follow.
        guard try nextContentLine() != nil else { return root }
        if atDocumentMarker(pos) && cur == UInt8(ascii: ".") {
            pos += 3
            if try nextContentLine() == nil { return root }
        }
        if atDocumentMarker(pos) && cur == UInt8(ascii: "-") {
            throw error("expected a single document, found a second one")
        }
        throw error("unexpected content after the document (wrong indentation?)")
    }

    // MARK: Block structure

    /// The node that starts at `pos`, the first content of a line indented by `indent`
    /// (more than `parentIndent`).
    mutating func blockNode(indent: Int, parentIndent: Int) throws(YAMLSyntaxError) -> YAMLNode {
        try enter()
        defer { depth -= 1 }
        if cur == UInt8(ascii: "-") && isSeparator(pos + 1) {
            return try blockSequence(indent: indent)
        }
        if cur == UInt8(ascii: "?") && isSeparator(pos + 1) {
            throw error("complex mapping keys (\"? \") are not supported")
        }
        if looksLikeKey() {
            return try blockMapping(indent: indent)
        }
        return try inlineNode(parentIndent: parentIndent, inFlow: false)
    }

    mutating func enter() throws(YAMLSyntaxError) {
        depth += 1
        if depth > Self.maxDepth { throw error("nesting deeper than \(Self.maxDepth) levels") }
    }

    mutating func count(_ n: Int = 1) throws(YAMLSyntaxError) {
        nodes += n
        if nodes > Self.maxNodes { throw error("more than \(Self.maxNodes) nodes once aliases are expanded") }
    }

    mutating func blockSequence(indent: Int) throws(YAMLSyntaxError) -> YAMLNode {
        let start = pos
        var items: [YAMLNode] = []
        while true {
            // At a dash at `indent`.
            pos += 1
            skipBlanks()
            if atEnd || Self.isBreak(cur) || cur == UInt8(ascii: "#") {
                // The item is on the following lines, more indented, or empty.
                let save = pos
                if let next = try nextContentLine(), next > indent, !atDocumentMarker(pos) {
                    items.append(try blockNode(indent: next, parentIndent: indent))
                } else {
                    pos = save
                    items.append(try emptyScalar(at: save))
                }
            } else {
                // Inline: a compact mapping or sequence starts at this column.
                let column = indentColumn(pos)
                items.append(try blockNode(indent: column, parentIndent: indent))
            }
            try count()
            let save = pos
            guard let next = try nextContentLine() else { break }
            if next == indent && cur == UInt8(ascii: "-") && isSeparator(pos + 1) && !atDocumentMarker(pos) { continue }
            if next > indent { throw error("this line is indented more than the list item above it") }
            pos = save
            break
        }
        return .sequence(items, mark(start))
    }

    mutating func blockMapping(indent: Int) throws(YAMLSyntaxError) -> YAMLNode {
        let start = pos
        var entries: [(key: YAMLNode, value: YAMLNode)] = []
        var seen = Set<String>()
        while true {
            if cur == UInt8(ascii: "?") && isSeparator(pos + 1) {
                throw error("complex mapping keys (\"? \") are not supported")
            }
            guard looksLikeKey() else {
                throw error("expected a key (\"name: value\") at this indentation")
            }
            let keyStart = pos
            let key = try keyScalar()
            if case let .scalar(k) = key, !seen.insert(k.string).inserted {
                throw error("duplicate key \"\(k.string)\" in this mapping", at: keyStart)
            }
            // At the colon.
            pos += 1
            skipBlanks()
            let value: YAMLNode
            if atEnd || Self.isBreak(cur) || cur == UInt8(ascii: "#") {
                let save = pos
                if let next = try nextContentLine(), !atDocumentMarker(pos),
                    next > indent || (next == indent && cur == UInt8(ascii: "-") && isSeparator(pos + 1))
                {
                    value = try blockNode(indent: next, parentIndent: next == indent ? indent - 1 : indent)
                } else {
                    pos = save
                    value = try emptyScalar(at: save)
                }
            } else {
                value = try inlineNode(parentIndent: indent, inFlow: false)
            }
            entries.append((key, value))
            try count(2)
            let save = pos
            guard let next = try nextContentLine() else { break }
            if next == indent && !atDocumentMarker(pos) {
                if cur == UInt8(ascii: "-") && isSeparator(pos + 1) {
                    throw error("a list item where a key of the mapping above was expected")
                }
                continue
            }
            if next > indent { throw error("this line is indented more than the key above it (a missing \":\"?)") }
            pos = save
            break
        }
        return .mapping(entries, mark(start))
    }

    /// True when the line from `pos` is `key: ...` (a plain or quoted single-line key
    /// followed by a colon and a separator).
    func looksLikeKey() -> Bool {
        var i = pos
        let c = at(i)
        if c == UInt8(ascii: "'") || c == UInt8(ascii: "\"") {
            i += 1
            while i < b.count && !Self.isBreak(b[i]) {
                if b[i] == c {
                    if c == UInt8(ascii: "'") && at(i + 1) == c {
                        i += 2
                        continue
                    }
                    break
                }
                if c == UInt8(ascii: "\"") && b[i] == UInt8(ascii: "\\") { i += 1 }
                i += 1
            }
            guard at(i) == c else { return false }
            i += 1
            while Self.isBlank(at(i)) { i += 1 }
            return at(i) == UInt8(ascii: ":") && isSeparator(i + 1)
        }
        if c == UInt8(ascii: "&") || c == UInt8(ascii: "!") {
            // Anchored or tagged key: skip the property.
            while i < b.count && !isSeparator(i) { i += 1 }
            while Self.isBlank(at(i)) { i += 1 }
        }
        if !canStartPlain(i, inFlow: false) { return false }
        while i < b.count && !Self.isBreak(b[i]) {
            if b[i] == UInt8(ascii: ":") && isSeparator(i + 1) { return true }
            if b[i] == UInt8(ascii: "#") && i > 0 && Self.isBlank(b[i - 1]) { return false }
            i += 1
        }
        return false
    }

    /// A mapping key on one line: plain or quoted, optionally anchored; leaves `pos` at the colon.
    mutating func keyScalar() throws(YAMLSyntaxError) -> YAMLNode {
        var anchor: String?
        if cur == UInt8(ascii: "&") {
            anchor = try anchorName()
            skipBlanks()
        }
        if cur == UInt8(ascii: "!") {
            skipTag()
            skipBlanks()
        }
        let node: YAMLNode
        if cur == UInt8(ascii: "'") || cur == UInt8(ascii: "\"") {
            node = .scalar(try quoted(inFlow: false, parentIndent: -1))
        } else {
            let start = pos
            var end = pos
            while end < b.count && !Self.isBreak(b[end]) && !(b[end] == UInt8(ascii: ":") && isSeparator(end + 1)) { end += 1 }
            var last = end
            while last > start && Self.isBlank(b[last - 1]) { last -= 1 }
            pos = end
            node = .scalar(YAMLScalar(string: String(decoding: b[start..<last], as: UTF8.self), style: .plain, mark: mark(start)))
        }
        skipBlanks()
        if cur != UInt8(ascii: ":") { throw error("expected \":\" after the key") }
        if let anchor { anchors[anchor] = (node, 1) }
        return node
    }

    mutating func emptyScalar(at offset: Int) throws(YAMLSyntaxError) -> YAMLNode {
        try count()
        return .scalar(YAMLScalar(string: "", style: .plain, mark: mark(offset)))
    }

    // MARK: Nodes on a line (block context) and in flow collections

    /// A node that starts at `pos` in the middle of a line: properties (anchor, tag), then
    /// an alias, a flow collection, a quoted, block or plain scalar. In block context the
    /// caller's `parentIndent` bounds multi-line scalars.
    mutating func inlineNode(parentIndent: Int, inFlow: Bool) throws(YAMLSyntaxError) -> YAMLNode {
        try enter()
        defer { depth -= 1 }
        var anchor: String?
        var anchorStart = 0
        while cur == UInt8(ascii: "&") || cur == UInt8(ascii: "!") {
            if cur == UInt8(ascii: "&") {
                if anchor != nil { throw error("a node may have one anchor") }
                anchor = try anchorName()
                anchorStart = nodes
            } else {
                skipTag()
            }
            skipBlanks()
            if !inFlow && (atEnd || Self.isBreak(cur) || cur == UInt8(ascii: "#")) {
                // The anchored node is on the next lines (a block collection).
                let save = pos
                if let next = try nextContentLine(), next > parentIndent, !atDocumentMarker(pos) {
                    let node = try blockNode(indent: next, parentIndent: parentIndent)
                    if let anchor { anchors[anchor] = (node, nodes - anchorStart + 1) }
                    return node
                }
                pos = save
                let node = try emptyScalar(at: save)
                if let anchor { anchors[anchor] = (node, 1) }
                return node
            }
        }
        let node: YAMLNode
        let c = cur
        if c == UInt8(ascii: "*") {
            if anchor != nil { throw error("an alias may not have an anchor") }
            let start = pos
            pos += 1
            let name = try propertyName(start, what: "an alias")
            guard let target = anchors[name] else { throw error("unknown alias \"*\(name)\"", at: start) }
            try count(target.size - 1)
            node = target.node
        } else if c == UInt8(ascii: "[") || c == UInt8(ascii: "{") {
            node = try flowCollection()
        } else if c == UInt8(ascii: "'") || c == UInt8(ascii: "\"") {
            node = .scalar(try quoted(inFlow: inFlow, parentIndent: parentIndent))
        } else if !inFlow && (c == UInt8(ascii: "|") || c == UInt8(ascii: ">")) {
            node = .scalar(try blockScalar(parentIndent: parentIndent))
        } else if atEnd || Self.isBreak(c) || c == UInt8(ascii: "#") || (inFlow && (c == UInt8(ascii: ",") || c == UInt8(ascii: "]") || c == UInt8(ascii: "}"))) {
            node = try emptyScalar(at: pos)
        } else if canStartPlain(pos, inFlow: inFlow) {
            node = .scalar(try plain(parentIndent: parentIndent, inFlow: inFlow))
        } else {
            throw error("a value may not start with \"\(String(decoding: [c], as: UTF8.self))\"")
        }
        try count()
        if let anchor { anchors[anchor] = (node, nodes - anchorStart) }
        if !inFlow {
            // Only a comment may follow on the line.
            skipToLineEnd()
            if !atEnd && !Self.isBreak(cur) {
                if cur == UInt8(ascii: ":") {
                    throw error("a mapping value is not allowed here (a \": \" inside a value needs quotes)")
                }
                throw error("unexpected text after the value")
            }
        }
        return node
    }

    mutating func anchorName() throws(YAMLSyntaxError) -> String {
        let start = pos
        pos += 1
        return try propertyName(start, what: "an anchor")
    }

    /// The name of an anchor or alias (after `&` or `*` at `start`): letters, digits, `-` and
    /// `_` (as libyaml reads them), then a space, a line break or a flow indicator.
    mutating func propertyName(_ start: Int, what: String) throws(YAMLSyntaxError) -> String {
        while Self.isNameCharacter(cur) { pos += 1 }
        if pos == start + 1 { throw error("\(what) needs a name", at: start) }
        if !isSeparator(pos) && !isFlowIndicator(cur) {
            throw error("\(what) name may contain only letters, digits, \"-\" and \"_\"", at: pos)
        }
        return String(decoding: b[(start + 1)..<pos], as: UTF8.self)
    }

    static func isNameCharacter(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
            || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: "-") || c == UInt8(ascii: "_")
    }

    mutating func skipTag() {
        while !atEnd && !isSeparator(pos) { pos += 1 }
    }

    func isFlowIndicator(_ c: UInt8) -> Bool {
        c == UInt8(ascii: ",") || c == UInt8(ascii: "[") || c == UInt8(ascii: "]") || c == UInt8(ascii: "{")
            || c == UInt8(ascii: "}")
    }

    func canStartPlain(_ i: Int, inFlow: Bool) -> Bool {
        guard i < b.count else { return false }
        let c = b[i]
        if Self.isBlank(c) || Self.isBreak(c) { return false }
        switch c {
        case UInt8(ascii: "-"), UInt8(ascii: "?"), UInt8(ascii: ":"):
            let n = at(i + 1)
            return !(isSeparator(i + 1) || (inFlow && isFlowIndicator(n)))
        case UInt8(ascii: ","), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "{"), UInt8(ascii: "}"),
            UInt8(ascii: "#"), UInt8(ascii: "&"), UInt8(ascii: "*"), UInt8(ascii: "!"), UInt8(ascii: "|"),
            UInt8(ascii: ">"), UInt8(ascii: "'"), UInt8(ascii: "\""), UInt8(ascii: "%"), UInt8(ascii: "@"),
            UInt8(ascii: "`"):
            return false
        default:
            return true
        }
    }

    // MARK: Flow collections

    /// Skips blanks, comments and line breaks inside a flow collection.
    mutating func skipFlowSpace() throws(YAMLSyntaxError) {
        while true {
            skipBlanks()
            if cur == UInt8(ascii: "#") && (pos == 0 || Self.isBlank(b[pos - 1]) || Self.isBreak(b[pos - 1])) {
                while !atEnd && !Self.isBreak(cur) { pos += 1 }
            }
            if Self.isBreak(cur) {
                skipBreak()
                if atDocumentMarker(pos) { throw error("the document ended inside a flow collection") }
                continue
            }
            return
        }
    }

    mutating func flowCollection() throws(YAMLSyntaxError) -> YAMLNode {
        try enter()
        defer { depth -= 1 }
        let start = pos
        let isMapping = cur == UInt8(ascii: "{")
        let close = isMapping ? UInt8(ascii: "}") : UInt8(ascii: "]")
        var unclosed: YAMLSyntaxError {
            error("the text ended inside a flow \(isMapping ? "mapping" : "list") (a missing \"\(isMapping ? "}" : "]")\"?)")
        }
        pos += 1
        var items: [YAMLNode] = []
        var entries: [(key: YAMLNode, value: YAMLNode)] = []
        var seen = Set<String>()
        while true {
            try skipFlowSpace()
            if atEnd { throw unclosed }
            if cur == close {
                pos += 1
                break
            }
            if cur == UInt8(ascii: "?") && isSeparator(pos + 1) {
                throw error("complex mapping keys (\"? \") are not supported")
            }
            if cur == UInt8(ascii: ",") {
                throw error("an empty entry in this flow \(isMapping ? "mapping" : "list") (two commas in a row?)")
            }
            let entryStart = pos
            let first = try inlineNode(parentIndent: -1, inFlow: true)
            try skipFlowSpace()
            if cur == UInt8(ascii: ":") {
                // key: value
                pos += 1
                try skipFlowSpace()
                let value: YAMLNode
                if cur == UInt8(ascii: ",") || cur == close {
                    value = try emptyScalar(at: pos)
                } else {
                    value = try inlineNode(parentIndent: -1, inFlow: true)
                }
                guard case let .scalar(k) = first else {
                    throw error("a list or mapping may not be a key", at: entryStart)
                }
                if isMapping {
                    if !seen.insert(k.string).inserted {
                        throw error("duplicate key \"\(k.string)\" in this mapping", at: entryStart)
                    }
                    entries.append((first, value))
                } else {
                    items.append(.mapping([(first, value)], first.mark))
                }
                try skipFlowSpace()
            } else if isMapping {
                // A key without a value.
                guard case let .scalar(k) = first else {
                    throw error("a list or mapping may not be a key", at: entryStart)
                }
                if !seen.insert(k.string).inserted {
                    throw error("duplicate key \"\(k.string)\" in this mapping", at: entryStart)
                }
                entries.append((first, try emptyScalar(at: pos)))
            } else {
                items.append(first)
            }
            if cur == UInt8(ascii: ",") {
                pos += 1
                continue
            }
            if cur == close {
                pos += 1
                break
            }
            if atEnd { throw unclosed }
            throw error("expected \",\" or \"\(String(decoding: [close], as: UTF8.self))\" in this flow \(isMapping ? "mapping" : "list")")
        }
        return isMapping ? .mapping(entries, mark(start)) : .sequence(items, mark(start))
    }

    // MARK: Scalars

    /// A plain scalar; in block context it may continue on following lines indented more than
    /// `parentIndent` (lines fold into spaces, blank lines into line breaks).
    mutating func plain(parentIndent: Int, inFlow: Bool) throws(YAMLSyntaxError) -> YAMLScalar {
        let start = pos
        var out: [UInt8] = []
        var pendingBreaks = 0
        var first = true
        while true {
            // One line's worth.
            let lineStart = pos
            while !atEnd && !Self.isBreak(cur) {
                let c = cur
                if c == UInt8(ascii: ":") && (isSeparator(pos + 1) || (inFlow && isFlowIndicator(at(pos + 1)))) { break }
                if c == UInt8(ascii: "#") && pos > lineStart && Self.isBlank(b[pos - 1]) { break }
                if inFlow && isFlowIndicator(c) { break }
                pos += 1
            }
            var end = pos
            while end > lineStart && Self.isBlank(b[end - 1]) { end -= 1 }
            if end > lineStart {
                if !first {
                    if pendingBreaks == 1 { out.append(32) } else { out += [UInt8](repeating: 10, count: pendingBreaks - 1) }
                }
                out += b[lineStart..<end]
                first = false
                pendingBreaks = 0
            }
            // Stop unless the next line continues the scalar.
            if !Self.isBreak(cur) { break }
            let save = pos
            var breaks = 0
            var next = pos
            var contentAt: Int?
            while next < b.count {
                if Self.isBreak(b[next]) {
                    if b[next] == 13 && at(next + 1) == 10 { next += 1 }
                    next += 1
                    breaks += 1
                    var j = next
                    while Self.isBlank(at(j)) { j += 1 }
                    if j < b.count && !Self.isBreak(b[j]) {
                        contentAt = j
                        break
                    }
                    next = j
                } else {
                    break
                }
            }
            guard let content = contentAt else {
                pos = save
                break
            }
            let indent = indentColumn(content)
            let c = b[content]
            let continues: Bool
            if inFlow {
                continues = !(isFlowIndicator(c) || c == UInt8(ascii: "#") || (c == UInt8(ascii: ":") && isSeparator(content + 1)))
                    && !atDocumentMarker(content)
            } else {
                continues = indent > parentIndent && c != UInt8(ascii: "#") && !atDocumentMarker(content)
            }
            guard continues else {
                pos = save
                break
            }
            if !inFlow {
                // A continuation line may not itself be "key: value".
                var j = content
                while j < b.count && !Self.isBreak(b[j]) {
                    if b[j] == UInt8(ascii: ":") && isSeparator(j + 1) {
                        throw error("a mapping value is not allowed here (a missing \"-\" or wrong indentation?)", at: j)
                    }
                    if b[j] == UInt8(ascii: "#") && Self.isBlank(b[j - 1]) { break }
                    j += 1
                }
            }
            pendingBreaks = breaks
            pos = content
        }
        return YAMLScalar(string: String(decoding: out, as: UTF8.self), style: .plain, mark: mark(start))
    }

    /// A single- or double-quoted scalar (which may span lines, folded as YAML says).
    mutating func quoted(inFlow: Bool, parentIndent: Int) throws(YAMLSyntaxError) -> YAMLScalar {
        let start = pos
        let q = cur
        let double = q == UInt8(ascii: "\"")
        pos += 1
        var out: [UInt8] = []
        while true {
            if atEnd { throw error("the text ended inside a quoted string (a missing \(double ? "\"" : "'")?)", at: start) }
            let c = cur
            if c == q {
                if !double && at(pos + 1) == q {
                    out.append(q)
                    pos += 2
                    continue
                }
                pos += 1
                break
            }
            if double && c == UInt8(ascii: "\\") {
                pos += 1
                if Self.isBreak(cur) {
                    // An escaped line break: the lines join without a space; empty lines
                    // after it are line breaks.
                    skipBreak()
                    skipBlanks()
                    while Self.isBreak(cur) {
                        skipBreak()
                        skipBlanks()
                        out.append(10)
                    }
                    continue
                }
                try escape(into: &out)
                continue
            }
            if Self.isBreak(c) || Self.isBlank(c) {
                // Fold: trailing blanks of the line go; one break is a space, more are breaks.
                var j = pos
                while Self.isBlank(at(j)) { j += 1 }
                if !Self.isBreak(at(j)) {
                    if j >= b.count {
                        pos = j
                        continue
                    }
                    out += b[pos..<j]
                    pos = j
                    continue
                }
                var breaks = 0
                while Self.isBreak(at(j)) || Self.isBlank(at(j)) {
                    if Self.isBreak(at(j)) {
                        if at(j) == 13 && at(j + 1) == 10 { j += 1 }
                        breaks += 1
                    }
                    j += 1
                }
                if j < b.count && atDocumentMarker(j) { throw error("the document ended inside a quoted string", at: start) }
                if breaks == 1 { out.append(32) } else { out += [UInt8](repeating: 10, count: breaks - 1) }
                pos = j
                continue
            }
            out.append(c)
            pos += 1
        }
        return YAMLScalar(
            string: String(decoding: out, as: UTF8.self), style: double ? .doubleQuoted : .singleQuoted, mark: mark(start))
    }

    mutating func escape(into out: inout [UInt8]) throws(YAMLSyntaxError) {
        let at0 = pos - 1
        let c = cur
        pos += 1
        func hex(_ n: Int) throws(YAMLSyntaxError) -> UInt32 {
            var v: UInt32 = 0
            for _ in 0..<n {
                guard let d = hexDigitValue(cur) else {
                    throw error("\\\(String(decoding: [c], as: UTF8.self)) needs \(n) hexadecimal digits", at: at0)
                }
                v = v << 4 | UInt32(d)
                pos += 1
            }
            return v
        }
        var scalar: UInt32
        switch c {
        case UInt8(ascii: "0"): scalar = 0
        case UInt8(ascii: "a"): scalar = 7
        case UInt8(ascii: "b"): scalar = 8
        case UInt8(ascii: "t"), 9: scalar = 9
        case UInt8(ascii: "n"): scalar = 10
        case UInt8(ascii: "v"): scalar = 11
        case UInt8(ascii: "f"): scalar = 12
        case UInt8(ascii: "r"): scalar = 13
        case UInt8(ascii: "e"): scalar = 27
        case UInt8(ascii: " "): scalar = 32
        case UInt8(ascii: "\""): scalar = 34
        case UInt8(ascii: "/"): scalar = 47
        case UInt8(ascii: "\\"): scalar = 92
        case UInt8(ascii: "N"): scalar = 0x85
        case UInt8(ascii: "_"): scalar = 0xA0
        case UInt8(ascii: "L"): scalar = 0x2028
        case UInt8(ascii: "P"): scalar = 0x2029
        case UInt8(ascii: "x"): scalar = try hex(2)
        case UInt8(ascii: "u"):
            scalar = try hex(4)
            // A UTF-16 surrogate pair written as two escapes, as JSON writes them.
            if (0xD800..<0xDC00).contains(scalar), cur == UInt8(ascii: "\\"), at(pos + 1) == UInt8(ascii: "u") {
                let save = pos
                pos += 2
                if let pair = combinedSurrogates(high: scalar, low: try hex(4)) {
                    scalar = pair
                } else {
                    pos = save
                }
            }
        case UInt8(ascii: "U"): scalar = try hex(8)
        default:
            throw error("unknown escape \"\\\(String(decoding: [c], as: UTF8.self))\" in a double-quoted string", at: at0)
        }
        guard let u = Unicode.Scalar(scalar) else { throw error("escape \\u\(String(scalar, radix: 16)) is not a character", at: at0) }
        out += Array(String(Character(u)).utf8)
    }

    /// A literal (`|`) or folded (`>`) block scalar: header, then lines indented more than
    /// `parentIndent`.
    mutating func blockScalar(parentIndent: Int) throws(YAMLSyntaxError) -> YAMLScalar {
        let start = pos
        let literal = cur == UInt8(ascii: "|")
        pos += 1
        enum Chomp { case clip, strip, keep }
        var chomp = Chomp.clip
        var explicitIndent: Int?
        for _ in 0..<2 {
            let c = cur
            if c == UInt8(ascii: "-") || c == UInt8(ascii: "+") {
                chomp = c == UInt8(ascii: "-") ? .strip : .keep
                pos += 1
            } else if c >= UInt8(ascii: "1") && c <= UInt8(ascii: "9") {
                explicitIndent = Int(c - UInt8(ascii: "0"))
                pos += 1
            }
        }
        skipBlanks()
        if cur == UInt8(ascii: "#") && Self.isBlank(b[pos - 1]) { while !atEnd && !Self.isBreak(cur) { pos += 1 } }
        if !atEnd && !Self.isBreak(cur) { throw error("unexpected text after the block scalar indicator") }
        var indent = explicitIndent.map { max(parentIndent, 0) + $0 }
        var lines: [ArraySlice<UInt8>] = []  // content lines with the indentation removed; empty for blank lines
        while !atEnd {
            // At a line break.
            let lineBreakAt = pos
            skipBreak()
            if atEnd { break }
            let lineStart = pos
            var spaces = 0
            while at(lineStart + spaces) == 32 { spaces += 1 }
            let afterSpaces = lineStart + spaces
            var lineEnd = afterSpaces
            while lineEnd < b.count && !Self.isBreak(b[lineEnd]) { lineEnd += 1 }
            let blank = b[afterSpaces..<lineEnd].allSatisfy(Self.isBlank)
            if blank {
                if let indent, spaces > indent {
                    lines.append(b[(lineStart + indent)..<lineEnd])
                } else {
                    lines.append([])
                }
                pos = lineEnd
                continue
            }
            if indent == nil {
                if spaces <= parentIndent { pos = lineBreakAt; break }
                indent = spaces
            }
            guard let indent, spaces >= indent, !(spaces == 0 && atDocumentMarker(lineStart)) else {
                pos = lineBreakAt
                break
            }
            lines.append(b[(lineStart + indent)..<lineEnd])
            pos = lineEnd
        }
        // Trailing blank lines belong to chomping.
        var trailing = 0
        while let last = lines.last, last.isEmpty {
            lines.removeLast()
            trailing += 1
        }
        var out: [UInt8] = []
        if literal {
            for (i, line) in lines.enumerated() {
                if i > 0 { out.append(10) }
                out += line
            }
        } else {
            // Folding: a break between two lines that both start without extra indentation is a space.
            var previousMoreIndented = false
            var previousWasContent = false
            var emptyRun = 0
            for line in lines {
                let moreIndented = !line.isEmpty && Self.isBlank(line.first!)
                if line.isEmpty {
                    emptyRun += 1
                    continue
                }
                if previousWasContent {
                    if emptyRun == 0 {
                        out.append(moreIndented || previousMoreIndented ? 10 : 32)
                    } else {
                        out += [UInt8](repeating: 10, count: emptyRun + (moreIndented || previousMoreIndented ? 1 : 0))
                    }
                } else if emptyRun > 0 {
                    out += [UInt8](repeating: 10, count: emptyRun)
                }
                out += line
                emptyRun = 0
                previousWasContent = true
                previousMoreIndented = moreIndented
            }
        }
        let hasContent = !lines.isEmpty
        switch chomp {
        case .strip: break
        case .clip: if hasContent { out.append(10) }
        case .keep:
            if hasContent { out.append(10) }
            out += [UInt8](repeating: 10, count: trailing)
        }
        return YAMLScalar(
            string: String(decoding: out, as: UTF8.self), style: literal ? .literal : .folded, mark: mark(start))
    }
}
