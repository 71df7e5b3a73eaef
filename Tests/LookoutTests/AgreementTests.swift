#if canImport(Glibc)
import Glibc
#endif
import LookoutCore
import TestSupport
import Testing

@testable import lookout

/// Every promtool-format test file in the repository, run by `promtool test rules` and by
/// lookout's runner: both must pass (or, for the deliberately failing files, both fail).
@Suite struct AgreementTests {
    /// Test files (`*.test.yml`) under alerts/ and the rule test data, found on disk.
    static let files: [String] = {
        var out: [String] = []
        func walk(_ dir: String) {
            guard let d = opendir(dir) else { return }
            defer { closedir(d) }
            while let e = readdir(d) {
                let name = withUnsafeBytes(of: e.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
                if name.hasPrefix(".") { continue }
                let path = dir + "/" + name
                if Int32(e.pointee.d_type) == Int32(DT_DIR) {
                    walk(path)
                } else if name.hasSuffix(".test.yml") {
                    out.append(path)
                }
            }
        }
        walk(Repo.path("alerts"))
        walk(Repo.path("Tests/RulesTests/testdata"))
        return out.sorted()
    }()

    static func base(_ path: String) -> String { String(path.split(separator: "/").last!) }

    @Test func theRepositoryHasTestFiles() {
        #expect(Self.files.contains { $0.hasSuffix("alerts/lookout.rules.test.yml") })
        #expect(Self.files.contains { $0.hasSuffix("alerts/lookout-fleet.rules.test.yml") })
        #expect(Self.files.filter { $0.contains("/failing/") }.count >= 3)
        #expect(Shell.which("promtool") != nil, "promtool must be installed")
    }

    @Test(arguments: AgreementTests.files)
    func promtoolAndLookoutAgree(file: String) {
        let promtool = Shell.run(["promtool", "test", "rules", file])
        let lookout = RuleTestRunner.run(files: [file])
        if file.contains("/failing/") {
            #expect(promtool.status == 1, "promtool should fail \(file):\n\(promtool.output)")
            #expect(!lookout.success, "lookout should fail \(file):\n\(lookout.output)")
            #expect(lookout.output.contains("  FAILED:"))
        } else {
            #expect(promtool.status == 0, "promtool: \(promtool.output)")
            #expect(lookout.success, "lookout:\n\(lookout.output)")
            #expect(lookout.output == "Unit Testing:  \(file)\n  SUCCESS\n\n")
        }
    }
}
