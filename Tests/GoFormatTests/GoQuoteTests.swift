import Testing

@testable import GoFormat

@Suite struct GoQuoteTests {
    @Test func quotesLikeGo() {
        #expect(goQuoted("plain") == "\"plain\"")
        #expect(goQuoted("a\"b\\c") == "\"a\\\"b\\\\c\"")
        #expect(goQuoted("line\nnext\ttab") == "\"line\\nnext\\ttab\"")
        #expect(goQuoted("\u{01}\u{7f}") == "\"\\x01\\x7f\"")
        #expect(goQuoted("héllo ✓") == "\"héllo ✓\"")
        #expect(goQuoted("nb\u{a0}sp") == "\"nb\\u00a0sp\"")
    }

    func read(_ text: String, at start: Int = 0, _ escapes: GoStringLiteral.Escapes = .go) throws(GoStringLiteral.Error)
        -> (String, Int)
    {
        let r = try GoStringLiteral.read(Array(text.utf8), at: start, escapes: escapes)
        return (r.value, r.end)
    }

    func failure(_ text: String, _ escapes: GoStringLiteral.Escapes = .go) -> GoStringLiteral.Error? {
        do {
            _ = try read(text, escapes)
            return nil
        } catch {
            return error
        }
    }

    @Test func readsGoStringLiterals() throws {
        #expect(try read("\"a\\tb\" rest") == ("a\tb", 6))
        #expect(try read("x 'it\\'s'", at: 2) == ("it's", 9))
        #expect(try read("`raw \\n \"q\"\nline`") == ("raw \\n \"q\"\nline", 17))
        #expect(try read("\"\\a\\b\\f\\n\\r\\t\\v\\\\\\\"\"").0 == "\u{07}\u{08}\u{0C}\n\r\t\u{0B}\\\"")
        #expect(try read("\"\\x41\\u00e9\\U0001F600\\101\"").0 == "Aé😀A")
        #expect(try read("\"\"") == ("", 2))
    }

    @Test func reportsWhatIsWrongAndWhere() {
        #expect(failure("\"abc") == GoStringLiteral.Error(kind: .unterminated, start: 0, end: 4))
        #expect(failure("\"ab\nc\"") == GoStringLiteral.Error(kind: .unterminated, start: 0, end: 3))
        #expect(failure("\"abc\\") == GoStringLiteral.Error(kind: .unterminated, start: 0, end: 5))
        #expect(failure("\"a\\qb\"") == GoStringLiteral.Error(kind: .unknownEscape, start: 2, end: 4))
        // Each quote escapes only itself.
        #expect(failure("\"\\'\"") == GoStringLiteral.Error(kind: .unknownEscape, start: 1, end: 3))
        #expect(failure("'\\\"'") == GoStringLiteral.Error(kind: .unknownEscape, start: 1, end: 3))
        #expect(failure("\"\\xZ1\"") == GoStringLiteral.Error(kind: .invalidEscape, start: 1, end: 3))
        #expect(failure("\"\\u12\"") == GoStringLiteral.Error(kind: .invalidEscape, start: 1, end: 3))
        #expect(failure("\"\\uD800\"") == GoStringLiteral.Error(kind: .invalidCodePoint, start: 1, end: 7))
        #expect(failure("\"\\400\"") == GoStringLiteral.Error(kind: .invalidEscape, start: 1, end: 3))
        #expect(failure("\"\\18\"") == GoStringLiteral.Error(kind: .invalidEscape, start: 1, end: 3))
        #expect(failure("\"\\uD800\"")?.message == "invalid Unicode code point in escape sequence")
    }

    @Test func alertmanagerValuesKeepUnknownEscapes() throws {
        #expect(try read("\"a\\.b\\\"c\\\\d\\ne\\tf\"", .alertmanager).0 == "a\\.b\"c\\d\ne\tf")
        #expect(try read("\"two\nlines\"", .alertmanager).0 == "two\nlines")
        #expect(failure("\"open\\", .alertmanager)?.kind == .unterminated)
    }

    @Test func quotingReadsBack() throws {
        for s in ["plain", "a\"b\\c", "tab\there", "\u{01}\u{7f}", "héllo ✓", "nb\u{a0}sp", "\u{10FFFF}x", ""] {
            #expect(try read(goQuoted(s)).0 == s)
        }
    }
}
