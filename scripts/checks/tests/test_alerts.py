"""checks.alerts: rules metadata and coverage, the PrometheusRule, dashboards and provisioning,
and the collected queries (parse, global gauges, metric names) on the fixture repository."""
import shutil
import unittest

from checks.alerts import dashboards, queries, rules
from checks.alerts.__main__ import checks
from checks.tests.support import TreeCase

RULES = "deploy/prometheus/rules/sluice.yml"
TESTS = "deploy/prometheus/tests/sluice.test.yml"
DASHBOARD = "deploy/grafana/dashboards/sluice.json"


class Rules(TreeCase):
    def test_the_fixture_passes(self):
        self.assertPasses(rules.metadata(self.root))
        self.assertPasses(rules.coverage(self.root))
        self.assertEqual(rules.metadata(self.root).alerts_line(),
                         "ok   alerts: severity, summary, description, runbook_url for 2 alerts")

    def test_a_runbook_link_to_no_heading(self):
        self.replace(RULES, "docs/runbook.md#sluicequeuebacklog", "docs/runbook.md#queue-backlog")
        self.assertEqual(rules.metadata(self.root).alerts_line(),
                         "FAIL alerts: severity, summary, description, runbook_url for 2 alerts "
                         "(SluiceQueueBacklog: runbook_url 'docs/runbook.md#queue-backlog' names no heading "
                         "of docs/runbook.md)")

    def test_no_severity_no_summary(self):
        self.replace(RULES, "          severity: critical\n", "          team: sluice\n")
        self.replace(RULES, '          summary: "sluice answers', '          headline: "sluice answers')
        result = rules.metadata(self.root)
        self.assertFailsWith(result, "SluiceWebhook5xxRatioHigh: labels.severity missing or unknown")
        self.assertFailsWith(result, "SluiceWebhook5xxRatioHigh: annotations.summary missing")

    def test_an_alert_never_shown_quiet(self):
        self.replace(TESTS, "      - eval_time: 2m\n        alertname: SluiceWebhook5xxRatioHigh\n"
                            "        exp_alerts: []\n", "")
        self.assertEqual(rules.coverage(self.root).problems, ["SluiceWebhook5xxRatioHigh never quiet"])

    def test_the_prometheusrule_follows_the_rules_file(self):
        rules.update(self.root)
        self.assertEqual([r.alerts_line() for r in rules.promrule(self.root)],
                         ["ok   PrometheusRule matches deploy/prometheus/rules",
                          "ok   alerts kustomize Component lists prometheusrule.yaml"])
        self.replace(RULES, "> 50", "> 60")
        self.assertEqual(rules.promrule(self.root)[0].alerts_line(),
                         "FAIL PrometheusRule matches deploy/prometheus/rules "
                         "(differs: run scripts/check-alerts --update)")

    def test_no_prometheusrule_at_all(self):
        result = rules.promrule(self.root)
        self.assertEqual(len(result), 1)
        self.assertFailsWith(result[0], "No such file or directory")


class Grafana(TreeCase):
    def collect(self):
        found = []
        results = list(dashboards.dashboards(self.root, found)) + list(dashboards.provisioning(self.root, found))
        return results, found

    def test_the_fixture_passes(self):
        results, found = self.collect()
        for r in results:
            self.assertPasses(r)
        self.assertEqual(results[0].name, "deploy/grafana/dashboards/sluice.json: valid dashboard "
                                          "(uid sluice-overview, 7 panels, rows ingress, queue, workers, database, capacity)")
        self.assertEqual([w for w, _ in found], ["panel 'Requests' A", "panel 'Requests' B", "panel 'Depth' A",
                                                 "variable namespace", "variable lane", "variable bot",
                                                 "grafana alert sluice-queue-depth A"])

    def test_a_panel_mixing_namespaces(self):
        self.replace(DASHBOARD, 'sluice_http_requests_total{namespace=\\"$namespace\\"}', "sluice_http_requests_total")
        self.assertFailsWith(self.collect()[0][0],
                             "panel 'Requests' A: sluice_http_requests_total not filtered by namespace=\"$namespace\"")

    def test_a_variable_mixing_namespaces(self):
        self.replace(DASHBOARD, 'sluice_queue_depth{namespace=\\"$namespace\\"}, lane', "sluice_queue_depth, lane")
        self.assertFailsWith(self.collect()[0][0], "variable lane reads sluice_queue_depth of every namespace")

    def test_a_namespace_variable_that_selects_all(self):
        self.replace(DASHBOARD, '"name": "namespace",', '"name": "namespace", "includeAll": true,')
        self.assertFailsWith(self.collect()[0][0], "the namespace variable must select one namespace")

    def test_no_namespace_variable(self):
        self.replace(DASHBOARD, '"name": "namespace",', '"name": "ns",')
        self.assertFailsWith(self.collect()[0][0], "no namespace variable")

    def test_the_bot_variable_reading_the_scheme(self):
        self.replace(DASHBOARD, 'sluice_webhook_updates_total{namespace=\\"$namespace\\"}, bot',
                     'sluice_hook_deliveries_total{namespace=\\"$namespace\\"}, scheme')
        self.assertFailsWith(self.collect()[0][0], "the bot variable must read the bot label of a metric the code "
                                                   "labels by bot (sluice_webhook_updates_total), not scheme of "
                                                   "sluice_hook_deliveries_total")

    def test_the_bot_variable_on_a_metric_without_a_bot_label(self):
        self.replace(DASHBOARD, 'label_values(sluice_webhook_updates_total{', 'label_values(sluice_http_requests_total{')
        self.assertFailsWith(self.collect()[0][0], "not bot of sluice_http_requests_total")

    def test_the_code_dropping_the_bot_label(self):
        self.replace("api/src/telegram.rs", ", m::LABEL_BOT => bot)", ")")
        self.assertFailsWith(self.collect()[0][0], "labels by bot (none), not bot of sluice_webhook_updates_total")

    def test_a_bot_variable_no_panel_uses(self):
        self.replace(DASHBOARD, 'bot=~\\"$bot\\", ', "")
        self.assertFailsWith(self.collect()[0][0], "no panel uses the bot variable")

    def test_a_missing_row_and_a_fixed_datasource(self):
        self.replace(DASHBOARD, '"title": "Capacity"', '"title": "Limits"')
        self.replace(DASHBOARD, '"uid": "${datasource}"', '"uid": "prometheus"')
        result = self.collect()[0][0]
        self.assertFailsWith(result, "no capacity row")
        self.assertFailsWith(result, "panel 'Requests' does not use the datasource variable")

    def test_broken_json(self):
        self.replace(DASHBOARD, '"uid": "sluice-overview",', '"uid": "sluice-overview"')
        result = self.collect()[0][0]
        self.assertEqual(result.name, "deploy/grafana/dashboards/sluice.json: valid JSON")
        self.assertFailsWith(result, "Expecting ',' delimiter")

    def test_provisioning_without_an_api_version(self):
        self.replace("deploy/grafana/provisioning/datasources/prometheus.yaml", "apiVersion: 1\n", "")
        bad = [r for r in self.collect()[0] if not r.passed]
        self.assertEqual([r.name for r in bad],
                         ["deploy/grafana/provisioning/datasources/prometheus.yaml: Grafana provisioning YAML"])


class Queries(TreeCase):
    def found(self):
        return [(n, q) for n, q in _queries(self.root)]

    @unittest.skipUnless(shutil.which("promtool"), "promtool (Debian package prometheus)")
    def test_every_query_parses(self):
        self.assertPasses(queries.parse(self.found(), self.root))

    @unittest.skipUnless(shutil.which("promtool"), "promtool (Debian package prometheus)")
    def test_an_alert_with_a_bad_expr(self):
        self.replace(RULES, 'expr: max by (lane) (sluice_queue_depth{state="pending"}) > 50',
                     'expr: max by (lane) (sluice_queue_depth{state="pending"} > 50')
        result = queries.parse(self.found(), self.root)
        self.assertFalse(result.passed)
        self.assertIn("| rule SluiceQueueBacklog", result.problems[0])

    def test_grafana_variables_are_substituted(self):
        self.assertEqual(queries.substitute('rate(x{bot=~"$bot",lane=~"${lane}"}[$__rate_interval])'),
                         'rate(x{bot=~".*",lane=~".*"}[1m])')

    def test_a_panel_summing_the_queue_depth(self):
        self.replace(DASHBOARD, '"max by (lane) (sluice_queue_depth', '"sum by (lane) (sluice_queue_depth')
        self.assertEqual(queries.gauges(self.found()).problems, ["panel 'Depth' A: sluice_queue_depth not under max"])

    def test_the_ordering_gauges_are_global_and_the_waiting_one_is_not(self):
        found = [("panel 'Held' A", 'sum(sluice_order_keys_held{namespace="$namespace"})'),
                 ("panel 'Held' B", 'max(sluice_order_parked{namespace="$namespace"})'),
                 ("panel 'Held' C", 'sum(sluice_order_waiting{namespace="$namespace"})'),
                 ("rule SluiceOrderHoldTooLong",
                  "sum(sluice_order_oldest_hold_seconds) > max(sluice_order_max_hold_seconds)")]
        self.assertEqual(queries.gauges(found).problems,
                         ["panel 'Held' A: sluice_order_keys_held not under max",
                          "rule SluiceOrderHoldTooLong: sluice_order_oldest_hold_seconds not under max"])

    def test_a_wrong_metric_name(self):
        self.replace(DASHBOARD, "sluice_http_requests_total{namespace", "sluice_http_requests{namespace")
        result = queries.metric_names(self.found(), self.root)
        self.assertEqual(result.alerts_line(), "FAIL metric names used in rules and dashboard are exported "
                                               "(4 names; unknown: sluice_http_requests)")

    def test_a_pending_name_passes_until_the_code_has_it(self):
        self.replace(DASHBOARD, "sluice_http_requests_total{namespace", "sluice_admission_total{namespace")
        result = queries.metric_names(self.found(), self.root)
        self.assertPasses(result)
        self.assertIn("pending merge (not in the code yet): sluice_admission_total", result.detail)
        self.write("api/src/admission.rs", 'const N: &str = "sluice_admission_total";\n')
        self.assertEqual(queries.metric_names(self.found(), self.root).problems, ["sluice_admission_total"])


def _queries(root):
    """The queries `python3 -m checks.alerts check` collects, in its order."""
    found = [(f"rule {a['alert']}", str(a["expr"])) for a in rules.alerts(root)]
    list(dashboards.dashboards(root, found))
    list(dashboards.provisioning(root, found))
    return found


class Everything(TreeCase):
    @unittest.skipUnless(shutil.which("promtool"), "promtool (Debian package prometheus)")
    def test_all_checks_pass_on_the_fixture(self):
        rules.update(self.root)
        self.assertEqual([r.problems for r in checks(self.root, self.root) if not r.passed], [])


if __name__ == "__main__":
    unittest.main()
