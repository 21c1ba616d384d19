"""checks.deploy.queries: PromQL under deploy/ (global gauges under max, the scaling rules for
promtool, the adapter config, metric names) on the fixture repository."""
import shutil
import subprocess
import tempfile
import unittest

from checks.deploy import queries
from checks.tests.support import TreeCase, find, keda_docs, overlay_docs

ADAPTER = "deploy/k8s/prometheus-adapter/config.yaml"


class Lint(unittest.TestCase):
    def test_max_passes_sum_fails(self):
        self.assertEqual(queries.lint_query('max by (lane) (sluice_queue_depth{state="pending"})'), [])
        self.assertEqual(queries.lint_query("sum(max by (lane, state) (sluice_queue_depth))"), [])
        self.assertEqual(queries.lint_query("sum by (lane) (sluice_queue_depth)"),
                         ["sluice_queue_depth aggregated with sum (want max): sum by (lane) (sluice_queue_depth)"])
        self.assertEqual(queries.lint_query("sluice_queue_oldest_age_seconds > 30"),
                         ["sluice_queue_oldest_age_seconds aggregated with nothing (want max): "
                          "sluice_queue_oldest_age_seconds > 30"])


class Queries(TreeCase):
    def collect(self, docs=None):
        return queries.collect_queries(keda_docs() if docs is None else docs, self.root)

    def test_the_fixture_queries_pass(self):
        found = self.collect()
        self.assertEqual(len(found), 6)  # adapter, two KEDA triggers, three rules
        self.assertPasses(queries.gauges(found))
        self.assertPasses(queries.metric_names(found, self.root))
        rules, missing = queries.scaling_rules(found)
        self.assertIsNone(missing)
        self.assertEqual([r["record"] for r in rules["groups"][0]["rules"]],
                         ["sluice_check:adapter_backlog", "sluice_check:keda_backlog", "sluice_check:keda_scheduled"])

    def test_a_rule_summing_a_global_gauge(self):
        self.replace("deploy/prometheus/rules/sluice.yml", "max by (lane) (sluice_queue_depth",
                     "sum by (lane) (sluice_queue_depth")
        self.assertFailsWith(queries.gauges(self.collect()),
                             "deploy/prometheus/rules/sluice.yml SluiceQueueBacklog: sluice_queue_depth aggregated with sum")

    def test_a_wrong_metric_name(self):
        self.replace("deploy/prometheus/rules/sluice.yml", "sluice_http_requests_total{status",
                     "sluice_http_request_total{status")
        result = queries.metric_names(self.collect(), self.root)
        self.assertEqual(result.problems, ["sluice_http_request_total: not exported by sluice"])

    def test_a_missing_scaling_query(self):
        docs = keda_docs()
        find(docs, "ScaledObject", "sluice-worker")["spec"]["triggers"].pop()
        _, missing = queries.scaling_rules(self.collect(docs))
        self.assertEqual(missing.deploy_lines(), [
            "FAIL promql: scaling queries found: want adapter, keda backlog and keda retries-scheduled; "
            "got ['sluice_check:adapter_backlog', 'sluice_check:keda_backlog']"])

    @unittest.skipUnless(shutil.which("promtool"), "promtool (Debian package prometheus)")
    def test_promtool_reads_the_scaling_rules(self):
        rules, _ = queries.scaling_rules(self.collect())
        with tempfile.TemporaryDirectory() as out:
            queries.write_rules(rules, out)
            r = subprocess.run(["promtool", "check", "rules", f"{out}/queue-depth.rules.yaml"],
                               capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


class Adapter(TreeCase):
    def test_config_and_helm_values_agree(self):
        result = queries.adapter(overlay_docs(), self.root)
        self.assertPasses(result)
        self.assertEqual(result.detail, "sluice_worker_backlog from config.yaml = helm-values.yaml")

    def test_config_changed_without_the_helm_values(self):
        self.replace(ADAPTER, 'state=~"pending|inflight"', 'state="pending"')
        self.assertFailsWith(queries.adapter(overlay_docs(), self.root),
                             "prometheus-adapter/config.yaml externalRules differ from helm-values.yaml rules.external")

    def test_the_hpa_reads_a_metric_no_rule_produces(self):
        docs = overlay_docs()
        hpa = find(docs, "HorizontalPodAutoscaler", "sluice-worker")
        hpa["spec"]["metrics"][0]["external"]["metric"]["name"] = "sluice_backlog"
        self.assertFailsWith(queries.adapter(docs, self.root),
                             "the HPA reads External metric sluice_backlog, which no adapter rule produces")

    def test_a_rule_without_label_matchers(self):
        self.replace(ADAPTER, "{<<.LabelMatchers>>,", "{")
        self.assertFailsWith(queries.adapter(overlay_docs(), self.root),
                             "rule sluice_worker_backlog: metricsQuery must use <<.LabelMatchers>> (namespace)")


if __name__ == "__main__":
    unittest.main()
