"""The NetworkPolicies of a rendered kustomize overlay (issue 12, point 16).

    python3 -m checks.netpol RENDERED.yaml [--name NAME] [--ingress-ns NS] [--monitoring-ns NS]
    python3 -m checks.netpol --self-test RENDERED.yaml

For every Deployment, its pods must be selected by a NetworkPolicy of type Ingress, and what the
policies selecting them allow, taken together (NetworkPolicies add up), must be:
  - the `admin` port: from the monitoring namespace only, and from it at least;
  - the `http` port (pods that have one, the api): from the ingress namespace only, and from it;
  - no other port, and never from everyone (a rule without `from`, or an ipBlock).
Prints `ok   NAME: ...` or `FAIL NAME: ...` lines as scripts/check-deploy expects; exit 1 on
failure. --self-test breaks the rendered policies in each way above and requires a failure for
each, so that a checker that stopped looking cannot pass unnoticed.
"""
import argparse
import copy
import sys

from checks.files import load_all
from checks.report import Result, print_deploy

NS_LABEL = "kubernetes.io/metadata.name"


def selects(selector, labels):
    """A podSelector / namespaceSelector against a label set (matchLabels and the common
    matchExpressions operators)."""
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in selector.get("matchExpressions") or []:
        key, op, values = e["key"], e["operator"], e.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def peer_namespaces(peer, own_ns, known):
    """The namespaces a `from` peer admits, or None for "any address" (an ipBlock)."""
    if "ipBlock" in peer:
        return None
    if "namespaceSelector" not in peer:
        return {own_ns}  # a podSelector alone means pods of the policy's own namespace
    return {ns for ns in known if selects(peer["namespaceSelector"], {NS_LABEL: ns})}


def allowed(docs, deployment, known):
    """port name -> set of namespaces allowed (None in the set: from anywhere), plus whether any
    Ingress policy selects the pods at all."""
    tmpl = deployment["spec"]["template"]
    labels = tmpl["metadata"].get("labels", {})
    own_ns = deployment["metadata"].get("namespace", "default")
    ports = {p["name"]: p["containerPort"] for c in tmpl["spec"]["containers"]
             for p in c.get("ports", []) if "name" in p}
    by_port = {name: set() for name in ports}
    isolated = False
    for pol in docs:
        if pol.get("kind") != "NetworkPolicy" or pol["metadata"].get("namespace", "default") != own_ns:
            continue
        spec = pol["spec"]
        types = spec.get("policyTypes") or ["Ingress"]
        if "Ingress" not in types or not selects(spec.get("podSelector") or {}, labels):
            continue
        isolated = True
        for rule in spec.get("ingress") or []:
            rule_ports = rule.get("ports") or [{}]
            sources = set()
            for peer in rule.get("from") or [{"ipBlock": {"cidr": "0.0.0.0/0"}}]:
                admitted = peer_namespaces(peer, own_ns, known)
                sources |= {None} if admitted is None else admitted
            for name, number in ports.items():
                if any(p.get("port") in (None, name, number) for p in rule_ports):
                    by_port[name] |= sources
    return isolated, by_port


def problems(docs, ingress_ns, monitoring_ns):
    known = {d["metadata"]["name"] for d in docs if d.get("kind") == "Namespace"}
    known |= {ingress_ns, monitoring_ns, "default", "kube-system"}
    # Namespaces the policies name, so that a wrong one is reported by its name.
    for pol in docs:
        if pol.get("kind") == "NetworkPolicy":
            for rule in pol["spec"].get("ingress") or []:
                for peer in rule.get("from") or []:
                    ml = (peer.get("namespaceSelector") or {}).get("matchLabels") or {}
                    if NS_LABEL in ml:
                        known.add(ml[NS_LABEL])
    found = []
    deployments = [d for d in docs if d.get("kind") == "Deployment"]
    if not deployments:
        found.append("no Deployment rendered")
    for d in deployments:
        name = d["metadata"]["name"]
        isolated, by_port = allowed(docs, d, known)
        if not isolated:
            found.append(f"{name}: no NetworkPolicy of type Ingress selects its pods")
            continue
        want = {"admin": {monitoring_ns}, "http": {ingress_ns}}
        if "admin" not in by_port:
            found.append(f"{name}: has no port named admin")
        for port, sources in by_port.items():
            shown = sorted("<anywhere>" if s is None else s for s in sources)
            if None in sources:
                found.append(f"{name}: port {port} is open to any address")
            elif port not in want and sources:
                found.append(f"{name}: port {port} is reachable from {shown}; only admin and http should be")
            elif port in want and sources != want[port]:
                found.append(f"{name}: port {port} is reachable from {shown}, want exactly {sorted(want[port])}")
    return found


def breakages(docs):
    """Each way of breaking the rendered policies that the check must catch."""
    def policy(ds, name):
        return next(d for d in ds if d.get("kind") == "NetworkPolicy" and d["metadata"]["name"] == name)

    def drop_worker_policy(ds):
        ds.remove(policy(ds, "sluice-worker"))
        ds.remove(policy(ds, "default-deny-ingress"))

    def admin_from_everyone(ds):
        del policy(ds, "sluice-api")["spec"]["ingress"][1]["from"]

    def admin_from_default(ds):
        rule = policy(ds, "sluice-worker")["spec"]["ingress"][0]
        rule["from"][0]["namespaceSelector"]["matchLabels"][NS_LABEL] = "default"

    def webhook_open_to_the_internet(ds):
        policy(ds, "sluice-api")["spec"]["ingress"][0]["from"].append({"ipBlock": {"cidr": "0.0.0.0/0"}})

    def rule_without_ports(ds):
        del policy(ds, "sluice-api")["spec"]["ingress"][0]["ports"]

    def egress_only(ds):
        for name in ("sluice-api", "default-deny-ingress"):
            policy(ds, name)["spec"]["policyTypes"] = ["Egress"]

    def any_namespace(ds):
        policy(ds, "sluice-api")["spec"]["ingress"][1]["from"] = [{"namespaceSelector": {}}]

    def same_namespace_pods(ds):
        policy(ds, "sluice-worker")["spec"]["ingress"][0]["from"].append({"podSelector": {}})

    return [drop_worker_policy, admin_from_everyone, admin_from_default, webhook_open_to_the_internet,
            rule_without_ports, egress_only, any_namespace, same_namespace_pods]


def self_test(docs, ingress_ns, monitoring_ns):
    found = []
    if problems(docs, ingress_ns, monitoring_ns):
        found.append("the unbroken render fails")
    for breakage in breakages(docs):
        broken = copy.deepcopy(docs)
        breakage(broken)
        if not problems(broken, ingress_ns, monitoring_ns):
            found.append(f"{breakage.__name__}: not caught")
    return found


def check(name, docs, ingress_ns, monitoring_ns):
    return Result(f"{name}: network policies", problems(docs, ingress_ns, monitoring_ns),
                  f"http from {ingress_ns} only, admin from {monitoring_ns} only, on every Deployment")


def self_test_result(name, docs, ingress_ns, monitoring_ns):
    n = len(breakages(docs))
    return Result(f"{name}: network policy checker self-test", self_test(docs, ingress_ns, monitoring_ns),
                  f"the render passes, each of {n} broken variants fails")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("rendered")
    ap.add_argument("--name", default="netpol")
    ap.add_argument("--ingress-ns", default="ingress-nginx")
    ap.add_argument("--monitoring-ns", default="monitoring")
    ap.add_argument("--self-test", action="store_true")
    args = ap.parse_args()
    docs = load_all(args.rendered)
    if args.self_test:
        result = self_test_result(args.name, docs, args.ingress_ns, args.monitoring_ns)
    else:
        result = check(args.name, docs, args.ingress_ns, args.monitoring_ns)
    sys.exit(0 if print_deploy([result]) else 1)


if __name__ == "__main__":
    main()
