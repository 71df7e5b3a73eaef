import LookoutCore
import Testing

@Suite struct RE2RegexTests {
    /// The pattern that backtracking engines take exponential time on.
    static let evil = "(a+)+$"
    static let aaaab = String(repeating: "a", count: 10_000) + "b"

    @Test func backtrackingPatternsAnswerOnLongTexts() throws {
        let anchored = try AnchoredRegex(Self.evil)
        #expect(!anchored.matches(Self.aaaab))
        #expect(!anchored.search(Self.aaaab))
        #expect(anchored.matches(String(repeating: "a", count: 10_000)))
        let plain = try RE2Regex("(x+x+)+y")
        #expect(!plain.search(String(repeating: "x", count: 10_000)))
        #expect(plain.search(String(repeating: "x", count: 10_000) + "y"))
        #expect(try RE2Regex("(a|aa)+$").firstMatch(in: Self.aaaab) == nil)
    }

    @Test func matchingIsAnchoredOrSearched() throws {
        let r = try RE2Regex("b+")
        #expect(r.search("abbbc"))
        #expect(!r.wholeMatch("abbbc"))
        #expect(r.wholeMatch("bbb"))
        let m = try #require(r.firstMatch(in: "abbbc"))
        #expect(m.range == 1..<4)
        #expect(m.text(m.range, in: "abbbc") == "bbb")
        // Leftmost-first as Go, not leftmost-longest as POSIX.
        let alt = try RE2Regex("a|ab")
        #expect(alt.firstMatch(in: "ab")?.range == 0..<1)
        // `.` stops at a newline unless (?s); `^`/`$` are the text's ends unless (?m).
        #expect(!(try RE2Regex("a.b")).search("a\nb"))
        #expect(try RE2Regex("(?s)a.b").search("a\nb"))
        #expect(!(try RE2Regex("^b$")).search("a\nb\nc"))
        #expect(try RE2Regex("(?m)^b$").search("a\nb\nc"))
        #expect(try RE2Regex("[^x]").wholeMatch("\n"))
    }

    @Test func groupsAndNames() throws {
        let r = try RE2Regex(#"(?P<host>[^:]+):(\d+)?(x)?"#)
        #expect(r.groupCount == 3)
        #expect(r.groupNames == [nil, "host", nil, nil])
        let m = try #require(r.firstMatch(in: "db:5432"))
        #expect(m[0] == 0..<7 && m[1] == 0..<2 && m[2] == 3..<7)
        #expect(m[3] == nil)  // took no part
        #expect(m[4] == nil)  // no such group
        // An empty group is not a missing one, also in an empty text.
        let e = try #require(try RE2Regex("(a*)(b)?").firstMatch(in: ""))
        #expect(e[1] == 0..<0 && e[2] == nil)
    }

    @Test func utf8() throws {
        // `.` is one character, whatever its length in bytes.
        let dot = try AnchoredRegex("^.$")
        for c in ["a", "é", "日", "😀"] { #expect(dot.matches(c), "\(c)") }
        #expect(!dot.matches("e\u{301}"))  // two code points
        // Offsets are UTF-8 bytes; groups never split a character.
        let r = try RE2Regex("(日+)(.)")
        let text = "x日日本😀"
        let m = try #require(r.firstMatch(in: text))
        #expect(m[1] == 1..<7 && m[2] == 7..<10)
        #expect(m.text(m[2]!, in: text) == "本")
        // Case folding covers non-ASCII letters; bytes are compared, not canonical equivalence.
        #expect(try AnchoredRegex("(?i)straße").matches("STRAßE"))
        #expect(try AnchoredRegex("(?i)k").matches("\u{212A}"))  // KELVIN SIGN folds to k
        #expect(!(try AnchoredRegex("é")).matches("e\u{301}"))
        #expect(!(try AnchoredRegex("K")).matches("\u{212A}"))
        #expect(try AnchoredRegex(#"\pL+"#).matches("Ωmega"))
        #expect(try AnchoredRegex(#"\x{263a}"#).matches("☺"))
        // A NUL byte is a character like any other.
        #expect(try AnchoredRegex("a\u{0}b").matches("a\u{0}b"))
        // Invalid UTF-8 in a pattern is refused, as Go refuses it.
        #expect(throws: RE2Regex.SyntaxError(pattern: "a\u{FFFD}", reason: "invalid UTF-8")) {
            try RE2Regex(utf8: [0x61, 0xFF])
        }
        #expect(throws: RE2Regex.SyntaxError.self) { try AnchoredRegex(utf8: [0xC3]) }
        #expect(try AnchoredRegex(utf8: Array("é|ü".utf8)).matches("ü"))
    }

    @Test func errorsGiveRE2sReason() throws {
        let cases: [(String, String)] = [
            (#"(a)\1"#, #"invalid escape sequence: \1"#),
            ("(?=a)a", "invalid perl operator: (?="),
            ("a++", "bad repetition operator: ++"),
            ("x{1001}", "invalid repetition size: {1001}"),
            ("(", "missing ): ("),
            (#"\C"#, #"invalid escape sequence: \C"#),
            (#"\p{Vithkuqi}"#, #"invalid character class range: \p{Vithkuqi}"#),
            ("(?P<é>x)", "invalid named capture group: (?P<é>"),
        ]
        for (pattern, reason) in cases {
            #expect(throws: RE2Regex.SyntaxError(pattern: pattern, reason: reason)) { try RE2Regex(pattern) }
        }
        #expect(throws: AnchoredRegex.SyntaxError.self) { try AnchoredRegex("a)|(b") }
        #expect(throws: AnchoredRegex.SyntaxError.self) { try AnchoredRegex(#"\Qab"#) }
        #expect(try RE2Regex(#"\Qab"#).wholeMatch("ab"))  // unanchored, as Go's regexp.Compile takes it
        do {
            _ = try AnchoredRegex("(a)\\1")
            Issue.record("accepted a back-reference")
        } catch {
            #expect(error.description == #"invalid regex "(a)\1": invalid escape sequence: \1"#)
        }
    }

    /// A program far larger than its pattern is refused rather than grown without bound; a long
    /// pattern (a list of names) gets the memory its length needs.
    @Test func memoryIsBounded() throws {
        #expect(throws: RE2Regex.SyntaxError(pattern: #"\pL{1000}"#, reason: "pattern too large - compile failed")) {
            try RE2Regex(#"\pL{1000}"#)
        }
        #expect(throws: RE2Regex.SyntaxError.self) { try AnchoredRegex(#"x\pL{600}"#) }
        #expect(try RE2Regex(#"\pL{400}"#).wholeMatch(String(repeating: "ä", count: 400)))
        #expect(try RE2Regex(#"\pL{1000}"#, maxMemory: 32 << 20).wholeMatch(String(repeating: "ä", count: 1000)))
        let names = (0..<20_000).map { "host\($0).example.com" }
        let list = try AnchoredRegex(names.joined(separator: "|"))
        #expect(list.matches("host19999.example.com") && !list.matches("host20000.example.com"))
        #expect(list.search("at host7.example.com:9100"))
        let literal = try AnchoredRegex((0..<20_000).map { "host\($0)-example-com" }.joined(separator: "|"))
        #expect(literal.hasShortcut && literal.matches("host4-example-com") && literal.search("at host4-example-com:80"))
    }
}

/// Go's `Regexp.Expand` and `ReplaceAllString`, case by case (results checked with Go 1.19).
@Suite struct GoExpansionTests {
    func expand(_ pattern: String, _ text: String, _ template: String) throws -> String? {
        let r = try RE2Regex(pattern)
        return r.firstMatch(in: text).map { r.expand(template, match: $0, in: text) }
    }

    @Test func expandFollowsGo() throws {
        let p = #"(?P<first>\w+)\s(?P<second>\w+)"#
        #expect(try expand(p, "hello world", "$2 $1") == "world hello")
        #expect(try expand(p, "hello world", "${second}-${first}") == "world-hello")
        #expect(try expand(p, "hello world", "$second$first") == "worldhello")
        // A name is the longest run of letters, digits and _: `$1x` is the group named "1x".
        #expect(try expand(p, "hello world", "$1x") == "")
        #expect(try expand(p, "hello world", "${1}x") == "hellox")
        #expect(try expand(p, "hello world", "$0") == "hello world")
        // Leading zeros make a name, not a number; so do numbers past 10^8.
        #expect(try expand(p, "hello world", "[$01]") == "[]")
        #expect(try expand(p, "hello world", "[$999999999]") == "[]")
        #expect(try expand(p, "hello world", "[$7]") == "[]")  // no such group
        #expect(try expand(p, "hello world", "[$nope]") == "[]")
        // `$$` is a dollar; a `$` that starts no name stays as it is.
        #expect(try expand(p, "hello world", "$$1 costs $") == "$1 costs $")
        #expect(try expand(p, "hello world", "${first") == "${first")
        #expect(try expand(p, "hello world", "${}") == "${}")
        #expect(try expand(p, "hello world", "$-1") == "$-1")
        #expect(try expand(p, "hello world", "${first}}") == "hello}")
        // Names may be any letters and digits, as Go's unicode.IsLetter/IsDigit.
        #expect(try expand(p, "hello world", "$1é") == "")
        #expect(try expand(p, "hello world", "${1}é") == "helloé")
        // A group that took no part is empty; the leftmost group of a name that did is taken.
        #expect(try expand("(a)|(b)", "b", "[$1][$2]") == "[][b]")
        #expect(try expand("(?P<x>a)|(?P<x>b)", "b", "[$x]") == "[b]")
        #expect(try expand("(?P<x>a)|(?P<x>b)", "a", "[$x]") == "[a]")
        // label_replace's usual use: the pattern anchored by the caller.
        #expect(try expand("^(?:(.*):(\\d+))$", "db.local:5432", "$1") == "db.local")
    }

    @Test func replaceAllFollowsGo() throws {
        func replace(_ p: String, _ text: String, _ t: String) throws -> String {
            try RE2Regex(p).replacingAll(in: text, with: t)
        }
        #expect(try replace("a(x*)b", "-ab-axxb-", "T") == "-T-T-")
        #expect(try replace("a(x*)b", "-ab-axxb-", "$1") == "--xx-")
        #expect(try replace("a(x*)b", "-ab-axxb-", "$1W") == "---")
        #expect(try replace("a(x*)b", "-ab-axxb-", "${1}W") == "-W-xxW-")
        // Empty matches: one per position, not right after a match; steps over whole characters.
        #expect(try replace("x*", "abc", "-") == "-a-b-c-")
        #expect(try replace("x*", "xxa", "-") == "-a-")
        #expect(try replace("x*", "ąb", "-") == "-ą-b-")
        #expect(try replace("a*", "baaac", "-") == "-b-c-")
        #expect(try replace("", "", "-") == "-")
        // `^` and `\b` see the text before the search position.
        #expect(try replace("^a", "aaa", "b") == "baa")
        #expect(try replace(#"\bx"#, "x xx", "y") == "y yx")
        #expect(try replace("(?i)é", "Éé", "e") == "ee")
        #expect(try replace("b", "abc", "$") == "a$c")
    }
}

/// The shortcuts `AnchoredRegex` takes without RE2 answer exactly as RE2 does.
@Suite struct AnchoredRegexShortcutTests {
    static let patterns = [
        ".*", ".+", "abc", "", "a|b|c", "a||b", "é|e\u{301}", "K|k", "x.*", "é.*", "日本.*", "|a", "a\nb",
    ]
    static let pieces = ["a", "b", "c", "x", "é", "e", "\u{301}", "K", "\u{212A}", "k", "日", "本", "\n", "|", ".", "*", " ", "abc"]

    /// Every string of up to three pieces, and longer random ones (a failure names its input).
    static let inputs: [String] = {
        var all = [""]
        var last = [""]
        for _ in 0..<3 {
            last = last.flatMap { s in pieces.map { s + $0 } }
            all += last
        }
        for _ in 0..<2000 { all.append((0..<Int.random(in: 4...12)).map { _ in pieces.randomElement()! }.joined()) }
        return all
    }()

    @Test(arguments: patterns)
    func shortcutEqualsRE2(pattern: String) throws {
        let fast = try AnchoredRegex(pattern)
        let anchored = try RE2Regex("^(?:" + pattern + ")$")
        #expect(fast.hasShortcut)
        var matched = 0
        for s in Self.inputs {
            let expected = anchored.search(s)
            #expect(fast.matches(s) == expected, "\(pattern.debugDescription) on \(s.debugDescription)")
            if expected { matched += 1 }
        }
        #expect(matched > 0, "no input matched \(pattern)")
    }

    @Test func otherPatternsUseRE2() throws {
        for p in ["a.b", "(a)", "a|b.*", "[ab]", "^a", "a?", "\\.", ".*x"] {
            #expect(!(try AnchoredRegex(p)).hasShortcut, "\(p)")
        }
        #expect(try AnchoredRegex("a|b|c").literalSet == ["a", "b", "c"])
        #expect(try AnchoredRegex("a.*").literalSet == nil)
    }
}

/// Linear time, measured: what a backtracking engine needs seconds (or years) for.
@Suite(.serialized) struct RE2TimingTests {
    func milliseconds(_ body: () -> Void) -> Double {
        let clock = ContinuousClock()
        let start = clock.now
        body()
        let d = clock.now - start
        return Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
    }

    @Test func evilPatternsOnTenThousandCharacters() throws {
        let anchored = try AnchoredRegex(RE2RegexTests.evil)
        let plain = try RE2Regex("(x+x+)+y")
        let xs = String(repeating: "x", count: 10_000)
        _ = anchored.matches("warm-up")
        var results: [Bool] = []
        let ms = milliseconds {
            results.append(anchored.matches(RE2RegexTests.aaaab))
            results.append(anchored.search(RE2RegexTests.aaaab))
            results.append(plain.search(xs))
        }
        #expect(results == [false, false, false])
        #expect(ms < 10, "\(ms) ms")
    }
}

/// Arbitrary patterns, built from the syntax's own characters and stray bytes: each compiles
/// or is refused with a reason, and a compiled one matches without trouble.
@Suite struct RE2ArbitraryPatternTests {
    static let pieces: [[UInt8]] = [
        "a", "b", ".", "*", "+", "?", "|", "(", ")", "[", "]", "^", "$", "\\", "{", "}", "1", ",", "-", ":", "P", "<",
        ">", "=", "!", "Q", "E", "C", "p", "x", "é", "\n", "(?", "(?P<", "[:", "\\Q", "\\p{", "{1000}",
    ].map { Array($0.utf8) } + [[0x00], [0xFF], [0xC3], [0x80]]

    @Test func everyPatternCompilesOrIsRefusedWithAReason() {
        var rng = SystemRandomNumberGenerator()
        let texts = ["", "a", "ab\nab", String(repeating: "a", count: 300) + "b", "é(x)"]
        var (compiled, refused) = (0, 0)
        for _ in 0..<20_000 {
            let bytes = (0..<Int.random(in: 0...14, using: &rng)).flatMap { _ in Self.pieces.randomElement(using: &rng)! }
            do {
                let r = try AnchoredRegex(utf8: bytes)
                compiled += 1
                for t in texts {
                    // Both ways of matching the whole text agree; a search finds at least as much.
                    let whole = r.matches(t)
                    #expect(whole == r.regex.wholeMatch(t), "\(r.pattern.debugDescription) on \(t.debugDescription)")
                    if whole { #expect(r.search(t), "\(r.pattern.debugDescription) on \(t.debugDescription)") }
                    if let m = r.firstMatch(in: t) { #expect(m.range.upperBound <= t.utf8.count) }
                }
            } catch {
                refused += 1
                #expect(!error.reason.isEmpty, "\(bytes)")
            }
        }
        #expect(compiled > 1000 && refused > 1000, "compiled \(compiled), refused \(refused)")
    }
}
