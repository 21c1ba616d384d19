"""What an overlay that runs for real carries beyond base: the public HTTPS entry for the webhooks
(an Ingress with cert-manager TLS that routes the webhook paths only, never the admin port) and
the alerting rules, whose runbook links are absolute URLs built from one base URL."""
import glob
import os
import re

from checks.alerts.rules import runbook_anchors
from checks.deploy.objects import ADMIN_PORT, API
from checks.files import load, rel
from checks.report import Result

# The overlays that must carry both; base and staging may (an Ingress there is checked too).
PRODUCTION = ("production", "keda")
WEBHOOK_PREFIX = "/webhook/"
CERT_MANAGER = ("cert-manager.io/cluster-issuer", "cert-manager.io/issuer")
# Where the runbook base URL is set, once (components/alerts/kustomization.yaml reads it).
RUNBOOK_SOURCE = os.path.join("deploy", "k8s", "components", "alerts", "runbook-base-url.yaml")


def _service_ports(ov, name):
    """port name and number -> the targetPort, for a Service of the overlay."""
    svc = next((s for s in ov.kind("Service") if s["metadata"]["name"] == name), None)
    if svc is None:
        return None
    out = {}
    for p in svc["spec"]["ports"]:
        out[p.get("name")] = out[p["port"]] = p.get("targetPort", p["port"])
    return out


def ingress(ov):
    ings = ov.kind("Ingress")
    if not ings:
        missing = [f"no Ingress: Telegram needs a public https URL"] if ov.name in PRODUCTION else []
        return Result(f"{ov.name}: ingress", missing, "none in this overlay")
    problems = []
    for ing in ings:
        n = f"Ingress/{ing['metadata']['name']}"
        spec = ing["spec"]
        ann = ing["metadata"].get("annotations", {})
        if not any(ann.get(k) for k in CERT_MANAGER):
            problems.append(f"{n}: no cert-manager annotation ({' or '.join(CERT_MANAGER)})")
        if not spec.get("ingressClassName"):
            problems.append(f"{n}: ingressClassName missing (the NetworkPolicy admits one controller)")
        if spec.get("defaultBackend"):
            problems.append(f"{n}: a defaultBackend routes every path, not only the webhooks")
        tls_hosts = {h for t in spec.get("tls", []) if t.get("secretName") for h in t.get("hosts", [])}
        if not spec.get("tls"):
            problems.append(f"{n}: no tls (Telegram calls https only)")
        for rule in spec.get("rules", []):
            host = rule.get("host")
            if not host or host not in tls_hosts:
                problems.append(f"{n}: host {host!r} is not covered by a tls entry with a secretName")
            for path in rule.get("http", {}).get("paths", []):
                problems += _path(n, path, ov)
    return Result(f"{ov.name}: ingress", problems,
                  f"{len(ings)} Ingress, TLS by cert-manager, only {WEBHOOK_PREFIX}* to {API}'s http port")


def _path(n, path, ov):
    problems = []
    p = path.get("path", "/")
    if not p.startswith(WEBHOOK_PREFIX) or path.get("pathType") not in ("Prefix", "Exact"):
        problems.append(f"{n}: path {p!r} ({path.get('pathType')}) exposes more than {WEBHOOK_PREFIX}*")
    svc = path.get("backend", {}).get("service", {})
    port = svc.get("port", {})
    port = port.get("name", port.get("number"))
    targets = _service_ports(ov, svc.get("name"))
    if svc.get("name") != API or targets is None:
        problems.append(f"{n}: path {p!r} goes to Service {svc.get('name')!r}, want {API}")
    elif port not in targets:
        problems.append(f"{n}: path {p!r} goes to port {port!r}, which Service {API} does not have")
    elif targets[port] in ("admin", *ADMIN_PORT.values()) or targets[port] not in ("http", 8080):
        problems.append(f"{n}: path {p!r} reaches container port {targets[port]!r}, not the webhook port http")
    return problems


def alerts(ov, root):
    """The overlay applies the PrometheusRule, each alert's runbook_url is `<base>#<anchor>` with
    one absolute base and an anchor of docs/runbook.md, and the base is written in one file."""
    rules = [r for pr in ov.kind("PrometheusRule") for g in pr["spec"].get("groups", [])
             for r in g.get("rules", []) if "alert" in r]
    if not rules:
        missing = ["no PrometheusRule: include ../../components/alerts"] if ov.name in PRODUCTION else []
        return Result(f"{ov.name}: alerts", missing, "none in this overlay")
    with open(os.path.join(root, "docs", "runbook.md")) as f:
        anchors = runbook_anchors(f.read())
    problems, bases = [], set()
    for r in rules:
        url = r.get("annotations", {}).get("runbook_url", "")
        m = re.fullmatch(r"(https?://[^\s#]+)#(.+)", url)
        if not m:
            problems.append(f"{r['alert']}: runbook_url {url!r} is not an absolute URL with an anchor")
            continue
        bases.add(m.group(1))
        if m.group(2) not in anchors:
            problems.append(f"{r['alert']}: runbook_url anchor #{m.group(2)} is no heading of docs/runbook.md")
    if len(bases) > 1:
        problems.append(f"runbook_url bases differ: {sorted(bases)}")
    for base in bases:
        problems += one_place(base, root)
    return Result(f"{ov.name}: alerts", problems,
                  f"{len(rules)} alerts, runbook_url {next(iter(bases), '?')}#<alert>, set in {RUNBOOK_SOURCE}")


def one_place(base, root):
    """The base URL is in RUNBOOK_SOURCE and in no other file under deploy/."""
    found = []
    for f in sorted(glob.glob(os.path.join(root, "deploy", "**", "*"), recursive=True)):
        if os.path.isfile(f):
            with open(f, errors="replace") as fh:
                if base in fh.read():
                    found.append(rel(f, root))
    if found == [RUNBOOK_SOURCE]:
        src = load(os.path.join(root, RUNBOOK_SOURCE))
        if src.get("data", {}).get("url") == base:
            return []
    return [f"the runbook base URL {base} must be set in {RUNBOOK_SOURCE} only (data.url); found in {found}"]
