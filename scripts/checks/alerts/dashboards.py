"""The Grafana files under deploy/grafana/: the dashboard (a fixed uid, the datasource, lane and
bot variables, the five rows, every panel on the datasource variable) and the provisioning YAML.
Both also hand their PromQL to queries.py."""
import glob
import json
import os
import re

from checks.files import load, rel
from checks.report import Result

ROWS = ("ingress", "queue", "workers", "database", "capacity")
VARIABLES = ("lane", "bot")


def dashboard(d, name):
    """(Result, [(where, query)]) for one parsed dashboard; `name` is its file, relative."""
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
    for v in var.values():
        q = v.get("query")
        if isinstance(q, dict):
            q = q.get("query")
        m = re.match(r"label_values\((.+),\s*\w+\)$", q or "")
        if m:
            queries.append((f"variable {v['name']}", m.group(1)))
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
        result, found = dashboard(d, name)
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
