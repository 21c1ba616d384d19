"""What each Deployment's pods must be: in the sluice namespace, locked down, probed on the admin
listener, given time to drain, and fed their credentials from the Secret."""
from checks.deploy.objects import (
    ADMIN_ADDR, ADMIN_PORT, API, API_ADDR, SEALING_KEYS, SECRET_NAME, SECRET_SETTINGS, SHUTDOWN_GRACE, WORKER,
    duration_seconds,
)
from checks.report import Result

# How long a start may take before liveness applies: migrations run before the admin listener
# opens (SLUICE_AUTO_MIGRATE), so the startup probe must outlast a slow one.
STARTUP_BUDGET_SECONDS = 120


def namespace(ov):
    problems = []
    for d in ov.docs:
        ns = d["metadata"].get("namespace")
        if d["kind"] != "Namespace" and ns != "sluice":
            problems.append(f"{d['kind']}/{d['metadata']['name']}: namespace {ns!r}, want 'sluice'")
    if [n["metadata"]["name"] for n in ov.kind("Namespace")] != ["sluice"]:
        problems.append("exactly one Namespace, 'sluice', expected")
    return Result(f"{ov.name}: namespace", problems, "every object in 'sluice' (the queries filter on it)")


def deployments(ov):
    """Both binaries' Deployments, and no others: the remaining checks need them."""
    if set(ov.deployments) == {API, WORKER}:
        return None
    want = f"want sluice-api and sluice-worker, got {sorted(ov.deployments)}"
    return Result(f"{ov.name}: deployments", [want], headline=want)


def pod_security(ov):
    problems = []
    for dn, d in ov.deployments.items():
        pod = ov.pod(dn)
        psc = pod.get("securityContext", {})
        if psc.get("runAsNonRoot") is not True or not psc.get("runAsUser"):
            problems.append(f"{dn}: pod securityContext needs runAsNonRoot: true and a non-zero runAsUser")
        if psc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            problems.append(f"{dn}: pod seccompProfile must be RuntimeDefault")
        if pod.get("automountServiceAccountToken") is not False:
            problems.append(f"{dn}: automountServiceAccountToken should be false (sluice never calls the API)")
        if pod.get("enableServiceLinks") is not False:
            problems.append(f"{dn}: enableServiceLinks should be false (it injects SLUICE_API_* variables)")
        for c in pod["containers"]:
            problems += _container_security(dn, c)
        if "replicas" in d["spec"]:
            problems.append(f"{dn}: spec.replicas set, but the autoscaler owns the count")
    return Result(f"{ov.name}: pod security and resources", problems,
                  "non-root, read-only root, no capabilities, seccomp RuntimeDefault, requests and limits")


def _container_security(dn, c):
    problems = []
    sc = c.get("securityContext", {})
    if sc.get("allowPrivilegeEscalation") is not False:
        problems.append(f"{dn}/{c['name']}: allowPrivilegeEscalation must be false")
    if sc.get("readOnlyRootFilesystem") is not True:
        problems.append(f"{dn}/{c['name']}: readOnlyRootFilesystem must be true")
    if "ALL" not in sc.get("capabilities", {}).get("drop", []) or sc.get("capabilities", {}).get("add"):
        problems.append(f"{dn}/{c['name']}: capabilities must drop ALL and add none")
    res = c.get("resources", {})
    for part in ("requests", "limits"):
        for r in ("cpu", "memory"):
            if r not in res.get(part, {}):
                problems.append(f"{dn}/{c['name']}: resources.{part}.{r} missing")
    image = c.get("image", "")
    if ":" not in image.split("/")[-1] or image.endswith(":latest"):
        problems.append(f"{dn}/{c['name']}: image {image!r} needs a pinned tag")
    return problems


def admin_and_probes(ov):
    problems = []
    for dn in ov.deployments:
        c = ov.container(dn)
        ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
        admin = ov.env(c, ADMIN_ADDR)
        want = ADMIN_PORT[API] if dn == API else ADMIN_PORT[WORKER]
        if admin != f"0.0.0.0:{want}":
            problems.append(f"{dn}: {ADMIN_ADDR}={admin!r}, want '0.0.0.0:{want}' (probes and scrapes come from outside the pod)")
        if ports.get("admin") != want:
            problems.append(f"{dn}: containerPort 'admin' must be {want}")
        for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz"),
                            ("startupProbe", "/healthz")):
            get = c.get(probe, {}).get("httpGet", {})
            if get.get("path") != path or get.get("port") not in ("admin", want):
                problems.append(f"{dn}: {probe} must be GET {path} on the admin port")
        startup = c.get("startupProbe", {})
        budget = startup.get("periodSeconds", 10) * startup.get("failureThreshold", 3)
        if startup and budget < STARTUP_BUDGET_SECONDS:
            problems.append(f"{dn}: startupProbe allows {budget} s (periodSeconds x failureThreshold), "
                            f"want >= {STARTUP_BUDGET_SECONDS} s for migrations at start")
        if dn == API:
            if ov.env(c, API_ADDR) != "0.0.0.0:8080" or ports.get("http") != 8080:
                problems.append(f"sluice-api: {API_ADDR} must be 0.0.0.0:8080 with containerPort 'http' 8080")
    for s in ov.kind("Service"):
        for p in s["spec"]["ports"]:
            if p.get("targetPort") in ("admin", *ADMIN_PORT.values()):
                problems.append(f"Service/{s['metadata']['name']}: exposes the admin port")
    return Result(f"{ov.name}: admin listener and probes", problems,
                  "api 0.0.0.0:9090, worker 0.0.0.0:9091, liveness /healthz, readiness /readyz, "
                  f"startup /healthz for >= {STARTUP_BUDGET_SECONDS} s")


def grace_identity_secrets(ov):
    problems = []
    for dn in ov.deployments:
        pod = ov.pod(dn)
        c = ov.container(dn)
        grace = ov.env(c, SHUTDOWN_GRACE)
        pre = c.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
        tgps = pod.get("terminationGracePeriodSeconds", 30)
        if grace is None or duration_seconds(grace) is None:
            problems.append(f"{dn}: {SHUTDOWN_GRACE} must be set, as a duration with a unit (30s)")
        elif tgps <= duration_seconds(grace) + pre:
            problems.append(f"{dn}: terminationGracePeriodSeconds {tgps} <= preStop {pre} + {SHUTDOWN_GRACE} {grace}")
        for key in SECRET_SETTINGS:
            v = ov.env(c, key)
            ref = v.get("secretKeyRef", {}) if isinstance(v, dict) else {}
            if ref.get("name") != SECRET_NAME or ref.get("key") != key:
                problems.append(f"{dn}: {key} must come from Secret {SECRET_NAME}, key {key}")
        for key in SEALING_KEYS:
            v = ov.env(c, key)
            ref = v.get("secretKeyRef", {}) if isinstance(v, dict) else {}
            if (v is not None or (dn == API and key == SEALING_KEYS[0])) and (
                    ref.get("name") != SECRET_NAME or ref.get("key") != key):
                problems.append(f"{dn}: {key} must come from Secret {SECRET_NAME}, key {key}")
        for e in c.get("envFrom", []):
            ref = e.get("configMapRef", {}).get("name")
            if ref and ref not in ov.configmaps:
                problems.append(f"{dn}: envFrom ConfigMap {ref} is not rendered")
    pod_name = ov.env(ov.container(WORKER), "POD_NAME")
    if not (isinstance(pod_name, dict) and pod_name.get("fieldRef", {}).get("fieldPath") == "metadata.name"):
        problems.append("sluice-worker: POD_NAME must come from the downward API (metadata.name)")
    for cm, data in ov.configmaps.items():
        for k in data:
            if k in (*SECRET_SETTINGS, *SEALING_KEYS, ADMIN_ADDR):
                problems.append(f"ConfigMap {cm}: {k} does not belong in the shared ConfigMap")
    return Result(f"{ov.name}: shutdown grace, worker identity, secrets", problems,
                  f"grace periods above preStop + {SHUTDOWN_GRACE}, POD_NAME from metadata.name, URLs from {SECRET_NAME}")


def no_deprecated_names(ov, old):
    """`old`: old name -> new name (objects.deprecated_settings). sluice still reads the old names
    for one release, but the manifests show the current ones."""
    problems = []
    for dn in ov.deployments:
        for c in ov.pod(dn)["containers"]:
            problems += [f"{dn}: {e['name']} is deprecated, set {old[e['name']]}"
                         for e in c.get("env", []) if e["name"] in old]
    for cm, data in ov.configmaps.items():
        problems += [f"ConfigMap {cm}: {k} is deprecated, set {old[k]}" for k in data if k in old]
    return Result(f"{ov.name}: no deprecated setting names", problems,
                  f"none of the {len(old)} renamed in shared/src/config/renamed.rs")
