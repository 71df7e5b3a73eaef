import LookoutCore
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// One sample of the text exposition: `name{labels} value`.
struct ExposedSample: Sendable {
    var name: String
    var labels: [String: String]
    var value: Double

    /// `name{k="v",...}` with the labels sorted: the series' identity.
    var series: String {
        name + "{" + labels.keys.sorted().map { "\($0)=\"\(labels[$0]!)\"" }.joined(separator: ",") + "}"
    }
}

/// A small reader of the text format (0.0.4) for tests: comments skipped, label values unescaped.
enum ExpositionText {
    static func parse(_ text: String) -> [ExposedSample] {
        var out: [ExposedSample] = []
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            if let s = parseLine(Array(line.utf8)) { out.append(s) }
        }
        return out
    }

    private static func parseLine(_ b: [UInt8]) -> ExposedSample? {
        var i = 0
        while i < b.count, b[i] != UInt8(ascii: "{"), b[i] != UInt8(ascii: " ") { i += 1 }
        let name = String(decoding: b[0..<i], as: UTF8.self)
        var labels: [String: String] = [:]
        if i < b.count, b[i] == UInt8(ascii: "{") {
            i += 1
            while i < b.count, b[i] != UInt8(ascii: "}") {
                var k = i
                while k < b.count, b[k] != UInt8(ascii: "=") { k += 1 }
                let key = String(decoding: b[i..<k], as: UTF8.self)
                i = k + 2  // past `="`
                var value: [UInt8] = []
                while i < b.count, b[i] != UInt8(ascii: "\"") {
                    if b[i] == UInt8(ascii: "\\"), i + 1 < b.count {
                        i += 1
                        value.append(b[i] == UInt8(ascii: "n") ? 10 : b[i])
                    } else {
                        value.append(b[i])
                    }
                    i += 1
                }
                labels[key] = String(decoding: value, as: UTF8.self)
                i += 1  // closing quote
                if i < b.count, b[i] == UInt8(ascii: ",") { i += 1 }
            }
            i += 1  // `}`
        }
        while i < b.count, b[i] == UInt8(ascii: " ") { i += 1 }
        var end = i
        while end < b.count, b[end] != UInt8(ascii: " ") { end += 1 }
        let text = String(decoding: b[i..<end], as: UTF8.self)
        let value: Double
        switch text {
        case "+Inf": value = .infinity
        case "-Inf": value = -.infinity
        case "NaN": value = .nan
        default:
            guard let v = Double(text) else { return nil }
            value = v
        }
        return ExposedSample(name: name, labels: labels, value: value)
    }
}

extension [ExposedSample] {
    /// The value of the one series named `name` whose labels include `labels`.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        first { s in s.name == name && labels.allSatisfy { s.labels[$0.key] == $0.value } }?.value
    }

    /// Every series named `name` whose labels include `labels`.
    func all(_ name: String, _ labels: [String: String] = [:]) -> [ExposedSample] {
        filter { s in s.name == name && labels.allSatisfy { s.labels[$0.key] == $0.value } }
    }
}

extension AgentProcess {
    /// The agent's exposition, parsed (empty when it did not answer).
    func samples() -> [ExposedSample] {
        let r = get("/metrics")
        return r.status == 200 ? ExpositionText.parse(r.text) : []
    }

    /// `/api/v1/targets` by target name.
    func targets() -> [String: JSON] {
        guard let json = try? JSON(parsing: get("/api/v1/targets").body),
            let list = json["data"]?["targets"]?.arrayValue
        else { return [:] }
        var out: [String: JSON] = [:]
        for t in list { if let name = t["name"]?.stringValue { out[name] = t } }
        return out
    }

    /// The last result of a target's endpoint in `/api/v1/targets`.
    func lastResult(_ target: String, _ endpoint: String) -> JSON? {
        targets()[target]?["endpoints"]?.arrayValue?.first { $0["endpoint"]?.stringValue == endpoint }?["last_result"]
    }

    /// The log written since `offset` bytes: agents started one after another on the same
    /// working directory share its log file.
    func log(since offset: Int) -> String {
        String(decoding: Array(log.utf8).dropFirst(offset), as: UTF8.self)
    }

    /// The agent's resident set size, from /proc.
    var residentKiB: Int {
        let status = (try? FileIO.readText("/proc/\(process.pid)/status")) ?? ""
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? 0
        }
        return 0
    }
}

/// A rule file whose alert fires as soon as a probe fails (no `for`), so notifications
/// go out within a rule interval of the failure.
let probeFailedRules = """
    groups:
      - name: faults
        rules:
          - alert: ProbeFailed
            expr: lookout_probe_success == 0
            for: 0s
            labels:
              severity: critical
            annotations:
              summary: "{{ $labels.target }} {{ $labels.endpoint }} failed"
    """

/// Nearest-rank percentile of `values` (0 < p ≤ 100).
func percentile(_ values: [Double], _ p: Double) -> Double {
    guard !values.isEmpty else { return .nan }
    let sorted = values.sorted()
    let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
    return sorted[min(max(rank, 1), sorted.count) - 1]
}

/// Seconds on the monotonic clock, for measuring latencies in tests.
func monotonicSeconds() -> Double {
    Double(SystemClock().now.nanoseconds) / 1e9
}

/// The size of the agent log in `directory` now (0 before any agent ran there).
func logSize(_ directory: TemporaryDirectory) -> Int {
    ((try? FileIO.read(directory.path + "/agent.log", limit: 1 << 30)) ?? []).count
}
