"""A rendered overlay indexed the way the checks read it, and the names of the settings they read.

The setting names live here, once: when a setting is renamed in the binaries and deploy/, this is
the line to change (the messages and the tests' inputs follow it).
"""
import math
import os
import re

ADMIN_ADDR = "SLUICE_ADMIN_ADDR"
API_ADDR = "SLUICE_API_ADDR"
SHUTDOWN_GRACE = "SLUICE_SHUTDOWN_GRACE"
MAX_REPLICAS = "SLUICE_MAX_REPLICAS"
DB_BUDGET = "SLUICE_DB_BUDGET"
POOL_MAX = "DB_POOL_MAX_CONNECTIONS"
AUTO_MIGRATE = "SLUICE_AUTO_MIGRATE"
# From the Secret, never a ConfigMap.
SECRET_SETTINGS = ("DATABASE_URL", "REDIS_URL")
SECRET_NAME = "sluice-secrets"
# The keys that encrypt secrets at rest: only ever from the Secret; the api has the current one.
SEALING_KEYS = ("SLUICE_SECRETS_KEY", "SLUICE_SECRETS_KEY_PREVIOUS")

API, WORKER = "sluice-api", "sluice-worker"


def duration_seconds(value):
    """A duration setting's value ("30s", "1m 30s", "500ms", "0") in seconds, as sluice reads it;
    None for anything else (the binaries refuse a bare number)."""
    v = str(value).strip()
    if v == "0":
        return 0.0
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
    if not re.fullmatch(r"(?:\s*\d+(?:\.\d+)?(?:ms|s|m|h|d))+\s*", v):
        return None
    return sum(float(n) * units[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)", v))


def deprecated_settings(root):
    """Old name -> new name of the renamed settings, read from the binaries' own table
    (shared/src/config/renamed.rs) so the check cannot drift from what sluice accepts."""
    with open(os.path.join(root, "shared/src/config/renamed.rs")) as f:
        return dict(re.findall(r'renamed\("(\w+)", "(\w+)", "\w+"\)', f.read()))
# Each binary's admin listener (probes, /metrics).
ADMIN_PORT = {API: 9090, WORKER: 9091}


class Overlay:
    """The objects of one rendered overlay (`name` is base, staging, production or keda)."""

    def __init__(self, name, docs):
        self.name = name
        self.docs = docs
        self.by_kind = {}
        for d in docs:
            self.by_kind.setdefault(d["kind"], []).append(d)
        self.configmaps = {c["metadata"]["name"]: c.get("data", {}) for c in self.kind("ConfigMap")}
        self.deployments = {d["metadata"]["name"]: d for d in self.kind("Deployment")}
        self.hpas = self.kind("HorizontalPodAutoscaler")
        self.scaled = self.kind("ScaledObject")
        self.pdbs = self.kind("PodDisruptionBudget")

    def kind(self, k):
        return self.by_kind.get(k, [])

    def pod(self, dn):
        return self.deployments[dn]["spec"]["template"]["spec"]

    def container(self, dn):
        """The Deployment's first container: the sluice binary."""
        return self.pod(dn)["containers"][0]

    def env(self, container, key):
        return env_value(container, key, self.configmaps)

    def autoscaler(self, dn):
        """(kind, object, minimum, maximum) of the one autoscaler targeting dn, or None when
        there is not exactly one."""
        mine_h = [h for h in self.hpas if h["spec"]["scaleTargetRef"]["name"] == dn]
        mine_s = [s for s in self.scaled if s["spec"]["scaleTargetRef"]["name"] == dn]
        if len(mine_h) + len(mine_s) != 1:
            return None
        if mine_h:
            h = mine_h[0]
            return "HPA", h, h["spec"].get("minReplicas", 1), h["spec"]["maxReplicas"]
        s = mine_s[0]
        return "ScaledObject", s, s["spec"].get("minReplicaCount", 0), s["spec"].get("maxReplicaCount", 100)


def env_value(container, key, configmaps):
    """A variable's value (or valueFrom) as the container sees it: env first, then envFrom."""
    for e in container.get("env", []):
        if e["name"] == key:
            return e.get("value", e.get("valueFrom"))
    for src in container.get("envFrom", []):
        ref = src.get("configMapRef")
        if ref and key in configmaps.get(ref["name"], {}):
            return configmaps[ref["name"]][key]
    return None


def selects(selector, labels):
    """matchLabels only (what sluice's PDBs and Deployments use); matchExpressions never match."""
    ml = selector.get("matchLabels", {})
    return bool(ml) and all(labels.get(k) == v for k, v in ml.items()) and not selector.get("matchExpressions")


def surge(deploy, replicas):
    """The extra pods a rolling update may add at `replicas`."""
    s = deploy["spec"].get("strategy", {}).get("rollingUpdate", {}).get("maxSurge", "25%")
    if isinstance(s, str) and s.endswith("%"):
        return math.ceil(replicas * int(s[:-1]) / 100)
    return int(s)
