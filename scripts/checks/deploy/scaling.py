"""How many pods there may be: one autoscaler per Deployment whose maximum the binary is told
(SLUICE_MAX_REPLICAS), the worker scaled on its backlog, PDBs, and the Postgres connections the
pods may hold at their peak."""
from checks.deploy.objects import API, DB_BUDGET, MAX_REPLICAS, POOL_MAX, WORKER, selects, surge
from checks.report import Result

# The Postgres connections sluice may use per overlay: max_connections - superuser_reserved
# (3) - headroom for people, migrations and exporters. docs/deploy.md has the same table.
BUDGET = {"base": 85, "staging": 85, "production": 177, "keda": 177}
DB_BUDGET_MODE = {"base": "warn", "staging": "warn", "production": "enforce", "keda": "enforce"}
# The ranges issue 5 asks for.
RANGES = {"staging": {API: (3, 12), WORKER: (2, 10)}}
# The External metric the worker HPA reads (deploy/k8s/prometheus-adapter/ produces it).
WORKER_METRIC = "sluice_worker_backlog"


def autoscaling(ov):
    problems, summary = [], []
    for dn in ov.deployments:
        found = ov.autoscaler(dn)
        if found is None:
            n_h = sum(h["spec"]["scaleTargetRef"]["name"] == dn for h in ov.hpas)
            n_s = sum(s["spec"]["scaleTargetRef"]["name"] == dn for s in ov.scaled)
            problems.append(f"{dn}: {n_h} HPA(s) and {n_s} ScaledObject(s); want exactly one autoscaler")
            continue
        kind, obj, lo, hi = found
        summary.append(f"{dn} {lo}-{hi} ({kind})")
        smr = ov.env(ov.container(dn), MAX_REPLICAS)
        if str(smr) != str(hi):
            problems.append(f"{dn}: {MAX_REPLICAS}={smr!r} but the {kind} maximum is {hi}")
        if lo > hi:
            problems.append(f"{dn}: minimum {lo} above maximum {hi}")
        want = RANGES.get(ov.name, {}).get(dn)
        if want and (lo, hi) != want:
            problems.append(f"{dn}: {ov.name} range is {lo}-{hi}, want {want[0]}-{want[1]}")
        if dn == WORKER and kind == "HPA":
            problems += _worker_hpa(obj)
        if dn == WORKER and kind == "ScaledObject":
            problems += _worker_scaledobject(obj)
    api_h = [h for h in ov.hpas if h["spec"]["scaleTargetRef"]["name"] == API]
    if api_h and not any(m["type"] == "Resource" and m["resource"]["name"] == "cpu" for m in api_h[0]["spec"]["metrics"]):
        problems.append("sluice-api HPA: want a CPU Resource metric")
    return Result(f"{ov.name}: autoscaling", problems, ", ".join(summary) + f"; {MAX_REPLICAS} = maximum")


def _worker_hpa(h):
    problems = []
    ext = [m for m in h["spec"].get("metrics", []) if m["type"] == "External"]
    if len(ext) != 1 or ext[0]["external"]["metric"]["name"] != WORKER_METRIC:
        problems.append(f"sluice-worker HPA: want one External metric {WORKER_METRIC}")
    elif ext[0]["external"]["target"].get("type") != "AverageValue":
        problems.append("sluice-worker HPA: target type must be AverageValue (work per worker)")
    _behavior(h["spec"].get("behavior", {}), "sluice-worker HPA", problems)
    return problems


def _worker_scaledobject(s):
    problems = []
    trig = [t for t in s["spec"]["triggers"] if t["type"] == "prometheus"]
    if not trig:
        problems.append("sluice-worker ScaledObject: no prometheus trigger")
    for t in trig:
        if t.get("metricType", "AverageValue") != "AverageValue":
            problems.append(f"ScaledObject trigger {t.get('name')}: metricType must be AverageValue")
        if 'namespace="sluice"' not in t["metadata"]["query"].replace(" ", ""):
            problems.append(f"ScaledObject trigger {t.get('name')}: query must filter namespace=\"sluice\"")
    _behavior(s["spec"].get("advanced", {}).get("horizontalPodAutoscalerConfig", {}).get("behavior", {}),
              "sluice-worker ScaledObject", problems)
    return problems


def _behavior(b, where, problems):
    """Up at once, down only after 5 minutes of less work: a burst must not flap the workers."""
    up, down = b.get("scaleUp", {}), b.get("scaleDown", {})
    if down.get("stabilizationWindowSeconds") != 300:
        problems.append(f"{where}: behavior.scaleDown.stabilizationWindowSeconds must be 300")
    if up.get("stabilizationWindowSeconds", 0) != 0:
        problems.append(f"{where}: behavior.scaleUp.stabilizationWindowSeconds must be 0 (fast up)")


def disruption_budgets(ov):
    problems = []
    for dn, d in ov.deployments.items():
        labels = d["spec"]["template"]["metadata"]["labels"]
        if not [p for p in ov.pdbs if selects(p["spec"]["selector"], labels)]:
            problems.append(f"{dn}: no PodDisruptionBudget selects its pods")
        if not selects(d["spec"]["selector"], labels):
            problems.append(f"{dn}: selector does not match its own pod labels")
    for p in ov.pdbs:
        if "minAvailable" in p["spec"]:
            problems.append(f"PDB {p['metadata']['name']}: use maxUnavailable (minAvailable blocks drains at low replica counts)")
    return Result(f"{ov.name}: disruption budgets", problems, "one PDB per Deployment, maxUnavailable")


def connection_budget(ov):
    """Every pod at (maximum + surge) replicas holding a full pool must fit the overlay's budget."""
    problems, parts, total = [], [], 0
    mode = DB_BUDGET_MODE[ov.name]
    modes = {ov.env(ov.container(dn), DB_BUDGET) for dn in ov.deployments}
    if modes != {mode}:
        problems.append(f"{DB_BUDGET} is {sorted(map(str, modes))}, want {mode!r}")
    for dn, d in ov.deployments.items():
        found = ov.autoscaler(dn)
        if found is None:
            continue
        hi = found[3]
        pool = ov.env(ov.container(dn), POOL_MAX)
        if pool is None:
            problems.append(f"{dn}: {POOL_MAX} not set")
            continue
        peak = hi + surge(d, hi)
        total += peak * int(pool)
        parts.append(f"{dn.split('-')[1]} {peak}x{pool}")
    if total > BUDGET[ov.name]:
        problems.append(f"peak connections {total} > budget {BUDGET[ov.name]} (docs/deploy.md, connection budget)")
    return Result(f"{ov.name}: postgres connection budget", problems,
                  f"{' + '.join(parts)} = {total} <= {BUDGET[ov.name]} at (max + surge) replicas, {DB_BUDGET}={mode}")
