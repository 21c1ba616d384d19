"""Every query check-alerts collected (alert rules, dashboard panels and variables, the Grafana
alert): each parses as PromQL, the global gauges are combined with max only, and each metric
name is one sluice exports."""
import glob
import os
import re
import subprocess

import yaml

from checks import promql
from checks.report import Result

# Every replica samples the same Redis (or exports the same setting): a sum would multiply them.
GLOBAL_GAUGES = ("sluice_queue_depth", "sluice_queue_oldest_age_seconds",
                 "sluice_redis_used_memory_bytes", "sluice_redis_maxmemory_bytes",
                 "sluice_order_keys_held", "sluice_order_oldest_hold_seconds", "sluice_order_parked",
                 "sluice_order_max_hold_seconds")
# Names agreed with branches not merged yet (admission, issue 7): allowed, but reported.
PENDING = {"sluice_admission_total", "sluice_ratelimit_fallback_total", "sluice_hook_deliveries_total"}


def substitute(q):
    """Grafana variables -> values promtool accepts."""
    q = q.replace("$__rate_interval", "1m").replace("$__interval", "1m").replace("$__range", "1h")
    return re.sub(r"\$\{?(\w+)\}?", ".*", q)


def parse(queries, workdir):
    """Each query as a recording rule in one file, judged by `promtool check rules`; a failure
    names the queries promtool points at."""
    rules = {"groups": [{"name": "check-alerts-panels", "rules": [
        {"record": f"check_alerts:q{i}", "expr": substitute(q)} for i, (_, q) in enumerate(queries)]}]}
    path = os.path.join(workdir, "panel-queries.rules.yml")
    with open(path, "w") as f:
        yaml.safe_dump(rules, f, sort_keys=False)
    r = subprocess.run(["promtool", "check", "rules", path], capture_output=True, text=True)
    problems = []
    if r.returncode:
        bad = set(int(n) for n in re.findall(r"check_alerts:q(\d+)", r.stdout + r.stderr))
        detail = (r.stdout + r.stderr).strip().replace("\n", " | ")
        detail += "".join(f" | {queries[i][0]}" for i in sorted(bad))
        problems.append(detail)
    return Result(f"PromQL: {len(queries)} queries (rules, panels, variables, Grafana alert) parse", problems)


def gauges(queries):
    problems = []
    for where, q in queries:
        if where.startswith("variable"):
            continue
        problems += [f"{where}: {g} not under max" for g, _ in promql.gauge_aggregations(q, GLOBAL_GAUGES)]
    return Result("global gauges (queue depth, Redis memory, ordering) aggregated with max, never sum",
                  problems)


def metric_names(queries, root):
    """A name must be exported; a PENDING one is reported until some crate's code names it."""
    exported = promql.exported_metrics(root)
    code = ""
    for f in glob.glob(os.path.join(root, "*", "src", "**", "*.rs"), recursive=True):
        with open(f) as fh:
            code += fh.read()
    used = set()
    for _, q in queries:
        used |= promql.metric_names(q)
    unknown, pending = [], []
    for n in sorted(used):
        base = promql.base_name(n)
        if n in exported or base in exported:
            continue
        if base in PENDING and f'"{base}"' not in code:
            pending.append(base)
        else:
            unknown.append(n)
    note = f"{len(used)} names"
    if pending:
        note += "; pending merge (not in the code yet): " + ", ".join(sorted(set(pending)))
    headline = note + "; unknown: " + ", ".join(unknown) if unknown else ""
    return Result("metric names used in rules and dashboard are exported", unknown, note, headline)
