"""checks.deploy.production: the webhook Ingress and the alerts' absolute runbook links, on the
fixture overlay with an Ingress and a PrometheusRule added (as the production overlay renders
them) and the fixture repository for the one place the base URL is set."""
import copy

from checks.deploy import production
from checks.tests.support import TreeCase, overlay, overlay_docs

BASE = "https://git.example.com/sluice/blob/main/docs/runbook.md"
INGRESS = {
    "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
    "metadata": {"name": "sluice-api", "namespace": "sluice",
                 "annotations": {"cert-manager.io/cluster-issuer": "letsencrypt"}},
    "spec": {
        "ingressClassName": "nginx",
        "tls": [{"hosts": ["sluice.example.com"], "secretName": "sluice-webhook-tls"}],
        "rules": [{"host": "sluice.example.com", "http": {"paths": [
            {"path": "/webhook/", "pathType": "Prefix",
             "backend": {"service": {"name": "sluice-api", "port": {"name": "http"}}}}]}}],
    },
}


def prometheusrule(base=BASE):
    return {
        "apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
        "metadata": {"name": "sluice", "namespace": "sluice"},
        "spec": {"groups": [{"name": "g", "rules": [
            {"alert": "SluiceQueueBacklog", "expr": "1",
             "annotations": {"runbook_url": f"{base}#sluicequeuebacklog"}},
            {"alert": "SluiceWebhook5xxRatioHigh", "expr": "1",
             "annotations": {"runbook_url": f"{base}#sluicewebhook5xxratiohigh"}}]}]},
    }


class Ingress(TreeCase):
    def setUp(self):
        super().setUp()
        self.ing = copy.deepcopy(INGRESS)

    def check(self, name="production"):
        return production.ingress(overlay(name, overlay_docs() + [self.ing]))

    def test_the_fixture_passes(self):
        self.assertPasses(self.check())

    def test_production_without_an_ingress(self):
        self.assertFailsWith(production.ingress(overlay("production")), "no Ingress")
        self.assertPasses(production.ingress(overlay("staging")))

    def test_the_whole_api_exposed(self):
        self.ing["spec"]["rules"][0]["http"]["paths"][0]["path"] = "/"
        self.assertFailsWith(self.check(), "path '/' (Prefix) exposes more than /webhook/*")

    def test_metrics_routed_to_the_admin_port(self):
        self.ing["spec"]["rules"][0]["http"]["paths"].append(
            {"path": "/webhook/metrics", "pathType": "Exact",
             "backend": {"service": {"name": "sluice-api", "port": {"number": 9090}}}})
        self.assertFailsWith(self.check(), "goes to port 9090, which Service sluice-api does not have")

    def test_a_service_whose_port_targets_admin(self):
        docs = overlay_docs() + [self.ing]
        svc = next(d for d in docs if d["kind"] == "Service")
        svc["spec"]["ports"][0]["targetPort"] = "admin"
        self.assertFailsWith(production.ingress(overlay("production", docs)),
                             "reaches container port 'admin', not the webhook port http")

    def test_no_tls_and_no_issuer(self):
        del self.ing["spec"]["tls"]
        del self.ing["metadata"]["annotations"]
        result = self.check()
        self.assertFailsWith(result, "no tls (Telegram calls https only)")
        self.assertFailsWith(result, "no cert-manager annotation")
        self.assertFailsWith(result, "host 'sluice.example.com' is not covered by a tls entry")

    def test_no_ingress_class(self):
        del self.ing["spec"]["ingressClassName"]
        self.assertFailsWith(self.check(), "ingressClassName missing")


class Alerts(TreeCase):
    def setUp(self):
        super().setUp()
        self.write(production.RUNBOOK_SOURCE,
                   f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: sluice-runbook}}\ndata:\n  url: {BASE}\n")

    def check(self, rule, name="production"):
        return production.alerts(overlay(name, overlay_docs() + [rule]), self.root)

    def test_the_fixture_passes(self):
        result = self.check(prometheusrule())
        self.assertPasses(result)
        self.assertEqual(result.detail, f"2 alerts, runbook_url {BASE}#<alert>, set in {production.RUNBOOK_SOURCE}")

    def test_production_without_the_alerts(self):
        self.assertFailsWith(production.alerts(overlay("production"), self.root),
                             "no PrometheusRule: include ../../components/alerts")

    def test_a_relative_runbook_url(self):
        self.assertFailsWith(self.check(prometheusrule("docs/runbook.md")),
                             "SluiceQueueBacklog: runbook_url 'docs/runbook.md#sluicequeuebacklog' is not an absolute URL")

    def test_an_anchor_to_no_heading(self):
        rule = prometheusrule()
        rule["spec"]["groups"][0]["rules"][0]["annotations"]["runbook_url"] = f"{BASE}#backlog"
        self.assertFailsWith(self.check(rule), "anchor #backlog is no heading of docs/runbook.md")

    def test_two_bases(self):
        rule = prometheusrule()
        rule["spec"]["groups"][0]["rules"][1]["annotations"]["runbook_url"] = \
            "https://wiki.example.com/runbook#sluicewebhook5xxratiohigh"
        self.assertFailsWith(self.check(rule), "runbook_url bases differ")

    def test_the_base_written_in_a_second_file(self):
        self.write("deploy/k8s/overlays/production/runbook.yaml", f"url: {BASE}\n")
        self.assertFailsWith(self.check(prometheusrule()),
                             f"must be set in {production.RUNBOOK_SOURCE} only (data.url); found in "
                             f"['{production.RUNBOOK_SOURCE}', 'deploy/k8s/overlays/production/runbook.yaml']")
