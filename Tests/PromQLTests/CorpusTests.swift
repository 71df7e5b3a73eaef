import LookoutCore
import Testing
import TestSupport

/// Prometheus' own PromQL test corpus at v2.42.0 (`promql-testdata/`, copied unchanged),
/// every instant evaluation of every file run against lookout's evaluator.
@Suite struct CorpusTests {
    static let directory = Repo.path("Tests/PromQLTests/promql-testdata")
    static let files = [
        "aggregators", "at_modifier", "collision", "functions", "histograms", "literals", "operators", "selectors",
        "staleness", "subquery", "trig_functions",
    ]

    /// Evaluations lookout does not run as Prometheus does, by `file:line`, with the reason.
    static let excluded: [String: String] = [:]

    @Test func everyEvaluationOfThePrometheusCorpusPasses() throws {
        var total = 0
        var passed = 0
        var failures: [String] = []
        for name in Self.files {
            let file = "\(name).test"
            let script = try PromQLScript(text: try FileIO.readText(Self.directory + "/" + file), file: file)
            for (evaluation, failure) in script.run() {
                total += 1
                let key = "\(file):\(evaluation.line)"
                if let failure {
                    if Self.excluded[key] == nil { failures.append("\(evaluation): \(failure)") }
                } else {
                    passed += 1
                    #expect(Self.excluded[key] == nil, "\(key) passes: take it off the exclusion list")
                }
            }
        }
        print("PromQL corpus: \(passed)/\(total) evaluations passed")
        #expect(total == 566)
        #expect(failures.isEmpty, "\(failures.count) evaluations failed:\n\(failures.joined(separator: "\n"))")
        #expect(passed + Self.excluded.count == total)
    }

    @Test func theRunnerComparesAsPrometheusDoes() throws {
        // A script that must fail: a wrong value, a missing series, a wrong order.
        let text = """
            load 1m
              a{x="1"} 1 2 3
              a{x="2"} 5 5 5

            eval instant at 2m a
              a{x="1"} 3
              a{x="2"} 6

            eval instant at 2m a
              a{x="1"} 3

            eval_ordered instant at 2m sort_desc(a)
              a{x="1"} 3
              a{x="2"} 5

            eval instant at 2m sum(a)
              {} 8

            eval_fail instant at 2m a +

            eval instant at 1m 0+0x5
              0
            """
        let outcomes = try PromQLScript(text: text, file: "t.test").run()
        #expect(outcomes.map { $0.failure == nil } == [false, false, false, true, true, false])
        #expect(outcomes[0].failure == "expected 6 for {__name__=\"a\", x=\"2\"} but got 5")
        #expect(PromQLScript.almostEqual(1, 1 + 1e-9))
        #expect(!PromQLScript.almostEqual(1, 1 + 1e-5))
        #expect(PromQLScript.almostEqual(.nan, .nan))
    }

    /// What Prometheus 2.42 does with `@` inside subqueries, as promtool 2.42 answers: a
    /// step-invariant expression is evaluated once; predict_linear over an `@` range moves
    /// its window with the steps but sees only samples up to the `@` time.
    @Test func atInsideSubqueriesAsPrometheus242() throws {
        let text = """
            load 1m
              cnt 0+1x30

            eval instant at 20m max_over_time(predict_linear(cnt[2m] @ 300, 0)[10m:1m])
              {} 11

            eval instant at 20m min_over_time(predict_linear(cnt[2m] @ start(), 0)[10m:1m])
              {} 10

            eval instant at 20m predict_linear(cnt[2m] @ 300, 0)
              {} 20

            eval instant at 20m min_over_time(max_over_time(cnt[2m] @ 300)[10m:1m])
              {} 5

            eval instant at 20m max_over_time(rate(cnt[2m] @ 300)[10m:1m])
              {} 0.016666666666666666
            """
        let outcomes = try PromQLScript(text: text, file: "at.test").run()
        #expect(outcomes.count == 5)
        for (evaluation, failure) in outcomes { #expect(failure == nil, "\(evaluation): \(failure ?? "")") }
    }
}
