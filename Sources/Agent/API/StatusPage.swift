import GoFormat
import LookoutCore
import Rules

/// What the status page at `/` shows; gathered from the components' snapshots.
struct StatusPageModel: Sendable {
    struct TargetRow: Sendable {
        var target: String
        var endpoint: String
        var url: String
        /// ok, warning, critical or unknown.
        var verdict: String
        var status: Int?
        var totalSeconds: Double?
        var phases: [(name: String, seconds: Double)]
        var reason: String?
        var lastProbe: WallTime?
        var circuitOpen: Bool
        /// The components the last health body reported (name, status, 1/0.5/0, time).
        var components: [(name: String, status: String, up: Double, seconds: Double?)] = []
        var componentsError: String? = nil
        /// Set when the components' checks ran one after another: the numbers that show it.
        var sequential: String? = nil
    }

    struct AlertRow: Sendable {
        var name: String
        var severity: String
        var state: String
        var labels: [(String, String)]
        var summary: String
        var activeAt: WallTime?
        var value: String
    }

    struct Series: Sendable {
        var name: String
        /// Oldest first, one point per second, each in [0, ∞) (1.0 = one core, or all CPUs for the host).
        var points: [Double]
    }

    /// The agent's cgroup: its CPU limit in cores (nil: unlimited) and weight.
    struct CgroupLimit: Sendable {
        var cores: Double?
        var weight: UInt64?
    }

    struct Receiver: Sendable {
        var name: String
        var detail: String
    }

    /// A stack-sampled group's hottest functions of the last minute.
    struct GroupFunctions: Sendable {
        var group: String
        var samples: Int64
        /// Name, own samples, samples with it on the stack.
        var functions: [(name: String, flat: Int64, cumulative: Int64)]
    }

    var version = LookoutVersion.version
    var startedAt: WallTime
    var now: WallTime
    var configSource: String
    var ready: Bool
    var samplerFrequency: Int
    var ticks: Double
    var missedTicks: Double
    var targets: [TargetRow] = []
    var alerts: [AlertRow] = []
    var hostCPU: Series?
    var groupCPU: [Series] = []
    /// nil when the agent's cgroup has no cpu controller files (or none was found).
    var cgroupLimit: CgroupLimit?
    var outboxLength: Int = 0
    var outboxOldestAge: Duration?
    var receivers: [Receiver] = []
    /// `lookout_profiler_stack_sampling`'s status: active, denied or off.
    var stackSampling = "off"
    var stackGroups: [String] = []
    /// nil before a minute of stack samples has passed.
    var topFunctions: [GroupFunctions]?
    /// remote_write endpoints; nil when remote_write is off.
    var remoteWrite: [RemoteWriteRow]?
    var walBytes: Int?

    struct RemoteWriteRow: Sendable {
        var url: String
        var sent: Double
        var pending: Double
        var dropped: Double
        /// Newest acknowledged sample; nil before the first.
        var lastSent: WallTime?
        var lastError: String
    }
}

/// Renders the status page: one server-rendered HTML document, no scripts, no external assets.
enum StatusPage {
    static func render(_ m: StatusPageModel) -> String {
        var h = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta http-equiv="refresh" content="10">
            <title>lookout — status</title>
            <style>
            body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d232a;background:#f6f7f9}
            header{background:#1d232a;color:#fff;padding:10px 20px;display:flex;gap:24px;align-items:baseline;flex-wrap:wrap}
            header h1{font-size:18px;margin:0}header a{color:#9cc7ff}
            main{padding:12px 20px;display:grid;gap:16px}
            section{background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:10px 14px}
            h2{font-size:15px;margin:0 0 8px}
            table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eef0f3;vertical-align:top}
            th{font-weight:600;color:#4a5561}td.num{text-align:right;font-variant-numeric:tabular-nums}
            .ok{color:#0a7a2f}.warning{color:#b35c00}.critical{color:#c4001a}.unknown{color:#6b7580}
            .badge{display:inline-block;padding:0 6px;border-radius:3px;font-weight:600;font-size:12px;text-transform:uppercase}
            .badge.ok{background:#e3f5e9}.badge.warning{background:#fff0dc}.badge.critical{background:#fde3e6}.badge.unknown{background:#eef0f3}
            .badge.firing{background:#fde3e6;color:#c4001a}.badge.pending{background:#fff0dc;color:#b35c00}
            .spark{display:flex;gap:18px;flex-wrap:wrap}.spark figure{margin:0}.spark figcaption{font-size:12px;color:#4a5561}
            .muted{color:#6b7580}code{font-size:12px}
            </style></head><body>
            <header><h1>lookout</h1>
            """
        h += "<span>version \(esc(m.version))</span>"
        h += "<span>up \(esc(PromDuration.format(milliseconds: (m.now - m.startedAt).milliseconds / 1000 * 1000)))</span>"
        h += "<span>\(m.ready ? "ready" : "not ready")</span>"
        h += "<span>config <code>\(esc(m.configSource))</code></span>"
        h += "<span>sampling \(m.samplerFrequency) Hz, \(Int(m.ticks)) ticks, \(Int(m.missedTicks)) missed</span>"
        h += "</header><main>"

        // Targets
        h += "<section id=\"targets\"><h2>Targets</h2>"
        if m.targets.isEmpty {
            h += "<p class=\"muted\">No targets configured.</p>"
        } else {
            h += "<table><thead><tr><th>target</th><th>endpoint</th><th>verdict</th><th>status</th><th>total</th>"
            h += "<th>resolve</th><th>connect</th><th>tls</th><th>processing</th><th>transfer</th><th>last probe</th><th>reason</th></tr></thead><tbody>"
            for t in m.targets {
                h += "<tr class=\"target\" data-target=\"\(esc(t.target))\" data-endpoint=\"\(esc(t.endpoint))\" data-verdict=\"\(esc(t.verdict))\">"
                h += "<td>\(esc(t.target))</td><td title=\"\(esc(t.url))\">\(esc(t.endpoint))</td>"
                h += "<td><span class=\"badge \(esc(t.verdict))\">\(esc(t.verdict))</span>\(t.circuitOpen ? " <span class=\"badge critical\">circuit open</span>" : "")</td>"
                h += "<td class=\"num\">\(t.status.map(String.init) ?? "–")</td>"
                h += "<td class=\"num\">\(t.totalSeconds.map(seconds) ?? "–")</td>"
                for phase in ["resolve", "connect", "tls", "processing", "transfer"] {
                    h += "<td class=\"num\">\(t.phases.first { $0.name == phase }.map { seconds($0.seconds) } ?? "–")</td>"
                }
                h += "<td>\(t.lastProbe.map { ago(m.now - $0) } ?? "never")</td>"
                h += "<td>\(esc(t.reason ?? ""))</td></tr>"
                if !t.components.isEmpty || t.componentsError != nil || t.sequential != nil {
                    h += componentsRow(t)
                }
            }
            h += "</tbody></table>"
        }
        h += "</section>"

        // Alerts
        h += "<section id=\"alerts\"><h2>Alerts</h2>"
        if m.alerts.isEmpty {
            h += "<p class=\"muted\">No pending or firing alerts.</p>"
        } else {
            h += "<table><thead><tr><th>alert</th><th>state</th><th>severity</th><th>labels</th><th>summary</th><th>active since</th><th>value</th></tr></thead><tbody>"
            for a in m.alerts {
                h += "<tr class=\"alert\" data-alertname=\"\(esc(a.name))\" data-state=\"\(esc(a.state))\">"
                h += "<td>\(esc(a.name))</td><td><span class=\"badge \(esc(a.state))\">\(esc(a.state))</span></td>"
                h += "<td class=\"\(esc(a.severity))\">\(esc(a.severity))</td>"
                h += "<td><code>\(esc(a.labels.map { "\($0.0)=\"\($0.1)\"" }.joined(separator: ", ")))</code></td>"
                h += "<td>\(esc(a.summary))</td><td>\(a.activeAt.map { ago(m.now - $0) } ?? "")</td><td class=\"num\">\(esc(a.value))</td></tr>"
            }
            h += "</tbody></table>"
        }
        h += "</section>"

        // CPU
        h += "<section id=\"cpu\"><h2>CPU (sampled at \(m.samplerFrequency) Hz, one point per second)</h2><div class=\"spark\">"
        if let host = m.hostCPU { h += sparkline(host, caption: "host (share of all CPUs)", maxValue: 1) }
        for g in m.groupCPU {
            let peak = max(1, g.points.max() ?? 1)
            h += sparkline(g, caption: "group \(g.name) (cores)", maxValue: peak)
        }
        if m.hostCPU == nil && m.groupCPU.isEmpty { h += "<p class=\"muted\">No samples yet.</p>" }
        h += "</div>"
        if let c = m.cgroupLimit {
            h += "<p id=\"cgroup-limit\">cgroup CPU limit: "
            h += c.cores.map { "<span class=\"num\">\(esc(GoValue.format($0)))</span> cores" } ?? "none"
            if let w = c.weight { h += ", weight <span class=\"num\">\(w)</span>" }
            h += "</p>"
        }
        h += "</section>"

        // Stack profiles
        h += "<section id=\"stacks\"><h2>CPU stacks (stack sampling \(esc(m.stackSampling)))</h2>"
        switch m.stackSampling {
        case "active":
            if let top = m.topFunctions {
                for g in top {
                    let link = "/debug/pprof/flamegraph?seconds=10&amp;group=\(esc(URLQuery.escape(g.group)))"
                    h += "<h3>\(esc(g.group)) <a href=\"\(link)\">flame graph</a></h3>"
                    if g.functions.isEmpty {
                        h += "<p class=\"muted\">No samples in the last minute.</p>"
                        continue
                    }
                    h += "<table class=\"functions\" data-group=\"\(esc(g.group))\"><thead><tr><th>function (last minute)</th>"
                    h += "<th>self</th><th>total</th></tr></thead><tbody>"
                    for f in g.functions {
                        let total = Double(max(g.samples, 1))
                        h += "<tr><td><a href=\"\(link)\"><code>\(esc(f.name))</code></a></td>"
                        h += "<td class=\"num\">\(percent(Double(f.flat) / total))</td><td class=\"num\">\(percent(Double(f.cumulative) / total))</td></tr>"
                    }
                    h += "</tbody></table>"
                }
            } else {
                h += "<p class=\"muted\">The top functions appear after a minute of samples.</p>"
                for g in m.stackGroups {
                    h += "<p>\(esc(g)): <a href=\"/debug/pprof/flamegraph?seconds=10&amp;group=\(esc(URLQuery.escape(g)))\">flame graph</a></p>"
                }
            }
        case "denied":
            h += "<p>perf events were refused (see the log for how to allow them); profiles are thread-level.</p>"
        default:
            h += "<p class=\"muted\">No group is stack-sampled (<code>sampling.stacks</code>, a group's <code>stacks:</code>); profiles are thread-level.</p>"
        }
        h += "</section>"

        // Notifications
        h += "<section id=\"notifications\"><h2>Notifications</h2><p>Outbox: \(m.outboxLength) pending"
        if let age = m.outboxOldestAge { h += ", oldest \(ago(age))" }
        h += "</p>"
        if !m.receivers.isEmpty {
            h += "<table><thead><tr><th>receiver</th><th>last delivery</th></tr></thead><tbody>"
            for r in m.receivers { h += "<tr><td>\(esc(r.name))</td><td>\(esc(r.detail))</td></tr>" }
            h += "</tbody></table>"
        }
        h += "</section>"

        if let rows = m.remoteWrite {
            h += "<section id=\"remote-write\"><h2>Remote write</h2><p>WAL: \(m.walBytes.map { "\($0 / 1024) KiB" } ?? "not open")</p>"
            h += "<table><thead><tr><th>endpoint</th><th>sent</th><th>pending</th><th>dropped</th><th>newest sample sent</th><th>last error</th></tr></thead><tbody>"
            for r in rows {
                let last = r.lastSent.map { ago(m.now - $0) } ?? "none yet"
                h += "<tr><td>\(esc(r.url))</td><td>\(Int(r.sent))</td><td>\(Int(r.pending))</td><td>\(Int(r.dropped))</td>"
                h += "<td>\(last)</td><td>\(esc(r.lastError))</td></tr>"
            }
            h += "</tbody></table></section>"
        }

        h += """
            <section id="links"><h2>More</h2><ul>
            <li><a href="/metrics">/metrics</a> (Prometheus exposition)</li>
            <li><a href="/api/v1/targets">/api/v1/targets</a> · <a href="/api/v1/alerts">/api/v1/alerts</a> · <a href="/api/v1/rules">/api/v1/rules</a></li>
            <li><a href="/debug/pprof/profile?seconds=10">/debug/pprof/profile?seconds=10</a> (pprof CPU profile, gzipped) ·
            <a href="/debug/pprof/profile?seconds=10&amp;format=folded">folded stacks</a> ·
            <a href="/debug/pprof/flamegraph?seconds=10">flame graph</a></li>
            <li><a href="/-/healthy">/-/healthy</a> · <a href="/-/ready">/-/ready</a></li>
            </ul></section></main></body></html>
            """
        return h
    }

    /// An inline SVG polyline of `series`, scaled to [0, maxValue].
    static func sparkline(_ s: StatusPageModel.Series, caption: String, maxValue: Double) -> String {
        let width = 300.0, height = 60.0
        let pts = s.points
        var path = ""
        if pts.count >= 2 {
            for (i, v) in pts.enumerated() {
                let x = width * Double(i) / Double(pts.count - 1)
                let y = height - height * min(max(v, 0) / maxValue, 1)
                path += "\(i == 0 ? "" : " ")\(fmt(x)),\(fmt(y))"
            }
        }
        let last = pts.last.map { String(Int(($0 * 100).rounded())) + "%" } ?? "–"
        let peak = pts.max().map { String(Int(($0 * 100).rounded())) + "%" } ?? "–"
        return """
            <figure class="cpu" data-series="\(esc(s.name))"><svg width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" role="img" aria-label="\(esc(caption))">\
            <rect width="100%" height="100%" fill="#f6f7f9"/>\
            <polyline fill="none" stroke="#2a6fdb" stroke-width="1.5" points="\(path)"/></svg>\
            <figcaption>\(esc(caption)): now \(last), peak \(peak)</figcaption></figure>
            """
    }

    /// A target's dependencies under its row: each component with its state and time, and
    /// what shows that their checks ran one after another.
    static func componentsRow(_ t: StatusPageModel.TargetRow) -> String {
        var h = "<tr class=\"components\" data-target=\"\(esc(t.target))\" data-endpoint=\"\(esc(t.endpoint))\"><td></td><td colspan=\"11\">"
        for c in t.components {
            let verdict = c.up == 1 ? "ok" : (c.up == 0 ? "critical" : "warning")
            h += "<span class=\"component\" data-component=\"\(esc(c.name))\">\(esc(c.name)) "
            h += "<span class=\"badge \(verdict)\">\(esc(c.status))</span>"
            if let seconds = c.seconds { h += " \(esc(Self.seconds(seconds)))" }
            h += "</span> &nbsp; "
        }
        if let error = t.componentsError {
            h += "<span class=\"muted\">components not read: \(esc(error))</span>"
        }
        if let sequential = t.sequential {
            h += "<p class=\"sequential warning\">Checks ran one after another: \(esc(sequential)): run them in parallel.</p>"
        }
        return h + "</td></tr>"
    }

    static func fmt(_ v: Double) -> String { String(Double(Int(v * 10)) / 10) }

    static func percent(_ v: Double) -> String { "\(Double(Int(v * 1000)) / 10)%" }


    static func seconds(_ s: Double) -> String {
        s >= 1 ? GoFloat.formatFixed(s, verb: "f", precision: 2) + " s" : GoFloat.formatFixed(s * 1000, verb: "f", precision: 0) + " ms"
    }

    static func ago(_ d: Duration) -> String {
        let s = max(0, d.milliseconds / 1000)
        if s < 60 { return "\(s)s ago" }
        if s < 3600 { return "\(s / 60)m\(s % 60)s ago" }
        return "\(s / 3600)h\(s / 60 % 60)m ago"
    }

    /// HTML escaping for text and attribute values.
    static func esc(_ s: String) -> String { Markup.escaped(s) }
}
