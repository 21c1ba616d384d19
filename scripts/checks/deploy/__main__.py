"""`python3 -m checks.deploy CMD ARGS`: one of scripts/check-deploy's checks, printed as
`ok   NAME: ...` / `FAIL NAME: ...` lines (the script counts them). Exits 1 only when a check
could not run at all (a file missing or unreadable), after saying why on a FAIL line.

Each command yields its results one by one, so that the lines before a crash are still printed."""
import sys
import traceback

from checks import netpol
from checks.deploy import compose, compose_stack, image, production, queries, render, scaling, workloads
from checks.deploy.objects import Overlay, deprecated_settings
from checks.files import REPO, ROOT, load_all
from checks.report import Result, print_deploy


def cmd_split(rendered, outdir):
    render.split(load_all(rendered), outdir)
    yield from ()


def cmd_custom(name, rendered):
    yield render.custom_resources(name, load_all(rendered), ROOT)


def cmd_invariants(name, rendered):
    ov = Overlay(name, load_all(rendered))
    yield workloads.namespace(ov)
    yield production.ingress(ov)
    yield production.alerts(ov, ROOT)
    missing = workloads.deployments(ov)
    if missing:
        yield missing
        return
    for check in (workloads.pod_security, workloads.admin_and_probes, workloads.grace_identity_secrets,
                  scaling.autoscaling, scaling.disruption_budgets, scaling.connection_budget):
        yield check(ov)
    yield workloads.no_deprecated_names(ov, deprecated_settings(REPO))


def cmd_netpol(name, rendered, ingress_ns, monitoring_ns):
    docs = load_all(rendered)
    yield netpol.check(name, docs, ingress_ns, monitoring_ns)
    yield netpol.self_test_result(name, docs, ingress_ns, monitoring_ns)


def cmd_secret_example():
    yield render.secret_example(ROOT)


def cmd_queries(keda_render, outdir):
    found = queries.collect_queries(load_all(keda_render), ROOT)
    yield queries.gauges(found)
    rules, missing = queries.scaling_rules(found)
    queries.write_rules(rules, outdir)
    if missing:
        yield missing


def cmd_adapter(base_render):
    yield queries.adapter(load_all(base_render), ROOT)


def cmd_metrics(keda_render):
    yield queries.metric_names(queries.collect_queries(load_all(keda_render), ROOT), ROOT)


def cmd_compose():
    yield compose.check(ROOT)
    yield compose_stack.health(ROOT)
    yield compose_stack.monitoring(ROOT)


def cmd_compose_config(binary):
    yield from compose_stack.compose_config(ROOT, binary)


def cmd_docker():
    yield from image.check(ROOT)


def main(argv):
    cmd, args = argv[0], argv[1:]
    try:
        for result in globals()["cmd_" + cmd.replace("-", "_")](*args):
            print_deploy([result])
    except Exception as e:  # a broken file is a failed check, with the reason on one line
        why = f"{type(e).__name__}: {e}"
        print_deploy([Result(f"{cmd}: could not check", [why], headline=why)])
        for line in traceback.format_exc().splitlines()[-6:]:
            print(f"       {line}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
