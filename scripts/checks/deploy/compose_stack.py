"""deploy/compose/ as a running stack: a healthcheck on every long-running service, made with a tool
its image has and aimed at the service's own health endpoint; every dependency waits on a
condition; Prometheus sends its rules' alerts to the Alertmanager; Grafana gets its datasource
and dashboards. Also the real `docker compose config` (the Compose v2 binary) on the file and on
broken copies of it, which it must refuse."""
import glob
import os
import re
import subprocess
import tempfile

from checks.files import load, rel
from checks.report import Result

# What a healthcheck may run in each image (matched on the image name's start): the sluice image
# is distroless (its binaries only, no shell), Prometheus' images are busybox (wget, no curl).
TOOLS = {
    "sluice": ("/usr/local/bin/sluice-api", "/usr/local/bin/sluice-worker"),
    "redis": ("redis-cli",),
    "postgres": ("pg_isready",),
    "nginx": ("curl",),
    "prom/": ("wget",),
    "grafana/grafana": ("wget",),
}
# The service's own health endpoint, on its own port.
ENDPOINTS = {
    "prometheus": ("127.0.0.1:9090/-/ready", "127.0.0.1:9090/-/healthy"),
    "alertmanager": ("127.0.0.1:9093/-/ready", "127.0.0.1:9093/-/healthy"),
    "grafana": ("127.0.0.1:3000/api/health",),
}


def one_shot(svc):
    return str(svc.get("restart", "")) == "no"


def _healthcheck(name, svc):
    hc = svc.get("healthcheck") or {}
    test = hc.get("test")
    if one_shot(svc):
        return []
    if not test or hc.get("disable") or test == ["NONE"]:
        return [f"{name}: no healthcheck"]
    if not isinstance(test, list) or test[0] != "CMD" or len(test) < 2:
        return [f"{name}: healthcheck test must be [\"CMD\", tool, ...] (no shell in every image)"]
    image = str(svc.get("image", ""))
    tools = next((t for prefix, t in TOOLS.items() if image.startswith(prefix)), None)
    if tools is None:
        return [f"{name}: image {image!r} has no known healthcheck tools (add it to TOOLS)"]
    if test[1] not in tools:
        return [f"{name}: healthcheck runs {test[1]!r}, not in image {image} (has {', '.join(tools)})"]
    problems = []
    binary = os.path.basename(str((svc.get("command") or [""])[0]))
    if binary.startswith("sluice-") and test[1:] != [f"/usr/local/bin/{binary}", "healthcheck"]:
        problems.append(f"{name}: healthcheck must be `{binary} healthcheck` (the admin port's /readyz)")
    args = " ".join(map(str, test))
    if name == "redis" and "ping" not in test:
        problems.append("redis: healthcheck must be `redis-cli ping`")
    want = ENDPOINTS.get(name)
    if want and not any(w in args for w in want):
        problems.append(f"{name}: healthcheck must ask {' or '.join(want)}")
    return problems


def _dependencies(name, svc, svcs):
    dep = svc.get("depends_on") or {}
    if isinstance(dep, list):
        return [f"{name}: depends_on must give each service a condition (service_healthy)"]
    problems = []
    for other, how in dep.items():
        cond = (how or {}).get("condition")
        if other not in svcs:
            problems.append(f"{name}: depends on undefined service {other}")
        elif cond == "service_completed_successfully":
            if not one_shot(svcs[other]):
                problems.append(f"{name}: waits for {other} to complete, but it keeps running")
        elif cond != "service_healthy":
            problems.append(f"{name}: depends on {other} without condition service_healthy")
        elif not (svcs[other].get("healthcheck") or {}).get("test"):
            problems.append(f"{name}: waits for {other} to be healthy, but it has no healthcheck")
    return problems


def health(root):
    svcs = load(os.path.join(root, "deploy", "compose", "compose.yaml")).get("services", {})
    problems = []
    for name, svc in svcs.items():
        problems += _healthcheck(name, svc) + _dependencies(name, svc, svcs)
    for need, on in (("nginx", [s for s in svcs if re.fullmatch(r"api-\d+", s)]),
                     ("grafana", ["prometheus"]), ("prometheus", ["alertmanager"])):
        dep = svcs.get(need, {}).get("depends_on") or {}
        missing = [s for s in on if not isinstance(dep, dict) or s not in dep]
        if missing:
            problems.append(f"{need}: must wait for {', '.join(missing)} to be healthy")
    checked = sum(1 for s in svcs.values() if not one_shot(s))
    return Result("compose: healthchecks and dependencies", problems,
                  f"{checked} services with a healthcheck from their image, every depends_on on a condition")


def _mounts(svc, cdir):
    """container path -> host path, for the bind mounts of a service."""
    out = {}
    for v in svc.get("volumes", []):
        parts = str(v).split(":")
        if len(parts) >= 2 and parts[0].startswith("."):
            out[parts[1]] = os.path.normpath(os.path.join(cdir, parts[0]))
    return out


def _flag(svc, flag, default):
    for a in svc.get("command") or []:
        if str(a).startswith(flag + "="):
            return str(a).split("=", 1)[1]
    return default


def monitoring(root):
    """Prometheus -> Alertmanager, and Grafana's provisioning, as the containers see the files."""
    cdir = os.path.join(root, "deploy", "compose")
    svcs = load(os.path.join(cdir, "compose.yaml")).get("services", {})
    problems = []
    for need in ("prometheus", "alertmanager", "grafana"):
        if need not in svcs:
            return Result("compose: alerting and Grafana provisioning", [f"service {need} missing"])
    # Prometheus: its config, the rule files it loads, the Alertmanager it sends to.
    pm = _mounts(svcs["prometheus"], cdir)
    conf = _flag(svcs["prometheus"], "--config.file", "/etc/prometheus/prometheus.yml")
    host = next((h + conf[len(c):] for c, h in pm.items() if conf.startswith(c + "/")), None)
    rules = 0
    if not host or not os.path.exists(host):
        problems.append(f"prometheus: {conf} is not mounted from the repository")
    else:
        p = load(host)
        for pattern in p.get("rule_files", []):
            rules += len(glob.glob(os.path.join(os.path.dirname(host), pattern)))
        if not rules:
            problems.append(f"prometheus: rule_files {p.get('rule_files')} match no file")
        targets = [t for am in (p.get("alerting") or {}).get("alertmanagers", [])
                   for sc in am.get("static_configs", []) for t in sc.get("targets", [])]
        if targets != ["alertmanager:9093"]:
            problems.append(f"prometheus: alerting targets {targets}, want ['alertmanager:9093']")
    # Alertmanager: the config it is started with exists.
    am = _mounts(svcs["alertmanager"], cdir)
    conf = _flag(svcs["alertmanager"], "--config.file", "/etc/alertmanager/alertmanager.yml")
    host = next((h + conf[len(c):] for c, h in am.items() if conf.startswith(c + "/")), None)
    if not host or not os.path.exists(host):
        problems.append(f"alertmanager: {conf} is not mounted from the repository")
    problems += _grafana(svcs["grafana"], cdir, root)
    return Result("compose: alerting and Grafana provisioning", problems,
                  f"Prometheus loads {rules} rule file(s) and alerts alertmanager:9093; Grafana "
                  "provisions the datasource and the dashboards")


def _grafana(svc, cdir, root):
    problems = []
    gm = _mounts(svc, cdir)
    prov = os.path.join(root, "deploy", "grafana", "provisioning")
    for kind in ("datasources", "dashboards"):
        if gm.get(f"/etc/grafana/provisioning/{kind}") != os.path.join(prov, kind):
            problems.append(f"grafana: mount deploy/grafana/provisioning/{kind} at /etc/grafana/provisioning/{kind}")
    if gm.get("/etc/grafana/provisioning/alerting"):
        problems.append("grafana: its alert duplicates a Prometheus rule that Alertmanager already routes")
    providers = load(os.path.join(prov, "dashboards", "sluice.yaml")).get("providers", [])
    dash = os.path.join(root, "deploy", "grafana", "dashboards")
    for p in providers:
        path = p.get("options", {}).get("path")
        if gm.get(path) != dash:
            problems.append(f"grafana: the dashboard provider reads {path}, where deploy/grafana/dashboards is not mounted")
    for f in glob.glob(os.path.join(prov, "datasources", "*.y*ml")):
        for ds in load(f).get("datasources", []):
            if ds.get("type") == "prometheus" and ds.get("url") != "http://prometheus:9090":
                problems.append(f"{rel(f, root)}: datasource url {ds.get('url')}, want http://prometheus:9090")
    return problems


# --- `docker compose config` ---------------------------------------------------------------

def broken_variants(text):
    """(what, text) pairs the Compose binary must refuse: each a mistake its schema or its
    model catches and a YAML parser does not."""
    out = []
    for what, old, new in (
        ("a misspelt key", "\n    healthcheck:\n", "\n    healthchek:\n"),
        ("a dependency on an undefined service", "\n      alertmanager:\n        condition:",
         "\n      alertmanagr:\n        condition:"),
        ("a healthcheck interval that is no duration", "      interval: 5s\n", "      interval: 5 seconds\n"),
        ("a port that is no port", '"127.0.0.1:9093:9093"', '"127.0.0.1:9093:99999"'),
    ):
        if old not in text:
            raise ValueError(f"compose.yaml no longer holds {old!r}: update broken_variants")
        out.append((what, text.replace(old, new, 1)))
    return out


def config(binary, path, project_dir):
    """(exit code, output) of `docker compose config -q` on one file."""
    r = subprocess.run([binary, "-f", path, "--project-directory", project_dir, "config", "-q"],
                       capture_output=True, text=True, timeout=60)
    return r.returncode, (r.stdout + r.stderr).strip()


def compose_config(root, binary):
    """The shipped file passes; every broken variant is refused."""
    cdir = os.path.join(root, "deploy", "compose")
    path = os.path.join(cdir, "compose.yaml")
    rc, out = config(binary, path, cdir)
    yield Result("compose: docker compose config (Compose v2)", [out or f"exit {rc}"] if rc else [],
                 f"{rel(path, root)} is a valid Compose project")
    with open(path) as f:
        text = f.read()
    problems = []
    with tempfile.TemporaryDirectory(prefix="sluice-compose-") as tmp:
        variants = broken_variants(text)
        for i, (what, broken) in enumerate(variants):
            bad = os.path.join(tmp, f"broken-{i}.yaml")
            with open(bad, "w") as f:
                f.write(broken)
            rc, _ = config(binary, bad, cdir)
            if rc == 0:
                problems.append(f"accepted {what}")
    yield Result("compose: docker compose config refuses broken files", problems,
                 f"each of {len(variants)} broken copies refused")
