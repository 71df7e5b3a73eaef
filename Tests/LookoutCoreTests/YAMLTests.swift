import LookoutCore
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The YAML reader: what it builds from each construct, where its errors point, and the same
/// trees as PyYAML (libyaml) for every YAML file of the project and a set of tricky documents.
@Suite struct YAMLTests {
    /// The tree as JSON: scalars are strings (the reader resolves no types), order kept.
    static func json(_ node: YAMLNode?) -> JSON {
        guard let node else { return .null }
        switch node {
        case let .scalar(s): return .string(s.string)
        case let .sequence(items, _): return .array(items.map { json($0) })
        case let .mapping(entries, _):
            return .object(
                entries.map { e in
                    if case let .scalar(k) = e.key { return (k.string, json(e.value)) }
                    return ("?", json(e.value))
                })
        }
    }

    /// The tree as JSON (`.null` for an empty document), nil on an error.
    static func parse(_ text: String) -> JSON? {
        do {
            return json(try YAML.parse(text))
        } catch {
            return nil
        }
    }

    static func failure(_ text: String) -> YAMLSyntaxError? {
        do {
            _ = try YAML.parse(text)
            return nil
        } catch {
            return error
        }
    }

    @Test func blockCollections() throws {
        let text = """
            # a comment
            listen: 127.0.0.1:9477   # trailing comment
            targets:
            - name: api
              health:
                live: http://127.0.0.1:8080/healthz
                ready: "http://127.0.0.1:8080/ready"
              labels: {team: core, tier: '1'}
            -   name: db
                metrics: http://db/metrics
            empty:
            list: [a, "b c", 'd''e', [nested]]
            nested:
              - - x
                - y
              - z
            """
        let got = try #require(Self.parse(text))
        let want = try JSON(
            parsing: """
                {"listen":"127.0.0.1:9477","targets":[{"name":"api","health":{"live":"http://127.0.0.1:8080/healthz",
                "ready":"http://127.0.0.1:8080/ready"},"labels":{"team":"core","tier":"1"}},{"name":"db","metrics":"http://db/metrics"}],
                "empty":"","list":["a","b c","d'e",["nested"]],"nested":[["x","y"],"z"]}
                """)
        #expect(got == want, "\(got.serialized())")
    }

    @Test func scalars() throws {
        let text = """
            plain: a b  c
            multi: first
              second

              third
            single: 'it''s
              folded'
            double: "tab\\there \\u00e9 \\x41 \\"q\\" \\
              joined"
            literal: |
              line 1
                indented
              line 3

            folded: >-
              one
              two

              three
            keep: |+
              kept

            last: end
            """
        let got = try #require(Self.parse(text))
        #expect(got["plain"] == "a b  c")
        #expect(got["multi"] == "first second\nthird")
        #expect(got["single"] == "it's folded")
        #expect(got["double"] == "tab\there é A \"q\" joined")
        #expect(got["literal"] == "line 1\n  indented\nline 3\n")
        #expect(got["folded"] == "one two\nthree")
        #expect(got["keep"] == "kept\n\n")
        #expect(got["last"] == "end")
        // An escaped line break joins the lines; an empty line after it is a line break.
        #expect(Self.parse("a: \"x\\\n  \n  y\"\n")?["a"] == "x\ny")
    }

    @Test func stylesAndMarks() throws {
        let root = try #require(try YAML.parse("a: x\nb:\n  - 'q'\n  - |\n    text\nc: {k: v}\n"))
        guard case let .mapping(entries, mark) = root else {
            Issue.record("not a mapping")
            return
        }
        #expect(mark == YAMLMark(line: 1, column: 1))
        #expect(entries.map { $0.key.mark } == [YAMLMark(line: 1, column: 1), YAMLMark(line: 2, column: 1), YAMLMark(line: 6, column: 1)])
        #expect(entries[0].value.mark == YAMLMark(line: 1, column: 4))
        guard case let .sequence(items, seqMark) = entries[1].value, case let .scalar(q) = items[0], case let .scalar(lit) = items[1]
        else {
            Issue.record("b is not a list of two scalars")
            return
        }
        #expect(seqMark == YAMLMark(line: 3, column: 3))
        #expect(q.style == .singleQuoted && q.mark == YAMLMark(line: 3, column: 5))
        #expect(lit.style == .literal && lit.mark == YAMLMark(line: 4, column: 5))
        #expect(entries[2].value.mark == YAMLMark(line: 6, column: 4))
        // Columns count characters, not bytes.
        let u = try #require(try YAML.parse("é: ü\n"))
        guard case let .mapping(ue, _) = u else { return }
        #expect(ue[0].value.mark == YAMLMark(line: 1, column: 4))
    }

    @Test func anchorsAliasesTagsAndDocumentMarkers() throws {
        let got = try #require(Self.parse("%YAML 1.2\n---\nbase: &b {x: 1}\ncopy: *b\nlist: &l\n  - a\nagain: *l\ntagged: !!str 12\n...\n"))
        #expect(got["copy"] == got["base"])
        #expect(got["again"] == ["a"])
        #expect(got["tagged"] == "12")
        #expect(Self.parse("") == .null)
        #expect(Self.parse("# only a comment\n\n") == .null)
        #expect(Self.parse("---\n") == .null)
        #expect(Self.parse("--- text\n") == "text")
        #expect(Self.parse("\u{FEFF}a: b\r\nc: d\r\n") == ["a": "b", "c": "d"])
    }

    @Test(arguments: [
        ("a: 1\na: 2\n", 2, 1, "duplicate key \"a\""),
        ("a: [1, 2\n", 2, 1, "the text ended inside a flow list"),
        ("a: {x: 1\n", 2, 1, "the text ended inside a flow mapping"),
        ("a: 'open\n", 1, 4, "the text ended inside a quoted string"),
        ("a: b: c\n", 1, 5, "a mapping value is not allowed here"),
        ("a:\n  b: 1\n   c: 2\n", 3, 5, "a mapping value is not allowed here"),
        ("a:\n  b:\n    c: 1\n   d: 2\n", 4, 4, "indented more than the key above"),
        ("a: x\u{1}y\n", 1, 5, "control character U+0001"),
        ("a: 1\n  b: 2\n", 2, 4, "a mapping value is not allowed here"),
        ("- a\nb: 1\n", 2, 1, "expected a list item"),
        ("a: b\n...\nc: d\n", 3, 1, "unexpected content after the document"),
        ("a:\n\t- x\n", 2, 1, "a tab character may not indent"),
        ("a: *nothing\n", 1, 4, "unknown alias"),
        ("a: \"\\q\"\n", 1, 5, "unknown escape"),
        ("? complex\n: key\n", 1, 1, "complex mapping keys"),
        ("a: 1\n---\nb: 2\n", 2, 1, "expected a single document"),
        ("a: @x\n", 1, 4, "a value may not start with \"@\""),
        ("a: [x] y\n", 1, 8, "unexpected text after the value"),
        ("a: [x, , y]\n", 1, 8, "an empty entry in this flow list"),
        ("a: &x: 1\n", 1, 6, "a mapping value is not allowed here"),
        ("a: *\n", 1, 4, "an alias needs a name"),
        ("a: *x.y\n", 1, 6, "an alias name may contain only letters"),
        ("a: 1\n- b\n", 2, 1, "a list item where a key of the mapping above was expected"),
        ("a: 1\nb\nc: 2\n", 2, 1, "expected a key"),
        ("a: |\n  x\n\ty\n", 3, 1, "a tab character may not indent"),
        ("a:\n  b: 1\n\t\n", 3, 1, "a tab character may not indent"),
        ("a: \"x\\ud83d\\ude00\"\n", 1, 6, "not a Unicode character"),
        ("a: \"\\x4\"\n", 1, 5, "\\x needs more hexadecimal digits"),
        ("a: \"x\n---\n\"\n", 1, 4, "the document ended inside a quoted string"),
        ("a: x\u{80}y\n", 1, 5, "control character U+0080"),
        ("k: v\né: x\u{7F}\n", 2, 5, "control character U+007F"),
        ("{? a: 1}\n", 1, 2, "complex mapping keys"),
        ("[x, ? a : 1]\n", 1, 5, "complex mapping keys"),
        ("a: 1\n# is it?\n?\n: 2\n", 3, 1, "complex mapping keys"),
        (": 1\n", 1, 1, "expected a key"),
        ("{a: 1, : 2}\n", 1, 8, "a key is missing before the \":\""),
        ("[a]: 1\n", 1, 1, "a list or mapping may not be a key"),
        ("a: &l [x]\n*l : 1\n", 2, 1, "a list or mapping may not be a key"),
        ("{a: 1, b: 2, a: 3}\n", 1, 14, "duplicate key \"a\""),
        ("&a [*a]\n", 1, 5, "unknown alias"),
    ])
    func errorsNameThePlace(_ text: String, _ line: Int, _ column: Int, _ message: String) {
        let e = Self.failure(text)
        #expect(e?.mark == YAMLMark(line: line, column: column) && e?.message.contains(message) == true, "\(String(describing: e))")
    }

    @Test func deepNestingAndAliasBombsAreErrorsNotCrashes() {
        #expect(Self.failure(String(repeating: "[", count: 100_000))?.message.contains("nesting deeper than") == true)
        #expect(Self.failure(String(repeating: "- ", count: 10_000) + "x\n")?.message.contains("nesting deeper than") == true)
        var bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        var previous = "a"
        for name in ["b", "c", "d", "e", "f", "g", "h"] {
            bomb += "\(name): &\(name) [" + Array(repeating: "*\(previous)", count: 10).joined(separator: ", ") + "]\n"
            previous = name
        }
        #expect(Self.failure(bomb)?.message.contains("aliases are expanded") == true)
    }

    // MARK: The same trees as libyaml

    /// Documents that exercise the corners of the syntax a hand-written config or rule file uses.
    static let tricky: [String] = [
        "a: b\n",
        "- a\n- b\n-\n- - c\n  - d\n",
        "k: v # c\n# c\nk2: 'v # not a comment'\n",
        "url: http://h:80/p?q=1#frag\nport: :9090\nneg: -1\ncolon: a:b\n",
        "expr: rate(x[5m]) > 0.5\n  and on(job) y\nfor: 5m\n",
        "labels:\n  severity: critical\nannotations:\n  summary: \"{{ $labels.target }} is down\"\n  description: >\n    The target {{ $labels.target }}\n    has been down.\n",
        "a: |2\n    two extra\n  base\n",
        "a: >\n  folded\n    more indented\n  back\n\n  para\n",
        "a: |-\n  strip\n\n\nb: x\n",
        "a: \"multi\n  line\n\n  double\"\n",
        "a: 'multi\n  line\n\n  single'\n",
        "{a: 1, b: [x, y], c: {d: e}}\n",
        "[a, {b: c}, [d, [e]], 'f,g', \"h]i\"]\n",
        "a: [\n  x,\n  y,\n]\n",
        "a: {\n  x: 1,\n  y: 2\n}\n",
        "\"quoted key\": 1\n'single key': 2\nplain key: 3\n",
        "a:\n- x\n- y\nb: z\n",
        "top:\n  - name: a\n    values: '1+0x10 2 _ stale'\n  - name: b\n    values: ''\n",
        "a: ~\nb: null\nc: true\nd: 0x1F\ne: 1_000\nf: .5\n",
        "a: \"\\\\ \\/ \\t \\x7e \\U0001F600\"\n",
        "a: b\n...\n",
        "---\na: 1\n",
        "a: &x 1\nb: *x\n",
        "key with spaces:   value with spaces   \n",
        "a:\n\n\n  b: 1\n\n",
        "- |\n  literal in list\n- >\n  folded in list\n- last\n",
        "a: x\n  # comment indented\nb: y\n",
        "seq:\n  - a\n  # comment\n  - b\n",
        "json: {\"a\": 1, \"b\": [true, null]}\n",
        "a: 'it''s'\nb: \"say \\\"hi\\\"\"\n",
        "unicode: héllo wörld ✓\n",
        "a: -\n",
        "a: - b\n",
    ]

    /// libyaml's trees (through PyYAML's BaseLoader, which keeps every scalar a string) for
    /// `docs`: JSON text or "error" per document.
    static func libyaml(_ docs: [String]) throws -> [String] {
        let dir = TemporaryDirectory(prefix: "lookout-yaml")
        for (i, d) in docs.enumerated() { dir.write("\(i).yml", d) }
        let script = """
            import json, sys, yaml
            for i in range(int(sys.argv[2])):
                try:
                    with open(f"{sys.argv[1]}/{i}.yml", encoding="utf-8") as f:
                        tree = yaml.load(f, Loader=yaml.BaseLoader)
                    # A "\\ud83d" escape gives a lone surrogate, which is not text (libyaml rejects it).
                    json.dumps(tree, ensure_ascii=False).encode("utf-8")
                    print(json.dumps(tree))
                except (yaml.YAMLError, UnicodeEncodeError):
                    print("error")
            """
        let run = Shell.run(["python3", "-c", script, dir.path, String(docs.count)])
        try #require(run.status == 0, "python3 with PyYAML (Debian package python3-yaml): \(run.output)")
        return run.output.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
    }

    /// The regular files in `dir` whose names end in one of `suffixes`.
    static func files(_ dir: String, _ suffixes: [String]) -> [String] {
        guard let d = opendir(dir) else { return [] }
        defer { closedir(d) }
        var out: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if e.pointee.d_type == UInt8(DT_REG), suffixes.contains(where: { name.hasSuffix($0) }) { out.append(name) }
        }
        return out.sorted()
    }

    static func projectDocuments() throws -> [(String, String)] {
        var out: [(String, String)] = []
        for dir in ["alerts", "Tests/RulesTests/testdata", "Tests/RulesTests/testdata/failing", "Sources/Agent/Resources", "dashboards"] {
            for name in files(Repo.path(dir), [".yml", ".yaml", ".json"]) {
                out.append((dir + "/" + name, try FileIO.readText(Repo.path(dir + "/" + name))))
            }
        }
        // The config fuzzer's seeds: a byte that picks the loader, then the document.
        for name in files(Repo.path("Tests/Fuzz/corpus/config"), [""]) {
            let text = try FileIO.readText(Repo.path("Tests/Fuzz/corpus/config/" + name))
            out.append(("fuzz corpus " + name, String(text.dropFirst())))
        }
        // The examples in the README.
        var rest = try FileIO.readText(Repo.path("README.md"))[...]
        while let open = rest.firstRange(of: "```yaml\n") {
            rest = rest[open.upperBound...]
            guard let close = rest.firstRange(of: "```") else { break }
            out.append(("README.md yaml block at \(out.count)", String(rest[..<close.lowerBound])))
            rest = rest[close.upperBound...]
        }
        return out
    }

    @Test func sameTreesAsLibyaml() throws {
        let project = try Self.projectDocuments()
        #expect(project.count >= 30, "\(project.map(\.0))")
        let docs = project + Self.tricky.enumerated().map { ("tricky[\($0.offset)]", $0.element) }
        let theirs = try Self.libyaml(docs.map(\.1))
        try #require(theirs.count == docs.count)
        var compared = 0
        for ((name, text), expected) in zip(docs, theirs) {
            let ours = Self.failure(text).map { "error \($0)" } ?? Self.parse(text)?.serialized() ?? "?"
            if expected == "error" {
                #expect(ours.hasPrefix("error"), "\(name): libyaml rejects it, we read \(ours)")
                continue
            }
            guard let want = try? JSON(parsing: expected) else {
                Issue.record("\(name): cannot read PyYAML's output \(expected)")
                continue
            }
            #expect(Self.parse(text) == want, "\(name): ours \(ours)\nlibyaml \(expected)")
            compared += 1
        }
        #expect(compared >= 60)
    }
}
