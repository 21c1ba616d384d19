"""checks.netpol: every Deployment isolated, http from the ingress namespace only, admin from the
monitoring namespace only; and the self-test that breaks the policies."""
import copy
import unittest

from checks import netpol
from checks.tests.support import CheckCase, find, overlay_docs

INGRESS, MONITORING = "ingress-nginx", "monitoring"


def problems(docs):
    return netpol.problems(docs, INGRESS, MONITORING)


class GoodPolicies(CheckCase):
    def test_the_render_passes(self):
        result = netpol.check("base", overlay_docs(), INGRESS, MONITORING)
        self.assertEqual(result.deploy_lines(), [
            "ok   base: network policies: http from ingress-nginx only, admin from monitoring only, "
            "on every Deployment"])

    def test_the_self_test_passes_and_breaks_every_variant(self):
        docs = overlay_docs()
        self.assertPasses(netpol.self_test_result("base", docs, INGRESS, MONITORING))
        for breakage in netpol.breakages(docs):
            broken = copy.deepcopy(docs)
            breakage(broken)
            self.assertTrue(problems(broken), f"{breakage.__name__} not caught")

    def test_other_namespaces_are_taken_from_the_arguments(self):
        docs = overlay_docs()
        find(docs, "NetworkPolicy", "sluice-api")["spec"]["ingress"][0]["from"][0]["namespaceSelector"][
            "matchLabels"]["kubernetes.io/metadata.name"] = "traefik"
        self.assertEqual(netpol.problems(docs, "traefik", MONITORING), [])


class Gaps(CheckCase):
    def setUp(self):
        self.docs = overlay_docs()

    def test_worker_not_isolated(self):
        self.docs.remove(find(self.docs, "NetworkPolicy", "sluice-worker"))
        self.docs.remove(find(self.docs, "NetworkPolicy", "default-deny-ingress"))
        self.assertEqual(problems(self.docs), ["sluice-worker: no NetworkPolicy of type Ingress selects its pods"])

    def test_webhook_port_open_to_the_internet(self):
        rule = find(self.docs, "NetworkPolicy", "sluice-api")["spec"]["ingress"][0]
        rule["from"].append({"ipBlock": {"cidr": "0.0.0.0/0"}})
        self.assertEqual(problems(self.docs), ["sluice-api: port http is open to any address"])

    def test_admin_port_from_the_wrong_namespace(self):
        rule = find(self.docs, "NetworkPolicy", "sluice-worker")["spec"]["ingress"][0]
        rule["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] = "default"
        self.assertEqual(problems(self.docs),
                         ["sluice-worker: port admin is reachable from ['default'], want exactly ['monitoring']"])

    def test_a_rule_without_ports_opens_admin_to_the_ingress(self):
        del find(self.docs, "NetworkPolicy", "sluice-api")["spec"]["ingress"][0]["ports"]
        result = netpol.check("base", self.docs, INGRESS, MONITORING)
        self.assertFailsWith(result, "sluice-api: port admin is reachable from ['ingress-nginx', 'monitoring']")

    def test_the_self_test_reports_a_render_that_already_fails(self):
        find(self.docs, "NetworkPolicy", "sluice-worker")["spec"]["ingress"][0]["from"].append({"podSelector": {}})
        self.assertFailsWith(netpol.self_test_result("base", self.docs, INGRESS, MONITORING),
                             "the unbroken render fails")


if __name__ == "__main__":
    unittest.main()
