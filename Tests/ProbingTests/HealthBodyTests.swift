import LookoutCore
@testable import Probing
import Testing

@Suite struct HealthBodyTests {
    static func parse(
        _ text: String, _ contentType: String? = "application/json", format: HealthBodyFormat = .auto, limit: Int = 100
    ) throws(HealthBodyError) -> HealthReport? {
        try HealthBodyParser.parse(Array(text.utf8), contentType: contentType, format: format, componentLimit: limit)
    }

    static func table(_ r: HealthReport?) -> [String: Double] {
        var out: [String: Double] = [:]
        for c in r?.components ?? [] { out[c.name] = c.up }
        return out
    }

    // MARK: Spring Boot Actuator

    @Test func springHealthy() throws {
        let r = try #require(
            try Self.parse(
                #"{"status":"UP","components":{"db":{"status":"UP","details":{"database":"PostgreSQL","validationQuery":"isValid()"}},"diskSpace":{"status":"UP","details":{"total":1,"free":1}},"ping":{"status":"UP"}}}"#
            ))
        #expect(r.format == .spring && r.status == "UP")
        #expect(r.components.map(\.name) == ["db", "diskSpace", "ping"])
        #expect(r.components.allSatisfy { $0.up == 1 && $0.durationSeconds == nil })
    }

    @Test func springOneDownNestedAndTimed() throws {
        let body = #"""
            {"status":"DOWN","components":{
              "db":{"status":"UP","details":{"durationMs":2000}},
              "downstream":{"status":"DOWN","components":{
                 "giveaway":{"status":"DOWN","details":{"error":"timeout","duration":"5s"}},
                 "channel":{"status":"UP","details":{"latency":"3.0s"}}}},
              "cache":{"status":"OUT_OF_SERVICE"},
              "custom":{"status":"UNKNOWN","details":{"elapsed":"1m30s"}}}}
            """#
        let r = try #require(try Self.parse(body))
        #expect(r.format == .spring)
        #expect(
            Self.table(r) == [
                "db": 1, "downstream": 0, "downstream/giveaway": 0, "downstream/channel": 1, "cache": 0, "custom": 0.5,
            ])
        let byName = Dictionary(uniqueKeysWithValues: r.components.map { ($0.name, $0) })
        #expect(byName["db"]?.durationSeconds == 2)
        #expect(byName["downstream/giveaway"]?.durationSeconds == 5)
        #expect(byName["downstream/channel"]?.durationSeconds == 3)
        #expect(byName["custom"]?.durationSeconds == 90)
        #expect(byName["downstream"]?.isComposite == true)
        #expect(byName["cache"]?.status == "OUT_OF_SERVICE")
    }

    @Test func springTwoZeroDetailsForm() throws {
        let r = try #require(try Self.parse(#"{"status":"UP","details":{"db":{"status":"UP"},"redis":{"status":"DOWN"}}}"#))
        #expect(Self.table(r) == ["db": 1, "redis": 0])
    }

    // MARK: MicroProfile

    @Test func microprofileOneDown() throws {
        let body = #"""
            {"status":"DOWN","checks":[
              {"name":"kafka","status":"DOWN","data":{"bootstrap":"k:9092","responseTime":1500}},
              {"name":"database connections health check","status":"UP","data":{"duration":"12ms"}},
              {"name":"no status"}]}
            """#
        let r = try #require(try Self.parse(body))
        #expect(r.format == .microprofile && r.status == "DOWN")
        #expect(Self.table(r) == ["kafka": 0, "database connections health check": 1])
        #expect(r.components[0].durationSeconds == 1.5)
        #expect(r.components[1].durationSeconds == 0.012)
        #expect(r.droppedComponents == 1)
    }

    // MARK: IETF health+json

    @Test func healthJSONWarnAndResponseTime() throws {
        let body = #"""
            {"status":"warn","version":"1","checks":{
              "cassandra:responseTime":[
                {"componentId":"dfd6cf2b-1","componentType":"datastore","observedValue":250,"observedUnit":"ms","status":"pass","time":"2018-01-17T03:36:48Z"},
                {"componentId":"dfd6cf2b-2","componentType":"datastore","observedValue":2.5,"observedUnit":"s","status":"warn"}],
              "cassandra:connections":[{"componentId":"dfd6cf2b-1","observedValue":75,"status":"fail"}],
              "uptime":[{"componentType":"system","observedValue":1209600.245,"observedUnit":"s","status":"pass"}]}}
            """#
        let r = try #require(try Self.parse(body, "application/health+json"))
        #expect(r.format == .healthJSON && r.status == "warn")
        // Two instances of cassandra: one component each; the worst measurement decides.
        #expect(Self.table(r) == ["cassandra/dfd6cf2b-1": 0, "cassandra/dfd6cf2b-2": 0.5, "uptime": 1])
        let byName = Dictionary(uniqueKeysWithValues: r.components.map { ($0.name, $0) })
        #expect(byName["cassandra/dfd6cf2b-1"]?.durationSeconds == 0.25)
        #expect(byName["cassandra/dfd6cf2b-2"]?.durationSeconds == 2.5)
        // uptime is not a response time.
        #expect(byName["uptime"]?.durationSeconds == nil)
    }

    @Test func healthJSONDetectedByShapeToo() throws {
        let r = try #require(
            try Self.parse(#"{"status":"pass","checks":{"db:responseTime":[{"observedValue":30,"status":"pass"}]}}"#))
        #expect(r.format == .healthJSON)
        #expect(r.components.map(\.name) == ["db"] && r.components[0].durationSeconds == 0.03)
    }

    // MARK: Errors and limits

    @Test func malformedJSONIsAnErrorNotACrash() {
        #expect(throws: HealthBodyError.self) { try Self.parse(#"{"status":"UP","components":{"db":"#) }
        do throws(HealthBodyError) {
            _ = try Self.parse(#"{"status":"UP",}"#)
        } catch {
            #expect(error.message.hasPrefix("malformed JSON: invalid JSON at byte"), "\(error.message)")
        }
    }

    @Test func wrongFormatForItsContentType() {
        do throws(HealthBodyError) {
            _ = try Self.parse(#"{"status":"UP","components":{"db":{"status":"UP"}}}"#, "application/health+json")
            Issue.record("a Spring body declared as health+json was accepted")
        } catch {
            #expect(error.message.contains("application/health+json"), "\(error.message)")
        }
        // Forced formats say what is missing.
        #expect(throws: HealthBodyError("no \"checks\" array at the top level")) {
            try Self.parse(#"{"status":"UP","components":{}}"#, format: .microprofile)
        }
        #expect(throws: HealthBodyError("expected a JSON object, found an array")) {
            try Self.parse("[1,2]", format: .spring)
        }
    }

    @Test func unrelatedBodiesAreNotComponentReports() throws {
        #expect(try Self.parse("OK", "text/plain") == nil)
        #expect(try Self.parse("<html>fine</html>", "text/html") == nil)
        #expect(try Self.parse(#"{"ok":true}"#) == nil)
        #expect(try Self.parse(#"{"status":"UP","components":{}}"#, format: .none) == nil)
    }

    @Test func tenThousandComponentsAreBounded() throws {
        var body = #"{"status":"UP","components":{"#
        body += (0..<10_000).map { #""c\#($0)":{"status":"UP","details":{"durationMs":1}}"# }.joined(separator: ",")
        body += "}}"
        let r = try #require(try Self.parse(body))
        #expect(r.components.count == 100)
        #expect(r.droppedComponents == 9_900)
        #expect(r.components.last?.name == "c99")
        let small = try #require(try Self.parse(body, limit: 3))
        #expect(small.components.map(\.name) == ["c0", "c1", "c2"] && small.droppedComponents == 9_997)
    }

    @Test func namesAreSanitizedAndBounded() throws {
        let long = String(repeating: "é", count: 200)
        let r = try #require(
            try Self.parse(
                #"{"status":"DOWN","checks":[{"name":"a\nb\u0000c","status":"UP"},{"name":"\#(long)","status":"DOWN"},{"name":"a_b_c","status":"UP"}]}"#
            ))
        #expect(r.components.map(\.name) == ["a_b_c", String(repeating: "é", count: 64)])
        // The second a_b_c (after sanitizing) is a name already taken.
        #expect(r.droppedComponents == 1)
    }

    @Test func durationsInTheirUnits() {
        let cases: [(JSON, String?, Double?)] = [
            (.number(1500), nil, 1.5), (.string("2.1s"), nil, 2.1), (.string("150ms"), nil, 0.15),
            (.string("1m30s"), nil, 90), (.string("800us"), nil, 0.0008), (.string("250"), nil, 0.25),
            (.number(3), "s", 3), (.number(5_000_000), "ns", 0.005), (.string("soon"), nil, nil),
            (.number(-1), nil, nil), (.number(1), "parsecs", nil), (.bool(true), nil, nil),
        ]
        for (value, unit, expected) in cases {
            let got = HealthBodyParser.durationValue(value, unit: unit)
            if let expected, let got {
                #expect(abs(got - expected) < 1e-12, "\(value) \(unit ?? "-")")
            } else {
                #expect(got == nil && expected == nil, "\(value) \(unit ?? "-"): \(String(describing: got))")
            }
        }
    }

    // MARK: The sequential smell

    static func report(_ parts: [(String, Double)]) -> HealthReport {
        HealthReport(
            format: .spring, status: "UP",
            components: parts.map { HealthComponent(name: $0.0, status: "UP", up: 1, durationSeconds: $0.1) })
    }

    @Test func sequentialChecksAddUpToTheProbe() throws {
        let s = try #require(SequentialChecks(Self.report([("auth", 2), ("channel", 3), ("giveaway", 5)]), probeSeconds: 10.1))
        #expect(s.isSequential)
        #expect(s.explanation == "auth 2.0 s + channel 3.0 s + giveaway 5.0 s = 10.0 s of a 10.1 s check")
    }

    @Test func parallelChecksDoNot() throws {
        // Run in parallel: the probe took as long as the slowest.
        let parallel = try #require(SequentialChecks(Self.report([("a", 1), ("b", 2), ("c", 3)]), probeSeconds: 3.1))
        #expect(!parallel.isSequential)
        // One slow component among fast ones: the sum matches, but it is not 1.3x the largest.
        let oneSlow = try #require(SequentialChecks(Self.report([("a", 0.01), ("b", 0.02), ("slow", 5)]), probeSeconds: 5.05))
        #expect(!oneSlow.isSequential)
        // Within 15%, and not beyond.
        #expect(SequentialChecks(Self.report([("a", 1), ("b", 1)]), probeSeconds: 2.3)?.isSequential == true)
        #expect(SequentialChecks(Self.report([("a", 1), ("b", 1)]), probeSeconds: 2.4)?.isSequential == false)
        // One timed component is not a sequence; composites are not parts.
        #expect(SequentialChecks(Self.report([("a", 1)]), probeSeconds: 1) == nil)
        var r = Self.report([("group", 3), ("a", 1), ("b", 2)])
        r.components[0].isComposite = true
        #expect(SequentialChecks(r, probeSeconds: 3)?.parts.map(\.name) == ["a", "b"])
    }
}
