import LookoutCore
import Testing
import TestSupport
@testable import PromQL

/// Inputs the fuzzer (Tests/Fuzz, target fuzz-promql) found crashing the parser or breaking
/// print → parse, byte for byte. Each must now parse or give a `ParseError`.
@Suite struct PromQLFuzzRegressionTests {
    func input(_ name: String) throws -> String {
        String(decoding: try FileIO.read(Repo.path("Tests/Fuzz/crashes/promql/\(name)"), limit: 1 << 20), as: UTF8.self)
    }

    func parseError(_ text: String) -> ParseError? {
        do {
            _ = try PromQLParser.parse(text)
            return nil
        } catch {
            return error
        }
    }

    /// 3,190 opening parentheses overflowed the stack: the parser recursed once per level.
    /// crashes/promql/crash-1265bdd82ec5e1fe2a514761b9aa8c985554e158
    @Test func deepParenthesesAreAnError() throws {
        let text = try input("crash-1265bdd82ec5e1fe2a514761b9aa8c985554e158")
        #expect(text.utf8.count == 3272)
        let error = try #require(parseError(text))
        #expect(error.message.contains("nested too deeply"), "\(error)")
        #expect(!error.unsupported)
        // Balanced and far deeper: the same error, found before the stack runs out.
        let deep = String(repeating: "(", count: 100_000) + "1" + String(repeating: ")", count: 100_000)
        #expect(parseError(deep)?.message.contains("nested too deeply") == true)
        let minus = String(repeating: "-", count: 100_000) + "1"
        #expect(parseError(minus)?.message.contains("nested too deeply") == true)
    }

    /// A chain of operators builds a tree as deep as it is long (the printer and evaluator
    /// recurse over it), so the same limit holds for it.
    @Test func longOperatorChainsCount() throws {
        let long = Array(repeating: "a", count: 1000).joined(separator: " + ")
        #expect(parseError(long)?.message.contains("nested too deeply") == true)
        // Depth well within the limit parses and prints back to itself.
        let ok = Array(repeating: "a", count: 100).joined(separator: " + ")
        #expect(try PromQLParser.parse(ok).description == ok)
        let nested = String(repeating: "(", count: 100) + "x" + String(repeating: ")", count: 100)
        let e = try PromQLParser.parse(nested)
        #expect(e.description == nested)
        #expect(try PromQLParser.parse(e.description).description == nested)
    }
}
