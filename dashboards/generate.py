#!/usr/bin/env python3
"""Generates lookout's Grafana dashboards (schemaVersion 39).

    python3 dashboards/generate.py      # rewrites dashboards/*.json

The JSON files are committed; this script is the single place their panels are
defined, so every query uses the metric names of DESIGN.md the same way.
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
DS = {"type": "prometheus", "uid": "${datasource}"}
RATE = "$__rate_interval"
INST = 'instance=~"$instance"'


def target(expr, legend, ref="A", fmt=None, instant=False):
    t = {"datasource": DS, "expr": expr, "legendFormat": legend, "refId": ref, "range": not instant, "instant": instant}
    if fmt:
        t["format"] = fmt
    return t


class Board:
    def __init__(self, uid, title, description, tags):
        self.uid, self.title, self.description, self.tags = uid, title, description, tags
        self.panels = []
        self.next_id = 1
        self.y = 0
        self.x = 0
        self.row_height = 0

    def row(self, title, repeat=None):
        self._newline()
        p = {"type": "row", "title": title, "id": self._id(), "collapsed": False, "panels": [],
             "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y}}
        if repeat:
            p["repeat"] = repeat
        self.panels.append(p)
        self.y += 1

    def _id(self):
        i = self.next_id
        self.next_id += 1
        return i

    def _newline(self):
        if self.x:
            self.y += self.row_height
            self.x = 0
            self.row_height = 0

    def panel(self, kind, title, description, targets, unit="short", w=12, h=8, **extra):
        if self.x + w > 24:
            self._newline()
        p = {
            "type": kind,
            "title": title,
            "description": description,
            "id": self._id(),
            "datasource": DS,
            "gridPos": {"h": h, "w": w, "x": self.x, "y": self.y},
            "targets": targets,
            "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
            "options": {},
        }
        if kind == "timeseries":
            p["options"] = {"legend": {"displayMode": "table", "placement": "bottom", "calcs": ["lastNotNull", "max"]},
                            "tooltip": {"mode": "multi", "sort": "desc"}}
            p["fieldConfig"]["defaults"]["custom"] = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10,
                                                      "showPoints": "never", "spanNulls": False}
        if kind == "heatmap":
            p["options"] = {"calculate": False, "yAxis": {"unit": unit}, "cellGap": 1,
                            "color": {"mode": "scheme", "scheme": "Oranges"}, "tooltip": {"show": True}}
        if kind == "stat":
            p["options"] = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                            "colorMode": "background", "graphMode": "none", "textMode": "auto"}
        for k, v in extra.items():
            if k == "thresholds":
                p["fieldConfig"]["defaults"]["thresholds"] = {"mode": "absolute", "steps": v}
                p["fieldConfig"]["defaults"].setdefault("custom", {})["thresholdsStyle"] = {"mode": "line+area"}
            elif k == "mappings":
                p["fieldConfig"]["defaults"]["mappings"] = v
            elif k == "stack":
                p["fieldConfig"]["defaults"]["custom"]["stacking"] = {"mode": "normal", "group": "A"}
                p["fieldConfig"]["defaults"]["custom"]["drawStyle"] = v
                p["fieldConfig"]["defaults"]["custom"]["fillOpacity"] = 80
            elif k == "minmax":
                p["fieldConfig"]["defaults"]["min"], p["fieldConfig"]["defaults"]["max"] = v
            else:
                p[k] = v
        self.panels.append(p)
        self.x += w
        self.row_height = max(self.row_height, h)

    def variables(self, extra):
        ds = {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
              "current": {}, "hide": 0, "refresh": 1, "regex": "", "options": []}
        inst = {"name": "instance", "label": "Instance", "type": "query", "datasource": DS,
                "query": {"query": "label_values(lookout_build_info, instance)", "refId": "instance"},
                "definition": "label_values(lookout_build_info, instance)",
                "includeAll": True, "multi": True, "allValue": ".*", "refresh": 2, "sort": 1,
                "current": {"selected": True, "text": ["All"], "value": ["$__all"]}, "options": [], "hide": 0}
        out = [ds, inst]
        for name, label, query in extra:
            out.append({"name": name, "label": label, "type": "query", "datasource": DS,
                        "query": {"query": query, "refId": name}, "definition": query,
                        "includeAll": True, "multi": True, "allValue": ".*", "refresh": 2, "sort": 1,
                        "current": {"selected": True, "text": ["All"], "value": ["$__all"]}, "options": [], "hide": 0})
        return out

    def render(self, extra_vars):
        return {
            "uid": self.uid,
            "title": self.title,
            "description": self.description,
            "tags": self.tags,
            "schemaVersion": 39,
            "version": 1,
            "editable": True,
            "graphTooltip": 1,
            "time": {"from": "now-1h", "to": "now"},
            "refresh": "30s",
            "timezone": "",
            "annotations": {"list": [{
                "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "enable": True,
                "hide": True, "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts", "type": "dashboard"}]},
            "templating": {"list": self.variables(extra_vars)},
            "links": [],
            "panels": self.panels,
        }


def overview():
    b = Board("lookout-overview", "lookout — overview",
              "Host, process and cgroup CPU sampled at 19 Hz, probes and scrapes of the watched services, "
              "alerts, notifications and the agent's own overhead.", ["lookout"])
    G = f'{INST}, group=~"$group"'
    T = f'{INST}, target=~"$target"'

    b.row("Host CPU")
    b.panel("timeseries", "Host CPU by mode",
            "Share of all CPUs spent in each mode, from /proc/stat (lookout_host_cpu_seconds_total).",
            [target(f'sum by (instance, mode) (rate(lookout_host_cpu_seconds_total{{{INST}, mode!="idle"}}[{RATE}]))'
                    f' / on (instance) group_left count by (instance) (lookout_host_cpu_seconds_total{{{INST}, mode="idle"}})',
                    "{{instance}} {{mode}}")], unit="percentunit", stack="line", minmax=(0, 1))
    b.panel("timeseries", "Host CPU peak (per-tick maximum)",
            "Highest per-tick busy fraction of all CPUs in the peak window: spikes a 15 s scrape would average away.",
            [target(f"lookout_host_cpu_utilization_peak_ratio{{{INST}}}", "{{instance}} peak"),
             target(f'1 - sum by (instance) (rate(lookout_host_cpu_seconds_total{{{INST}, mode="idle"}}[{RATE}]))'
                    f' / count by (instance) (lookout_host_cpu_seconds_total{{{INST}, mode="idle"}})',
                    "{{instance}} average", ref="B")], unit="percentunit", minmax=(0, 1))
    b.panel("heatmap", "Host CPU utilization per tick",
            "Distribution of per-tick busy fraction (lookout_host_cpu_utilization_ratio histogram).",
            [target(f"sum by (le) (rate(lookout_host_cpu_utilization_ratio_bucket{{{INST}}}[{RATE}]))", "{{le}}",
                    fmt="heatmap")], unit="percentunit")
    b.panel("timeseries", "CPU pressure (PSI some)",
            "Fraction of time some runnable task waited for a CPU (/proc/pressure/cpu).",
            [target(f"rate(lookout_host_pressure_cpu_waiting_seconds_total{{{INST}}}[{RATE}])", "{{instance}}")],
            unit="percentunit")

    b.row("Processes")
    b.panel("timeseries", "Process CPU by group",
            "CPU of each process group in cores (1.0 = one full core), user + system.",
            [target(f"sum by (instance, group) (rate(lookout_process_cpu_seconds_total{{{G}}}[{RATE}]))",
                    "{{instance}} {{group}}")], unit="short")
    b.panel("timeseries", "Process CPU peak (per-tick maximum)",
            "Highest per-tick CPU of each group in the peak window, in cores.",
            [target(f"lookout_process_cpu_utilization_peak_ratio{{{G}}}", "{{instance}} {{group}}")], unit="short")
    b.panel("heatmap", "Process CPU utilization per tick",
            "Distribution of per-tick CPU of the selected groups (lookout_process_cpu_utilization_ratio).",
            [target(f"sum by (le) (rate(lookout_process_cpu_utilization_ratio_bucket{{{G}}}[{RATE}]))", "{{le}}",
                    fmt="heatmap")], unit="short")
    b.panel("timeseries", "Busiest threads",
            "The ten threads using the most CPU (groups with threads: true), in cores.",
            [target(f"topk(10, sum by (instance, group, thread) (rate(lookout_thread_cpu_seconds_total{{{G}}}[{RATE}])))",
                    "{{group}}/{{thread}}")], unit="short")
    b.panel("timeseries", "User vs system CPU",
            "CPU by mode for each group, in cores.",
            [target(f"sum by (group, mode) (rate(lookout_process_cpu_seconds_total{{{G}}}[{RATE}]))",
                    "{{group}} {{mode}}")], unit="short", w=8)
    b.panel("timeseries", "Resident memory",
            "Resident set size of each group.",
            [target(f"lookout_process_resident_memory_bytes{{{G}}}", "{{instance}} {{group}}")], unit="bytes", w=8)
    b.panel("timeseries", "Processes, threads, open fds",
            "Number of processes, threads and open file descriptors of each group.",
            [target(f"lookout_processes{{{G}}}", "{{group}} processes"),
             target(f"lookout_process_threads{{{G}}}", "{{group}} threads", ref="B"),
             target(f"lookout_process_open_fds{{{G}}}", "{{group}} fds", ref="C")], unit="short", w=8)
    b.panel("timeseries", "Context switches",
            "Voluntary and involuntary context switches per second.",
            [target(f"sum by (group, type) (rate(lookout_process_context_switches_total{{{G}}}[{RATE}]))",
                    "{{group}} {{type}}")], unit="ops", w=12)

    b.row("Container (cgroup)")
    b.panel("timeseries", "cgroup CPU usage and limit",
            "CPU used by the agent's cgroup and its limit (quota / period), in cores; no limit line when unlimited.",
            [target(f"rate(lookout_cgroup_cpu_usage_seconds_total{{{INST}}}[{RATE}])", "{{instance}}"),
             target(f"lookout_cgroup_cpu_limit_cores{{{INST}}}", "{{instance}} limit", ref="B")], unit="short")
    b.panel("timeseries", "cgroup CPU throttling",
            "Time throttled per second and the share of CFS periods that were throttled.",
            [target(f"rate(lookout_cgroup_cpu_throttled_seconds_total{{{INST}}}[{RATE}])", "{{instance}} throttled s/s"),
             target(f"rate(lookout_cgroup_cpu_throttled_periods_total{{{INST}}}[{RATE}])"
                    f" / clamp_min(rate(lookout_cgroup_cpu_periods_total{{{INST}}}[{RATE}]), 1)",
                    "{{instance}} throttled periods", ref="B")], unit="percentunit")
    b.panel("timeseries", "cgroup CPU weight",
            "The cgroup's share of contended CPU: cgroup v2 cpu.weight (default 100) or v1 cpu.shares (default 1024).",
            [target(f"lookout_cgroup_cpu_weight{{{INST}}}", "{{instance}}")], unit="short")

    b.row("Probes and scrapes")
    b.panel("timeseries", "Probe latency p50 / p95 / p99",
            "Response time of each endpoint; warning above 2 s, critical above 5 s.",
            [target(f"histogram_quantile({q}, sum by (le, target, endpoint) "
                    f"(rate(lookout_probe_latency_seconds_bucket{{{T}}}[{RATE}])))",
                    f"{{{{target}}}} {{{{endpoint}}}} p{int(q * 100)}", ref=chr(65 + i))
             for i, q in enumerate([0.5, 0.95, 0.99])], unit="s",
            thresholds=[{"color": "green", "value": None}, {"color": "orange", "value": 2}, {"color": "red", "value": 5}])
    b.panel("timeseries", "Last probe by phase",
            "Where the time of the last probe went: resolve, connect, TLS, processing (server), transfer.",
            [target(f'lookout_probe_duration_seconds{{{T}, phase!="total"}}', "{{target}} {{endpoint}} {{phase}}")],
            unit="s", stack="bars")
    b.panel("state-timeline", "Probe success",
            "1 when the last probe of the endpoint succeeded.",
            [target(f"lookout_probe_success{{{T}}}", "{{target}} {{endpoint}}")], unit="short",
            mappings=[{"type": "value", "options": {"0": {"text": "failing", "color": "red"},
                                                    "1": {"text": "ok", "color": "green"}}}])
    b.panel("timeseries", "Timeouts and failures",
            "Probes that timed out, and failures by reason, per interval.",
            [target(f"sum by (target, endpoint) (increase(lookout_probe_timeouts_total{{{T}}}[{RATE}]))",
                    "{{target}} {{endpoint}} timeouts"),
             target(f"sum by (target, reason) (increase(lookout_probe_failures_total{{{T}}}[{RATE}]))",
                    "{{target}} {{reason}}", ref="B")], unit="short")
    b.panel("state-timeline", "Circuit breakers",
            "1 while an endpoint's circuit is open (probed once a minute after repeated failures).",
            [target(f"lookout_probe_circuit_open{{{T}}}", "{{target}} {{endpoint}}")], unit="short", w=8,
            mappings=[{"type": "value", "options": {"0": {"text": "closed", "color": "green"},
                                                    "1": {"text": "open", "color": "red"}}}])
    b.panel("timeseries", "HTTP status of the last probe",
            "Status code each endpoint answered last (0 when there was no answer).",
            [target(f"lookout_probe_http_status_code{{{T}}}", "{{target}} {{endpoint}}")], unit="none", w=8)
    b.panel("timeseries", "Scraped samples and body size",
            "Samples and bytes of the last successful scrape of each target's /metrics.",
            [target(f"lookout_scrape_samples{{{T}}}", "{{target}} samples"),
             target(f"lookout_scrape_body_bytes{{{T}}}", "{{target}} bytes", ref="B")], unit="short", w=8)

    b.row("Alerts and notifications")
    b.panel("timeseries", "Alerts by state",
            "Alerts of the agent's own rules, pending and firing.",
            [target(f"sum by (alertname, severity, state) (lookout_alerts{{{INST}}})", "{{alertname}} {{severity}} {{state}}")],
            unit="short", stack="bars")
    b.panel("timeseries", "Notifications",
            "Deliveries per receiver and result: success, retry, dropped.",
            [target(f"sum by (receiver, result) (increase(lookout_notifications_total{{{INST}}}[{RATE}]))",
                    "{{receiver}} {{result}}")], unit="short")
    b.panel("timeseries", "Outbox length",
            "Notifications written to the durable outbox and not yet delivered.",
            [target(f"lookout_notification_outbox_length{{{INST}}}", "{{instance}}")], unit="short", w=8)
    b.panel("timeseries", "Notification latency p99",
            "From the alert to the receiver's 2xx answer.",
            [target(f"histogram_quantile(0.99, sum by (le, instance) (rate(lookout_notification_latency_seconds_bucket{{{INST}}}[{RATE}])))",
                    "{{instance}}")], unit="s", w=8)
    b.panel("timeseries", "Rule evaluation",
            "Time to evaluate all rule groups, and failed evaluations.",
            [target(f"sum by (instance) (rate(lookout_rule_evaluation_duration_seconds_sum{{{INST}}}[{RATE}]))"
                    f" / sum by (instance) (rate(lookout_rule_evaluation_duration_seconds_count{{{INST}}}[{RATE}]))",
                    "{{instance}} mean duration"),
             target(f"sum by (group) (increase(lookout_rule_evaluation_failures_total{{{INST}}}[{RATE}]))",
                    "{{group}} failures", ref="B")], unit="s", w=8)

    b.row("Remote write")
    b.panel("timeseries", "Samples sent",
            "Samples per second per remote_write endpoint: success, retried (sent again after a 5xx, 429 or "
            "a failed connection), dropped (refused with another 4xx).",
            [target(f"sum by (url, result) (rate(lookout_remote_write_samples_total{{{INST}}}[{RATE}]))",
                    "{{url}} {{result}}")], unit="short", w=8)
    b.panel("timeseries", "Behind",
            "Age of the newest sample each endpoint acknowledged; LookoutRemoteWriteStalled fires past 5 m while "
            "samples wait.",
            [target(f"time() - lookout_remote_write_highest_sent_timestamp_seconds{{{INST}}}", "{{url}}")],
            unit="s", w=8, thresholds=[{"color": "green", "value": None}, {"color": "orange", "value": 300}])
    b.panel("timeseries", "Pending samples",
            "Samples in the WAL an endpoint has not sent yet.",
            [target(f"lookout_remote_write_pending_samples{{{INST}}}", "{{url}}")], unit="short", w=8)
    b.panel("timeseries", "Send duration p99",
            "Time of one attempt to send a batch, per endpoint.",
            [target(f"histogram_quantile(0.99, sum by (le, url) (rate(lookout_remote_write_sent_batch_duration_seconds_bucket{{{INST}}}[{RATE}])))",
                    "{{url}}")], unit="s", w=12)
    b.panel("timeseries", "WAL",
            "Bytes of the WAL on disk, and samples max_wal_bytes deleted before every endpoint had sent them.",
            [target(f"lookout_remote_write_wal_bytes{{{INST}}}", "{{instance}} bytes"),
             target(f"increase(lookout_remote_write_wal_dropped_samples_total{{{INST}}}[{RATE}])",
                    "{{instance}} dropped samples", ref="B")], unit="bytes", w=12)

    b.row("The agent's own overhead")
    b.panel("timeseries", "Agent CPU (% of one core)",
            "CPU of the lookout process itself; the LookoutOverhead alert fires above 2% for 5 m.",
            [target(f'rate(process_cpu_seconds_total{{{INST}, target=""}}[{RATE}]) and on (instance) lookout_build_info',
                    "{{instance}}")], unit="percentunit", w=6,
            thresholds=[{"color": "green", "value": None}, {"color": "orange", "value": 0.02}])
    b.panel("timeseries", "Agent memory",
            "Resident memory of the lookout process.",
            [target(f'process_resident_memory_bytes{{{INST}, target=""}} and on (instance) lookout_build_info',
                    "{{instance}}")], unit="bytes", w=6)
    b.panel("timeseries", "Sampler tick duration p99",
            "Time one sample tick takes (all /proc reads and bookkeeping).",
            [target(f"histogram_quantile(0.99, sum by (le, instance) (rate(lookout_sampler_tick_duration_seconds_bucket{{{INST}}}[{RATE}])))",
                    "{{instance}}")], unit="s", w=6)
    b.panel("timeseries", "Sampler ticks and missed ticks",
            "Ticks per second (the configured frequency) and ticks missed because a tick overran.",
            [target(f"rate(lookout_sampler_ticks_total{{{INST}}}[{RATE}])", "{{instance}} ticks/s"),
             target(f"rate(lookout_sampler_missed_ticks_total{{{INST}}}[{RATE}])", "{{instance}} missed/s", ref="B"),
             target(f"lookout_sampler_frequency_hertz{{{INST}}}", "{{instance}} configured", ref="C")], unit="short", w=6)
    return b.render([
        ("group", "Process group", 'label_values(lookout_processes{instance=~"$instance"}, group)'),
        ("target", "Target", 'label_values(lookout_probe_success{instance=~"$instance"}, target)'),
    ])


def targets_board():
    b = Board("lookout-targets", "lookout — targets",
              "One row per watched target: health of each endpoint, latency, and its own /metrics.", ["lookout"])
    S = f'{INST}, target=~"$target"'
    b.row("$target", repeat="target")
    b.panel("stat", "Health", "Worst endpoint of the target: 1 when every endpoint's last probe succeeded.",
            [target(f"min by (target) (lookout_probe_success{{{S}}})", "{{target}}", instant=True)],
            unit="none", w=4, h=6,
            mappings=[{"type": "value", "options": {"0": {"text": "DOWN", "color": "red"},
                                                    "1": {"text": "UP", "color": "green"}}}])
    b.panel("stat", "Metrics endpoint up", "Whether the last scrape of the target's /metrics succeeded (like `up`).",
            [target(f'lookout_probe_success{{{S}, endpoint="metrics"}}', "{{target}}", instant=True)],
            unit="none", w=4, h=6,
            mappings=[{"type": "value", "options": {"0": {"text": "DOWN", "color": "red"},
                                                    "1": {"text": "UP", "color": "green"}}}])
    b.panel("timeseries", "Last probe duration by endpoint",
            "Total time of the last probe of each endpoint; warning above 2 s, critical above 5 s.",
            [target(f'lookout_probe_duration_seconds{{{S}, phase="total"}}', "{{endpoint}}")], unit="s", w=8, h=6,
            thresholds=[{"color": "green", "value": None}, {"color": "orange", "value": 2}, {"color": "red", "value": 5}])
    b.panel("timeseries", "Samples scraped", "Samples in the target's last successful scrape.",
            [target(f"lookout_scrape_samples{{{S}}}", "{{target}}")], unit="short", w=8, h=6)
    b.panel("state-timeline", "Dependencies",
            "Components of the target's detailed health body: up (1), warn (0.5), down (0).",
            [target(f"lookout_health_component_up{{{S}}}", "{{component}}")], unit="none", w=10, h=6,
            thresholds=[{"color": "red", "value": None}, {"color": "orange", "value": 0.5}, {"color": "green", "value": 1}])
    b.panel("timeseries", "Dependency check time",
            "How long each component's check took, as the health body reports it.",
            [target(f"lookout_health_component_duration_seconds{{{S}}}", "{{component}}")], unit="s", w=10, h=6)
    b.panel("stat", "Checks one after another",
            "1 when the components' times add up to the whole health check's: they ran sequentially, not in parallel.",
            [target(f"max by (target) (lookout_health_checks_sequential{{{S}}})", "{{target}}", instant=True)],
            unit="none", w=4, h=6,
            mappings=[{"type": "value", "options": {"0": {"text": "parallel", "color": "green"},
                                                    "1": {"text": "SEQUENTIAL", "color": "orange"}}}])
    return b.render([("target", "Target", 'label_values(lookout_probe_success{instance=~"$instance"}, target)')])


def main():
    for name, board in [("lookout-overview.json", overview()), ("lookout-targets.json", targets_board())]:
        with open(os.path.join(HERE, name), "w") as f:
            json.dump(board, f, indent=2, sort_keys=False)
            f.write("\n")
        print("wrote", name, len([p for p in board["panels"] if p["type"] != "row"]), "panels")


if __name__ == "__main__":
    main()
