"""The alert rules in deploy/prometheus/rules/: what each alert must carry (severity, summary,
description, a runbook link that lands on a heading), tests that show each firing and quiet, and
the PrometheusRule generated from them for Kubernetes."""
import glob
import os
import re

import yaml

from checks.files import load, rel
from checks.report import Result

SEVERITIES = ("critical", "warning", "info")
HEADER = """\
# GENERATED from deploy/prometheus/rules/sluice.yml by `scripts/check-alerts --update`; do not edit.
# scripts/check-alerts fails when the two differ. If your Prometheus selects rules by label
# (kube-prometheus-stack: `release: <name>`), add it in your overlay, not here.
"""


def _files(root, folder):
    return sorted(glob.glob(os.path.join(root, "deploy", "prometheus", folder, "*.y*ml")))


def promrule_path(root):
    return os.path.join(root, "deploy", "k8s", "components", "alerts", "prometheusrule.yaml")


def rule_groups(root):
    groups = []
    for f in _files(root, "rules"):
        groups += (load(f) or {}).get("groups", [])
    return groups


def alerts(root):
    return [r for g in rule_groups(root) for r in g["rules"] if "alert" in r]


def prometheusrule(root):
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": "sluice",
            "labels": {"app.kubernetes.io/name": "sluice", "app.kubernetes.io/component": "alerts"},
        },
        "spec": {"groups": rule_groups(root)},
    }


def update(root):
    """Writes the PrometheusRule from the rules files; returns its path."""
    path = promrule_path(root)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(HEADER)
        yaml.safe_dump(prometheusrule(root), f, sort_keys=False, width=100, allow_unicode=True)
    return path


def runbook_anchors(markdown):
    """The anchors GitHub gives the headings of a Markdown file."""
    return {re.sub(r"[^a-z0-9 -]", "", h.strip().lower()).replace(" ", "-")
            for h in re.findall(r"^#+ (.+)$", markdown, re.M)}


def metadata(root):
    with open(os.path.join(root, "docs", "runbook.md")) as f:
        anchors = runbook_anchors(f.read())
    problems = []
    found = alerts(root)
    for a in found:
        name = a["alert"]
        if a.get("labels", {}).get("severity") not in SEVERITIES:
            problems.append(f"{name}: labels.severity missing or unknown")
        ann = a.get("annotations", {})
        for k in ("summary", "description", "runbook_url"):
            if not ann.get(k):
                problems.append(f"{name}: annotations.{k} missing")
        url = ann.get("runbook_url", "")
        m = re.search(r"docs/runbook\.md#(.+)$", url)
        if not m or m.group(1) not in anchors:
            problems.append(f"{name}: runbook_url {url!r} names no heading of docs/runbook.md")
    return Result(f"alerts: severity, summary, description, runbook_url for {len(found)} alerts", problems)


def coverage(root):
    """deploy/prometheus/tests/ must show every alert both firing and not firing."""
    firing, quiet = set(), set()
    for f in _files(root, "tests"):
        for t in (load(f) or {}).get("tests", []):
            for c in t.get("alert_rule_test", []):
                (firing if c.get("exp_alerts") else quiet).add(c["alertname"])
    names = [a["alert"] for a in alerts(root)]
    missing = [f"{n} never firing" for n in names if n not in firing] + \
              [f"{n} never quiet" for n in names if n not in quiet]
    return Result("promtool tests cover every alert firing and not firing", missing)


def promrule(root):
    """The PrometheusRule equals the rules files, and the alerts Component applies it."""
    path = promrule_path(root)
    name = "PrometheusRule matches deploy/prometheus/rules"
    results = []
    try:
        same = load(path) == prometheusrule(root)
        results.append(Result(name, [] if same else ["differs: run scripts/check-alerts --update"]))
        comp_path = os.path.join(os.path.dirname(path), "kustomization.yaml")
        comp = load(comp_path)
        good = comp.get("kind") == "Component" and "prometheusrule.yaml" in comp.get("resources", [])
        why = f"{rel(comp_path, root)} must be a kustomize Component whose resources list prometheusrule.yaml"
        results.append(Result("alerts kustomize Component lists prometheusrule.yaml", [] if good else [why]))
    except OSError as e:
        results.append(Result(name, [str(e)]))
    return results
