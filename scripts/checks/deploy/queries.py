"""The PromQL shipped under deploy/ (prometheus-adapter rules, KEDA triggers, alert and recording
rules): global gauges only under max, the scaling queries as rules promtool can test, the adapter
config agreeing with its Helm values and the HPA, every metric name exported by sluice."""
import glob
import os

import yaml

from checks import promql
from checks.files import load, rel
from checks.report import Result

# Global gauges every api replica exports with the same value: only `max` may aggregate them.
GLOBAL_GAUGES = ("sluice_queue_depth", "sluice_queue_oldest_age_seconds")
# Metrics the Rust side adds for issue 5 (names agreed in advance).
PENDING_METRICS = {
    "sluice_queue_depth", "sluice_queue_oldest_age_seconds", "sluice_db_pool_connections",
    "sluice_db_pool_max_connections", "sluice_db_acquire_seconds",
    "sluice_db_acquire_timeouts_total",
}
# The recording rules deploy/k8s/tests/*.promtest.yaml test, by where the query comes from.
SCALING_RULES = {
    "prometheus-adapter": "sluice_check:adapter_backlog",
    "ScaledObject trigger backlog": "sluice_check:keda_backlog",
    "ScaledObject trigger retries-scheduled": "sluice_check:keda_scheduled",
}


def lint_query(q):
    return [f"{g} aggregated with {agg or 'nothing'} (want max): {q}"
            for g, agg in promql.gauge_aggregations(q, GLOBAL_GAUGES)]


def adapter_rules(root):
    """(config.yaml externalRules, helm-values.yaml rules.external)."""
    adapter = os.path.join(root, "deploy", "k8s", "prometheus-adapter")
    cfg = load(os.path.join(adapter, "config.yaml"))
    vals = load(os.path.join(adapter, "helm-values.yaml"))
    return cfg.get("externalRules", []), vals.get("rules", {}).get("external", [])


def expand_adapter(rule):
    """An adapter rule's metricsQuery as Prometheus receives it for the sluice namespace."""
    series = rule["name"]["matches"].strip("^$")
    return (rule["metricsQuery"].replace("<<.Series>>", series)
            .replace("<<.LabelMatchers>>", 'namespace="sluice"').replace("<<.GroupBy>>", "namespace"))


def collect_queries(keda_docs, root):
    """(where, query) for every PromQL expression shipped under deploy/."""
    out = []
    cfg, _ = adapter_rules(root)
    for r in cfg:
        out.append((f"prometheus-adapter {r['name'].get('as')}", expand_adapter(r)))
    for d in keda_docs:
        if d["kind"] == "ScaledObject":
            for t in d["spec"]["triggers"]:
                if t["type"] == "prometheus":
                    out.append((f"ScaledObject trigger {t.get('name')}", t["metadata"]["query"]))
    rules = os.path.join(root, "deploy", "prometheus", "rules")
    for f in sorted(glob.glob(os.path.join(rules, "**", "*.y*ml"), recursive=True)):
        for group in (load(f) or {}).get("groups", []):
            for r in group.get("rules", []):
                out.append((f"{rel(f, root)} {r.get('alert') or r.get('record')}", str(r["expr"])))
    return out


def gauges(queries):
    problems = []
    for where, q in queries:
        problems += [f"{where}: {p}" for p in lint_query(q)]
    return Result("promql: global queue gauges aggregated with max, never sum", problems,
                  f"{len(queries)} queries under deploy/")


def scaling_rules(queries):
    """The scaling queries as recording rules, for promtool (check rules + the unit test); and a
    failed Result when one of the three is missing."""
    names = {}
    for where, q in queries:
        key = "prometheus-adapter" if where.startswith("prometheus-adapter") else where
        if key in SCALING_RULES:
            names[SCALING_RULES[key]] = q
    rules = {"groups": [{"name": "sluice-check", "rules": [{"record": k, "expr": v} for k, v in names.items()]}]}
    missing = None
    if len(names) != 3:
        why = f"want adapter, keda backlog and keda retries-scheduled; got {sorted(names)}"
        missing = Result("promql: scaling queries found", [why], headline=why)
    return rules, missing


def write_rules(rules, outdir):
    with open(os.path.join(outdir, "queue-depth.rules.yaml"), "w") as f:
        yaml.safe_dump(rules, f, sort_keys=False)


def adapter(base_docs, root):
    cfg, vals = adapter_rules(root)
    problems = []
    if cfg != vals:
        problems.append("prometheus-adapter/config.yaml externalRules differ from helm-values.yaml rules.external")
    names = [r["name"].get("as") for r in cfg]
    hpa_names = [m["external"]["metric"]["name"] for d in base_docs
                 if d["kind"] == "HorizontalPodAutoscaler" for m in d["spec"].get("metrics", [])
                 if m["type"] == "External"]
    for n in hpa_names:
        if n not in names:
            problems.append(f"the HPA reads External metric {n}, which no adapter rule produces ({names})")
    for r in cfg:
        if r.get("resources", {}).get("overrides", {}).get("namespace", {}).get("resource") != "namespace":
            problems.append(f"rule {r['name'].get('as')}: map the namespace label to the HPA's namespace")
        if "<<.LabelMatchers>>" not in r["metricsQuery"]:
            problems.append(f"rule {r['name'].get('as')}: metricsQuery must use <<.LabelMatchers>> (namespace)")
    return Result("prometheus-adapter: rules agree and produce the HPA metric", problems,
                  f"{', '.join(names)} from config.yaml = helm-values.yaml")


def metric_names(queries, root):
    exported = promql.exported_metrics(root)
    used = set()
    for _, q in queries:
        used |= promql.metric_names(q)
    unknown, pending = [], []
    for n in sorted(used):
        base = promql.base_name(n)
        if n in exported or base in exported:
            continue
        (pending if n in PENDING_METRICS or base in PENDING_METRICS else unknown).append(n)
    note = f"{len(used)} used"
    if pending:
        note += f"; not yet in shared/src/metrics.rs (issue 5, Rust side): {', '.join(pending)}"
    return Result("metric names used under deploy/ exist", [f"{n}: not exported by sluice" for n in unknown], note)
