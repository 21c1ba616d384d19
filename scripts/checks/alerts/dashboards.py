"""The Grafana files under deploy/grafana/: the dashboard (a fixed uid, the datasource, namespace,
lane and bot variables, the five rows, every panel on the datasource variable and every series
filtered by namespace, the bot variable read from a metric the code labels by bot) and the
provisioning YAML. Both also hand their PromQL to queries.py."""
import glob
import json
import os
import re

from checks import promql
from checks.files import load, rel
from checks.report import Result

ROWS = ("ingress", "queue", "workers", "database", "capacity")
VARIABLES = ("namespace", "lane", "bot")
# `$namespace` or `${namespace}`, matched with = or =~.
_NAMESPACE = {("=", "$namespace"), ("=", "${namespace}"), ("=~", "$namespace"), ("=~", "${namespace}")}


def unfiltered(q):
    """The selectors of q without a namespace="$namespace" matcher: each would add up every
    namespace (staging and production) in one line."""
    return [n for n, text, _ in promql.selectors(q) if promql.matchers(text).get("namespace") not in _NAMESPACE]


def _variable_query(v):
    q = v.get("query")
    if isinstance(q, dict):
        q = q.get("query")
    m = re.match(r"label_values\((.+),\s*(\w+)\)$", q or "")
    return (m.group(1), m.group(2)) if m else (None, None)


def _variables(var, panel_exprs, bot_metrics):
    problems = []
    nsv = var.get("namespace", {})
    if nsv and (nsv.get("multi") or nsv.get("includeAll")):
        problems.append("the namespace variable must select one namespace (no multi, no All)")
    for v in var.values():
        sel, _ = _variable_query(v)
        if sel and v["name"] != "namespace" and unfiltered(sel):
            problems.append(f"variable {v['name']} reads {', '.join(unfiltered(sel))} of every namespace")
    sel, label = _variable_query(var.get("bot", {}))
    if "bot" in var:
        metric = promql.selectors(sel)[0][0] if sel and promql.selectors(sel) else None
        if label != "bot" or metric not in bot_metrics:
            problems.append(f"the bot variable must read the bot label of a metric the code labels by bot "
                            f"({', '.join(sorted(bot_metrics)) or 'none'}), not {label} of {metric}")
        if not any(re.search(r"\$\{?bot\b", e) for e in panel_exprs):
            problems.append("no panel uses the bot variable")
    return problems


def dashboard(d, name, bot_metrics=()):
    """(Result, [(where, query)]) for one parsed dashboard; `name` is its file, relative;
    `bot_metrics`: the metric names the code labels by bot (promql.labelled_metrics)."""
    problems, queries = [], []
    if not d.get("uid"):
        problems.append("no fixed uid")
    var = {v["name"]: v for v in d.get("templating", {}).get("list", [])}
    if var.get("datasource", {}).get("type") != "datasource" or var["datasource"].get("query") != "prometheus":
        problems.append("no Prometheus datasource variable")
    for v in VARIABLES:
        if v not in var:
            problems.append(f"no {v} variable")
    rows = [p["title"].lower() for p in d.get("panels", []) if p.get("type") == "row"]
    for want in ROWS:
        if want not in rows:
            problems.append(f"no {want} row")
    ids = [p["id"] for p in d["panels"]]
    if len(ids) != len(set(ids)):
        problems.append("duplicate panel ids")
    for p in d["panels"]:
        if p.get("type") == "row":
            continue
        if p.get("datasource", {}).get("uid") != "${datasource}":
            problems.append(f"panel {p['title']!r} does not use the datasource variable")
        for t in p.get("targets", []):
            queries.append((f"panel {p['title']!r} {t['refId']}", t["expr"]))
            if unfiltered(t["expr"]):
                problems.append(f"panel {p['title']!r} {t['refId']}: {', '.join(unfiltered(t['expr']))} "
                                "not filtered by namespace=\"$namespace\"")
    problems += _variables(var, [q for _, q in queries], set(bot_metrics))
    for v in var.values():
        sel, _ = _variable_query(v)
        if sel:
            queries.append((f"variable {v['name']}", sel))
    result = Result(f"{name}: valid dashboard (uid {d.get('uid')}, {len(ids)} panels, rows {', '.join(rows)})",
                    problems)
    return result, queries


def dashboards(root, queries):
    """Yields a Result per dashboard file; appends their queries to `queries`."""
    for f in sorted(glob.glob(os.path.join(root, "deploy", "grafana", "dashboards", "*.json"))):
        name = rel(f, root)
        try:
            with open(f) as fh:
                d = json.load(fh)
        except ValueError as e:
            yield Result(f"{name}: valid JSON", [str(e)])
            continue
        result, found = dashboard(d, name, promql.labelled_metrics(root, "bot"))
        queries += found
        yield result


def provisioning(root, queries):
    """Yields a Result per provisioning file; appends the Grafana alert queries to `queries`."""
    for f in glob.glob(os.path.join(root, "deploy", "grafana", "provisioning", "*", "*.y*ml")):
        name = f"{rel(f, root)}: Grafana provisioning YAML"
        try:
            doc = load(f)
            good = doc.get("apiVersion") == 1 and any(k in doc for k in ("providers", "datasources", "groups"))
            yield Result(name, [] if good else ["want apiVersion: 1 and providers, datasources or groups"])
        except Exception as e:  # noqa: BLE001 - any parse error is the finding
            yield Result(name, [str(e)])
            continue
        for g in doc.get("groups", []):
            for r in g.get("rules", []):
                for q in r.get("data", []):
                    if "expr" in q.get("model", {}):
                        queries.append((f"grafana alert {r['uid']} {q['refId']}", q["model"]["expr"]))
