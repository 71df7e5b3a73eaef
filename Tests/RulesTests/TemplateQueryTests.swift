import LookoutCore
import Series
import TestSupport
import Testing

@testable import Rules

/// Alert templates' `query`: literal queries parsed when the file loads (errors with their
/// position), their series kept in the history, evaluated at the alert's evaluation time.
@Suite struct TemplateQueryTests {
    static let rules = """
        groups:
          - name: g
            rules:
              - alert: High
                expr: x > 1
                annotations:
                  peers: '{{ range sortByLabel "i" (query "peer_load") }}{{ .Labels.i }}={{ .Value }} {{ end }}'
                  avg: '{{ query "avg_over_time(peer_load[2m])" | first | value }}'
                  dynamic: '{{ with query (printf "peer_load{i=%q}" "b") }}{{ (index . 0).Value }}{{ end }}'
        """

    @Test func templatesQueryTheHistoryAtTheEvaluationTime() throws {
        let clock = ManualClock(wall: WallTime(secondsSinceEpoch: 1_790_000_000))
        let engine = RuleEngine(clock: clock)
        #expect(engine.load(text: Self.rules, file: "q.yml").isEmpty)
        let t0 = clock.wallNow
        for i in 0..<3 {
            engine.ingest(
                [
                    .gauge("x", help: "", [(Labels.empty, 2)]),
                    .gauge("peer_load", help: "", [(Labels(["i": "b"]), Double(10 + i)), (Labels(["i": "a"]), Double(i))]),
                    .gauge("unrelated", help: "", [(Labels.empty, 1)]),
                ], at: t0 + .seconds(Double(60 * i)))
        }
        let round = engine.evaluate(at: t0 + .seconds(120))
        let alert = try #require(round.firing.first)
        #expect(alert.annotations["peers"] == "a=2 b=12 ")
        #expect(alert.annotations["avg"] == "1")
        #expect(alert.annotations["dynamic"] == "12")
        // The literal queries' series are kept (peer_load for 2 m), others are not.
        #expect(engine.historySamples(["__name__": "peer_load", "i": "a"]).count == 3)
        #expect(engine.historySamples(["__name__": "unrelated"]).isEmpty)
    }

    @Test func literalQueriesAreCheckedWhenTheFileLoads() {
        let text = """
            groups:
              - name: g
                rules:
                  - alert: A
                    expr: x > 1
                    annotations:
                      bad: 'see {{ query "rate(x[5m]" }}'
                      far: '{{ query "max_over_time(x[2h])" }}'
                      matrix: '{{ query "x[5m]" }}'
            """
        let d = RuleFileLoader.parse(text: text, file: "q.yml").diagnostics.map(\.description)
        #expect(d.count == 3, "\(d)")
        #expect(d.first { $0.contains("bad") }?.hasPrefix("q.yml:7:41: group \"g\", rule \"A\": annotation \"bad\": query \"rate(x[5m]\": could not parse expression: unexpected end of input") == true, "\(d)")
        #expect(d.first { $0.contains("far") }?.hasPrefix("q.yml:8:41: group \"g\", rule \"A\": annotation \"far\": query \"max_over_time(x[2h])\": needs 2h of history") == true, "\(d)")
        #expect(d.first { $0.contains("matrix") }?.contains("must give an instant vector or a scalar, not a range vector") == true, "\(d)")
    }

    @Test func templateErrorsReadAsPrometheusWritesThem() throws {
        let clock = ManualClock(wall: WallTime(secondsSinceEpoch: 1_790_000_000))
        let engine = RuleEngine(clock: clock)
        let text = """
            groups:
              - name: g
                rules:
                  - alert: Err
                    expr: x > 1
                    annotations:
                      a: '{{ if gt $value 1 }}x{{ end }}'
                      b: '{{ query (print "up{") }}'
            """
        #expect(engine.load(text: text, file: "e.yml").isEmpty)
        engine.ingest([.gauge("x", help: "", [(Labels.empty, 2)])], at: clock.wallNow)
        let alert = try #require(engine.evaluate(at: clock.wallNow).firing.first)
        #expect(
            alert.annotations["a"]
                == "<error expanding template: error executing template __alert_Err: template: __alert_Err:1:118: executing \"__alert_Err\" at <gt $value 1>: error calling gt: incompatible types for comparison>"
        )
        #expect(alert.annotations["b"]?.hasPrefix("<error expanding template: error executing template __alert_Err: template: __alert_Err:1:115: executing \"__alert_Err\" at <query (print \"up{\")>: error calling query: 1:4: parse error: ") == true)
    }
}
