import CYAML

/// YAML for configuration and rule files, read by libyaml's event parser. This layer builds
/// the tree a strict loader needs (each node's style and its position in the file) and adds
/// what libyaml leaves to its caller: one document only, duplicate keys are errors, complex
/// (`?`) keys and collections as keys are refused, nesting and alias expansion are bounded.
/// Tags are accepted and ignored, aliases are expanded, every scalar stays a string (the
/// loader decides what it means).

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
    /// block collection's first key or dash, a flow collection's bracket. An anchor or tag
    /// before the node is not part of it.
    public var mark: YAMLMark {
        switch self {
        case let .scalar(s): return s.mark
        case let .mapping(_, m), let .sequence(_, m): return m
        }
    }

    var isScalar: Bool {
        if case .scalar = self { return true }
        return false
    }
}

public struct YAMLSyntaxError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var mark: YAMLMark
    public var description: String { "\(mark.line):\(mark.column): \(message)" }
}

public enum YAML {
    /// The one document in `text`, or nil when it holds none (only comments, or nothing).
    public static func parse(_ text: String) throws(YAMLSyntaxError) -> YAMLNode? {
        var text = text
        let result = text.withUTF8 { utf8 in
            // libyaml would skip a byte order mark too, but byte offsets are simpler without it.
            let bytes = utf8.starts(with: [0xEF, 0xBB, 0xBF]) ? UnsafeBufferPointer(rebasing: utf8.dropFirst(3)) : utf8
            return Result { () throws(YAMLSyntaxError) in
                var reader = YAMLEventReader(bytes)
                return try reader.document()
            }
        }
        return try result.get()
    }
}

/// Reads libyaml's events for `text` into a tree.
private struct YAMLEventReader {
    static let maxDepth = 256
    /// Nodes a document may hold once aliases are expanded (a "billion laughs" guard).
    static let maxNodes = 1_000_000

    let text: UnsafeBufferPointer<UInt8>
    var offsets: ByteOffsets

    /// A collection being read.
    struct Open {
        var isMapping: Bool
        var mark: YAMLMark
        var anchor: String?
        /// `nodes` before this collection, to know its size once it is complete.
        var nodesBefore: Int
        var items: [YAMLNode] = []
        var entries: [(key: YAMLNode, value: YAMLNode)] = []
        /// The key read, waiting for its value.
        var key: YAMLNode?
        var keys: Set<String> = []
    }

    var open: [Open] = []
    var root: YAMLNode?
    var documents = 0
    /// Nodes read so far, an alias counting as the nodes it stands for.
    var nodes = 0
    var anchors: [String: (node: YAMLNode, size: Int)] = [:]
    /// Where the text between the previous event and the next one starts (what is there is
    /// indicators, blanks and comments: a `?` in it starts a complex key).
    var gapStart = yaml_mark_t()

    init(_ text: UnsafeBufferPointer<UInt8>) {
        self.text = text
        offsets = ByteOffsets(text)
    }

    mutating func document() throws(YAMLSyntaxError) -> YAMLNode? {
        // libyaml asserts on a null input pointer, which an empty buffer may have.
        guard let base = text.baseAddress, !text.isEmpty else { return nil }
        let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
        defer { parser.deallocate() }
        guard yaml_parser_initialize(parser) != 0 else {
            throw YAMLSyntaxError(message: "out of memory", mark: YAMLMark(line: 1, column: 1))
        }
        defer { yaml_parser_delete(parser) }
        yaml_parser_set_input_string(parser, base, text.count)
        var event = yaml_event_t()
        while true {
            guard yaml_parser_parse(parser, &event) != 0 else { throw syntaxError(parser.pointee) }
            defer { yaml_event_delete(&event) }
            if event.type == YAML_STREAM_END_EVENT { break }
            try read(event)
        }
        // A document with nothing in it (`---` alone) holds no node.
        if case let .scalar(s) = root, s.style == .plain, s.string.isEmpty { return nil }
        return root
    }

    var atKey: Bool {
        guard let last = open.last else { return false }
        return last.isMapping && last.key == nil
    }

    mutating func read(_ e: yaml_event_t) throws(YAMLSyntaxError) {
        switch e.type {
        case YAML_DOCUMENT_START_EVENT:
            documents += 1
            if documents > 1 { throw error("expected a single document, found a second one", at: e.start_mark) }
        case YAML_ALIAS_EVENT:
            let name = String(cString: e.data.alias.anchor)
            if atKey { try refuseComplexKey(before: e.start_mark) }
            guard let target = anchors[name] else { throw error("unknown alias \"*\(name)\"", at: e.start_mark) }
            if atKey, !target.node.isScalar { throw error("a list or mapping may not be a key", at: e.start_mark) }
            let before = nodes
            try count(target.size, at: e.start_mark)
            try add(target.node, anchor: nil, nodesBefore: before, at: e.start_mark)
        case YAML_SCALAR_EVENT:
            let s = e.data.scalar
            let properties = s.anchor != nil || s.tag != nil
            if atKey { try refuseComplexKey(before: e.start_mark) }
            let mark = contentMark(e.start_mark, properties: properties)
            let string = String(decoding: UnsafeBufferPointer(start: s.value, count: s.length), as: UTF8.self)
            let style: YAMLScalar.Style
            switch s.style {
            case YAML_SINGLE_QUOTED_SCALAR_STYLE: style = .singleQuoted
            case YAML_DOUBLE_QUOTED_SCALAR_STYLE: style = .doubleQuoted
            case YAML_LITERAL_SCALAR_STYLE: style = .literal
            case YAML_FOLDED_SCALAR_STYLE: style = .folded
            default: style = .plain
            }
            let before = nodes
            try count(1, at: e.start_mark)
            try add(
                .scalar(YAMLScalar(string: string, style: style, mark: mark)), anchor: s.anchor.map { String(cString: $0) },
                nodesBefore: before, at: e.start_mark)
        case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
            let isMapping = e.type == YAML_MAPPING_START_EVENT
            let anchor = isMapping ? e.data.mapping_start.anchor : e.data.sequence_start.anchor
            let tag = isMapping ? e.data.mapping_start.tag : e.data.sequence_start.tag
            if atKey { try refuseComplexKey(before: e.start_mark) }
            let mark = contentMark(e.start_mark, properties: anchor != nil || tag != nil)
            if atKey { throw YAMLSyntaxError(message: "a list or mapping may not be a key", mark: mark) }
            if open.count >= Self.maxDepth {
                throw YAMLSyntaxError(message: "nesting deeper than \(Self.maxDepth) levels", mark: mark)
            }
            let before = nodes
            try count(1, at: e.start_mark)
            open.append(Open(isMapping: isMapping, mark: mark, anchor: anchor.map { String(cString: $0) }, nodesBefore: before))
            // A block mapping starts at its first key (which may be a `?`), a flow mapping at
            // its brace, a single-pair mapping in a flow list at its key (or `?`); after
            // properties, the start event ends where the mapping does.
            gapStart = anchor == nil && tag == nil ? e.start_mark : e.end_mark
            return
        case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
            let c = open.removeLast()
            try add(
                c.isMapping ? .mapping(c.entries, c.mark) : .sequence(c.items, c.mark), anchor: c.anchor,
                nodesBefore: c.nodesBefore, at: e.start_mark)
        default:
            break
        }
        gapStart = e.end_mark
    }

    mutating func count(_ n: Int, at mark: yaml_mark_t) throws(YAMLSyntaxError) {
        nodes += n
        if nodes > Self.maxNodes { throw error("more than \(Self.maxNodes) nodes once aliases are expanded", at: mark) }
    }

    /// Puts a complete node where it belongs: the root, a list item, a key or a value.
    mutating func add(_ node: YAMLNode, anchor: String?, nodesBefore: Int, at mark: yaml_mark_t) throws(YAMLSyntaxError) {
        if let anchor { anchors[anchor] = (node, nodes - nodesBefore) }
        let i = open.count - 1
        guard i >= 0 else {
            root = node
            return
        }
        if !open[i].isMapping {
            open[i].items.append(node)
        } else if let key = open[i].key {
            open[i].entries.append((key, node))
            open[i].key = nil
        } else {
            if case let .scalar(k) = node, !open[i].keys.insert(k.string).inserted {
                throw error("duplicate key \"\(k.string)\" in this mapping", at: mark)
            }
            open[i].key = node
        }
    }

    /// libyaml reads `? key` like `key:`; the `?` is only in the text before the key.
    mutating func refuseComplexKey(before mark: yaml_mark_t) throws(YAMLSyntaxError) {
        var walk = TextWalk(offsets.byte(ofCharacter: gapStart.index), gapStart)
        let end = offsets.byte(ofCharacter: mark.index)
        while walk.offset < end {
            switch text[walk.offset] {
            case UInt8(ascii: "#"):
                while walk.offset < end && !TextWalk.isBreak(text[walk.offset]) { walk.step(text) }
            case UInt8(ascii: "?"):
                throw YAMLSyntaxError(message: "complex mapping keys (\"? \") are not supported", mark: walk.mark)
            default:
                walk.step(text)
            }
        }
    }

    /// The mark of a node's content: after its anchor and tag (and the blanks, line breaks
    /// and comments that may follow them), where libyaml's mark is before them.
    mutating func contentMark(_ start: yaml_mark_t, properties: Bool) -> YAMLMark {
        var walk = TextWalk(offsets.byte(ofCharacter: start.index), start)
        guard properties else { return walk.mark }
        while walk.offset < text.count {
            let c = text[walk.offset]
            if c == UInt8(ascii: "&") || c == UInt8(ascii: "!") {
                while walk.offset < text.count && !TextWalk.isSeparator(text[walk.offset]) { walk.step(text) }
            } else if c == UInt8(ascii: "#") {
                while walk.offset < text.count && !TextWalk.isBreak(text[walk.offset]) { walk.step(text) }
            } else if TextWalk.isBlank(c) || TextWalk.isBreak(c) {
                walk.step(text)
            } else {
                break
            }
        }
        return walk.mark
    }

    func error(_ message: String, at mark: yaml_mark_t) -> YAMLSyntaxError {
        YAMLSyntaxError(message: message, mark: YAMLMark(line: mark.line + 1, column: mark.column + 1))
    }

    // MARK: libyaml's errors

    /// libyaml's error, in this reader's words where they say more, at the place of the fault.
    mutating func syntaxError(_ p: yaml_parser_t) -> YAMLSyntaxError {
        let problem = p.problem.map { String(cString: $0) } ?? "syntax error"
        let context = p.context.map { String(cString: $0) }
        if p.error == YAML_MEMORY_ERROR {
            return YAMLSyntaxError(message: "out of memory", mark: YAMLMark(line: 1, column: 1))
        }
        if p.error == YAML_READER_ERROR {
            // The reader gives a byte offset, no mark.
            var walk = TextWalk(0, yaml_mark_t())
            let end = min(p.problem_offset, text.count)
            while walk.offset < end { walk.step(text) }
            let message =
                problem == "control characters are not allowed"
                ? "control character U+\(hex4(p.problem_value)) is not allowed in YAML" : problem
            return YAMLSyntaxError(message: message, mark: walk.mark)
        }
        var at = p.problem_mark
        let offset = offsets.byte(ofCharacter: at.index)
        let here = offset < text.count ? text[offset] : 0
        let collection = open.last.map { $0.isMapping ? "mapping" : "list" } ?? "collection"
        var message: String
        switch problem {
        case "found unexpected end of stream" where context == "while scanning a quoted scalar":
            at = p.context_mark
            message = "the text ended inside a quoted string (a missing closing quote?)"
        case "found unexpected document indicator" where context == "while scanning a quoted scalar":
            at = p.context_mark
            message = "the document ended inside a quoted string (a missing closing quote?)"
        case "did not find expected ',' or ']'", "did not find expected ',' or '}'":
            let (kind, close) = problem.hasSuffix("']'") ? ("list", "]") : ("mapping", "}")
            message =
                offset >= text.count
                ? "the text ended inside a flow \(kind) (a missing \"\(close)\"?)"
                : "expected \",\" or \"\(close)\" in this flow \(kind)"
        case "mapping values are not allowed in this context":
            message = "a mapping value is not allowed here (a \": \" inside a value needs quotes; wrong indentation?)"
        case "did not find expected key":
            if !firstOnLine(offset) {
                message = "unexpected text after the value"
            } else if here == UInt8(ascii: "-") {
                message = "a list item where a key of the mapping above was expected"
            } else if let mapping = open.last, at.column + 1 > mapping.mark.column {
                message = "this line is indented more than the key above it (a missing \":\"?)"
            } else {
                message = "expected a key (\"name: value\") at this indentation"
            }
        case "did not find expected '-' indicator":
            message =
                firstOnLine(offset)
                ? "expected a list item (\"- \") at this indentation" : "unexpected text after the list item"
        case "did not find expected <document start>":
            message = "unexpected content after the document"
        case "found character that cannot start any token":
            message = here == 9 ? Self.tab : "a value may not start with \"\(character(at: offset))\""
        case "found a tab character that violates indentation",
            "found a tab character where an indentation space is expected":
            message = Self.tab
        case "found unknown escape character":
            message = "unknown escape \"\\\(character(at: offset + 1))\" in a double-quoted string"
        case "did not find expected node content" where here == UInt8(ascii: ","):
            message = "an empty entry in this flow \(collection) (two commas in a row?)"
        case "did not find expected node content" where here == UInt8(ascii: ":"):
            message = "a key is missing before the \":\""
        case "did not find expected alphabetic or numeric character":
            let what = context == "while scanning an alias" ? "an alias" : "an anchor"
            if firstOfName(offset) {
                at = p.context_mark
                message = "\(what) needs a name"
            } else {
                message = "\(what) name may contain only letters, digits, \"-\" and \"_\""
            }
        case "could not find expected ':'":
            // A line that must be a key (it is where the keys of its mapping are) but has no colon.
            at = p.context_mark
            message = "expected a key (\"name: value\") at this indentation (a missing \":\"?)"
        case "found invalid Unicode character escape code", "did not find expected hexdecimal number":
            // At the first digit; the escape starts two characters before (`\u`).
            at.column = max(0, at.column - 2)
            message =
                problem.hasPrefix("found")
                ? "this escape is not a Unicode character (UTF-16 surrogates are not)"
                : "\\\(character(at: offsets.byte(ofCharacter: at.index - 1))) needs more hexadecimal digits"
        default:
            message = context.map { "\(problem) \($0)" } ?? problem
        }
        return error(message, at: at)
    }

    static let tab = "a tab character may not indent (use spaces)"

    /// True when only blanks come before `offset` on its line.
    func firstOnLine(_ offset: Int) -> Bool {
        var i = min(offset, text.count)
        while i > 0 && TextWalk.isBlank(text[i - 1]) { i -= 1 }
        return i == 0 || TextWalk.isBreak(text[i - 1])
    }

    /// True when `offset` is just after a `&` or `*` (where an anchor's or alias's name starts).
    func firstOfName(_ offset: Int) -> Bool {
        offset > 0 && offset <= text.count && (text[offset - 1] == UInt8(ascii: "&") || text[offset - 1] == UInt8(ascii: "*"))
    }

    /// The character that starts at `offset`.
    func character(at offset: Int) -> String {
        guard offset < text.count else { return "" }
        var end = offset + 1
        while end < text.count && text[end] & 0xC0 == 0x80 { end += 1 }
        return String(decoding: UnsafeBufferPointer(rebasing: text[offset..<end]), as: UTF8.self)
    }

    func hex4(_ value: CInt) -> String {
        let hex = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }
}

/// Byte offsets of libyaml's character indices (its marks count characters, a CR LF as two).
private struct ByteOffsets {
    let text: UnsafeBufferPointer<UInt8>
    let ascii: Bool
    var character = 0
    var byte = 0

    init(_ text: UnsafeBufferPointer<UInt8>) {
        self.text = text
        ascii = text.allSatisfy { $0 < 0x80 }
    }

    /// Marks mostly come in order: the walk goes on from the last one.
    mutating func byte(ofCharacter index: Int) -> Int {
        if ascii { return min(index, text.count) }
        if index < character { (character, byte) = (0, 0) }
        while character < index && byte < text.count {
            byte += 1
            while byte < text.count && text[byte] & 0xC0 == 0x80 { byte += 1 }
            character += 1
        }
        return byte
    }
}

/// A position moved through the text one character at a time, keeping line and column as
/// libyaml counts them (CR LF, CR, LF, NEL, LS and PS break lines).
private struct TextWalk {
    var offset: Int
    var line: Int
    var column: Int

    init(_ offset: Int, _ mark: yaml_mark_t) {
        self.offset = offset
        line = mark.line
        column = mark.column
    }

    var mark: YAMLMark { YAMLMark(line: line + 1, column: column + 1) }

    static func isBlank(_ c: UInt8) -> Bool { c == 32 || c == 9 }
    static func isBreak(_ c: UInt8) -> Bool { c == 10 || c == 13 }
    static func isSeparator(_ c: UInt8) -> Bool { isBlank(c) || isBreak(c) }

    mutating func step(_ text: UnsafeBufferPointer<UInt8>) {
        let c = text[offset]
        let next = offset + 1 < text.count ? text[offset + 1] : 0
        var width = 1
        var lineBreak = c == 10 || c == 13
        if c == 13 && next == 10 {
            width = 2
        } else if c >= 0x80 {
            while offset + width < text.count && text[offset + width] & 0xC0 == 0x80 { width += 1 }
            lineBreak =
                (c == 0xC2 && next == 0x85)
                || (c == 0xE2 && next == 0x80 && offset + 2 < text.count && (text[offset + 2] == 0xA8 || text[offset + 2] == 0xA9))
        }
        offset += width
        if lineBreak {
            line += 1
            column = 0
        } else {
            column += 1
        }
    }
}
