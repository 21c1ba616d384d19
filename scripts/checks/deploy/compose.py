"""deploy/compose/: three apis behind nginx, two workers, migrations first, an AOF Redis,
Prometheus scraping every admin port, and pools that fit Postgres' max_connections."""
import os
import re

from checks.deploy.objects import (
    ADMIN_ADDR, API_ADDR, AUTO_MIGRATE, POOL_MAX, SHUTDOWN_GRACE, deprecated_settings, duration_seconds,
)
from checks.files import REPO, load, rel
from checks.report import Result

NAME = "compose: services and wiring"


def check(root):
    cdir = os.path.join(root, "deploy", "compose")
    svcs = load(os.path.join(cdir, "compose.yaml")).get("services", {})
    problems = []
    api = sorted(n for n in svcs if re.fullmatch(r"api-\d+", n))
    workers = sorted(n for n in svcs if re.fullmatch(r"worker-\d+", n))
    for need in ("redis", "postgres", "migrate", "nginx", "prometheus", "grafana"):
        if need not in svcs:
            problems.append(f"service {need} missing")
    if len(api) != 3 or len(workers) != 2:
        problems.append(f"want 3 api and 2 worker services, got {api} and {workers}")
    if problems:
        return Result(NAME, problems)
    problems += _redis_and_migrate(svcs)
    for s in api + workers:
        problems += _sluice_service(s, svcs[s], cdir, root)
    problems += _nginx_and_prometheus(svcs, api, workers, cdir)
    for n, svc in svcs.items():
        for v in svc.get("volumes", []):
            src = v.split(":")[0]
            if src.startswith(".") and not os.path.exists(os.path.normpath(os.path.join(cdir, src))):
                problems.append(f"{n}: bind mount source {src} does not exist")
    # connection budget
    pg_cmd = " ".join(svcs["postgres"].get("command", []))
    m = re.search(r"max_connections=(\d+)", pg_cmd)
    maxc = int(m.group(1)) if m else 100
    pools = sum(int(svcs[s]["environment"].get(POOL_MAX, 10)) for s in api + workers)
    if pools > maxc - 3:
        problems.append(f"pools add up to {pools} > max_connections {maxc} - 3")
    return Result(NAME, problems,
                  f"{len(api)} api behind nginx, {len(workers)} workers, migrate first, AOF Redis, "
                  f"Prometheus scrapes {len(api) + len(workers)}, pools {pools} <= {maxc} - 3")


def _redis_and_migrate(svcs):
    problems = []
    redis_cmd = " ".join(map(str, svcs["redis"].get("command", [])))
    if "--appendonly yes" not in redis_cmd:
        problems.append("redis: AOF persistence (--appendonly yes) missing")
    if not any(v.endswith(":/data") for v in svcs["redis"].get("volumes", [])):
        problems.append("redis: /data must be a volume (AOF file)")
    mig = svcs["migrate"]
    if mig.get("command", [])[-1:] != ["migrate"] or mig.get("restart") != "no":
        problems.append("migrate: must run `sluice-api migrate` once (restart: \"no\")")
    return problems


def _sluice_service(s, svc, cdir, root):
    """One api-N or worker-N service."""
    problems = []
    env = svc.get("environment", {})
    dep = svc.get("depends_on", {})
    if not isinstance(dep, dict) or dep.get("migrate", {}).get("condition") != "service_completed_successfully":
        problems.append(f"{s}: must depend on migrate with condition service_completed_successfully")
    for other in ("redis", "postgres"):
        if not isinstance(dep, dict) or dep.get(other, {}).get("condition") != "service_healthy":
            problems.append(f"{s}: must wait for {other} to be healthy")
    want = "0.0.0.0:9090" if s.startswith("api") else "0.0.0.0:9091"
    if env.get(ADMIN_ADDR) != want:
        problems.append(f"{s}: {ADMIN_ADDR} must be {want}")
    if str(env.get(AUTO_MIGRATE)) != "false":
        problems.append(f"{s}: {AUTO_MIGRATE} must be false (migrate does it)")
    if svc.get("user", "0").split(":")[0] in ("0", "root") or svc.get("read_only") is not True:
        problems.append(f"{s}: run as non-root with a read-only root filesystem")
    grace_value = env.get(SHUTDOWN_GRACE, "30s")
    grace = duration_seconds(grace_value)
    sgp = str(svc.get("stop_grace_period", "10s"))
    if grace is None:
        problems.append(f"{s}: {SHUTDOWN_GRACE} must be a duration with a unit (30s)")
    elif duration_seconds(sgp) is None or duration_seconds(sgp) <= grace:
        problems.append(f"{s}: stop_grace_period {sgp} must exceed {SHUTDOWN_GRACE} {grace_value}")
    # The binaries' own table of renamed settings (the repository's, whatever tree is checked).
    old = deprecated_settings(REPO)
    problems += [f"{s}: {k} is deprecated, set {old[k]}" for k in env if k in old]
    cmd = svc.get("command", [])
    binary = "sluice-api" if s.startswith("api") else "sluice-worker"
    if not cmd or not cmd[0].endswith("/" + binary):
        problems.append(f"{s}: command must start {binary}")
    ctx = os.path.normpath(os.path.join(cdir, svc.get("build", {}).get("context", ".")))
    if not os.path.exists(os.path.join(ctx, svc.get("build", {}).get("dockerfile", "Dockerfile"))):
        problems.append(f"{s}: build context {rel(ctx, root)} has no Dockerfile")
    return problems


def _port(svc, key):
    return svc["environment"][key].rsplit(":", 1)[1]


def _nginx_and_prometheus(svcs, api, workers, cdir):
    problems = []
    # nginx upstream = the api services, on SLUICE_API_ADDR's port
    with open(os.path.join(cdir, "nginx.conf")) as f:
        conf = f.read()
    upstream = sorted(re.findall(r"^\s*server\s+([\w.-]+:\d+)", conf, re.M))
    want_up = sorted(f"{s}:{_port(svcs[s], API_ADDR)}" for s in api)
    if upstream != want_up:
        problems.append(f"nginx.conf upstream {upstream}, want {want_up}")
    # prometheus scrapes all five on their admin ports
    prom_mount = [v for v in svcs["prometheus"].get("volumes", []) if v.endswith(":/etc/prometheus:ro")]
    prom_dir = os.path.normpath(os.path.join(cdir, prom_mount[0].split(":")[0])) if prom_mount else None
    if not prom_dir or not os.path.exists(os.path.join(prom_dir, "prometheus.yml")):
        problems.append("prometheus: mount a folder holding prometheus.yml at /etc/prometheus")
    else:
        p = load(os.path.join(prom_dir, "prometheus.yml"))
        targets = sorted(t for job in p["scrape_configs"] for sc in job.get("static_configs", [])
                         for t in sc["targets"] if not t.startswith("localhost"))
        want_t = sorted(f"{s}:{_port(svcs[s], ADMIN_ADDR)}" for s in api + workers)
        if targets != want_t:
            problems.append(f"prometheus.yml targets {targets}, want {want_t}")
    return problems
