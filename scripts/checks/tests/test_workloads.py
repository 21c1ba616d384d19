"""checks.deploy.workloads: namespace, pod security, admin listener and probes, grace and secrets."""
import unittest

from checks.deploy import workloads
from checks.deploy.objects import ADMIN_ADDR, SHUTDOWN_GRACE, deprecated_settings
from checks.files import REPO
from checks.tests.support import CheckCase, configmap, container, find, overlay, overlay_docs, set_env


class GoodOverlay(CheckCase):
    def test_every_workload_check_passes(self):
        ov = overlay()
        self.assertIsNone(workloads.deployments(ov))
        for check in (workloads.namespace, workloads.pod_security, workloads.admin_and_probes,
                      workloads.grace_identity_secrets):
            self.assertPasses(check(ov))

    def test_the_pass_line_names_the_overlay(self):
        self.assertEqual(workloads.namespace(overlay("staging")).deploy_lines(),
                         ["ok   staging: namespace: every object in 'sluice' (the queries filter on it)"])


class BrokenOverlay(CheckCase):
    def setUp(self):
        self.docs = overlay_docs()

    def test_an_object_outside_the_namespace(self):
        find(self.docs, "Service", "sluice-api")["metadata"]["namespace"] = "default"
        self.assertFailsWith(workloads.namespace(overlay(docs=self.docs)),
                             "Service/sluice-api: namespace 'default', want 'sluice'")

    def test_a_missing_deployment_stops_the_rest(self):
        self.docs.remove(find(self.docs, "Deployment", "sluice-worker"))
        result = workloads.deployments(overlay(docs=self.docs))
        self.assertEqual(result.deploy_lines(),
                         ["FAIL base: deployments: want sluice-api and sluice-worker, got ['sluice-api']"])

    def test_root_and_writable_and_unpinned(self):
        pod = find(self.docs, "Deployment", "sluice-api")["spec"]["template"]["spec"]
        del pod["securityContext"]["runAsNonRoot"]
        pod["containers"][0]["securityContext"]["readOnlyRootFilesystem"] = False
        pod["containers"][0]["image"] = "registry.example.com/sluice:latest"
        result = workloads.pod_security(overlay(docs=self.docs))
        self.assertFailsWith(result, "sluice-api: pod securityContext needs runAsNonRoot: true")
        self.assertFailsWith(result, "sluice-api/api: readOnlyRootFilesystem must be true")
        self.assertFailsWith(result, "sluice-api/api: image 'registry.example.com/sluice:latest' needs a pinned tag")
        self.assertEqual(result.deploy_lines()[0], "FAIL base: pod security and resources: 3 problem(s)")

    def test_missing_limits_and_a_fixed_replica_count(self):
        d = find(self.docs, "Deployment", "sluice-worker")
        d["spec"]["replicas"] = 3
        del container(self.docs, "sluice-worker")["resources"]["limits"]["memory"]
        result = workloads.pod_security(overlay(docs=self.docs))
        self.assertFailsWith(result, "sluice-worker/worker: resources.limits.memory missing")
        self.assertFailsWith(result, "sluice-worker: spec.replicas set, but the autoscaler owns the count")

    def test_admin_listener_on_loopback(self):
        set_env(self.docs, "sluice-worker", ADMIN_ADDR, "127.0.0.1:9091")
        self.assertFailsWith(workloads.admin_and_probes(overlay(docs=self.docs)),
                             f"sluice-worker: {ADMIN_ADDR}='127.0.0.1:9091', want '0.0.0.0:9091'")

    def test_no_startup_probe(self):
        del container(self.docs, "sluice-worker")["startupProbe"]
        self.assertFailsWith(workloads.admin_and_probes(overlay(docs=self.docs)),
                             "sluice-worker: startupProbe must be GET /healthz on the admin port")

    def test_a_startup_probe_too_short_for_migrations(self):
        container(self.docs, "sluice-api")["startupProbe"]["failureThreshold"] = 6
        self.assertFailsWith(workloads.admin_and_probes(overlay(docs=self.docs)),
                             "sluice-api: startupProbe allows 30 s (periodSeconds x failureThreshold), want >= 120 s")

    def test_a_probe_on_the_webhook_port(self):
        container(self.docs, "sluice-api")["readinessProbe"]["httpGet"]["port"] = "http"
        self.assertFailsWith(workloads.admin_and_probes(overlay(docs=self.docs)),
                             "sluice-api: readinessProbe must be GET /readyz on the admin port")

    def test_a_service_exposing_the_admin_port(self):
        find(self.docs, "Service", "sluice-api")["spec"]["ports"][0]["targetPort"] = "admin"
        self.assertFailsWith(workloads.admin_and_probes(overlay(docs=self.docs)),
                             "Service/sluice-api: exposes the admin port")

    def test_a_missing_grace_setting(self):
        del configmap(self.docs)[SHUTDOWN_GRACE]
        result = workloads.grace_identity_secrets(overlay(docs=self.docs))
        self.assertFailsWith(result, f"sluice-api: {SHUTDOWN_GRACE} must be set, as a duration with a unit (30s)")
        self.assertFailsWith(result, f"sluice-worker: {SHUTDOWN_GRACE} must be set, as a duration with a unit (30s)")

    def test_a_grace_longer_than_kubernetes_waits(self):
        configmap(self.docs)[SHUTDOWN_GRACE] = "40s"
        self.assertFailsWith(workloads.grace_identity_secrets(overlay(docs=self.docs)),
                             f"sluice-api: terminationGracePeriodSeconds 45 <= preStop 5 + {SHUTDOWN_GRACE} 40s")

    def test_a_bare_number_grace(self):
        configmap(self.docs)[SHUTDOWN_GRACE] = "30"
        self.assertFailsWith(workloads.grace_identity_secrets(overlay(docs=self.docs)),
                             f"sluice-api: {SHUTDOWN_GRACE} must be set, as a duration with a unit (30s)")

    def test_a_deprecated_name(self):
        configmap(self.docs)["SLUICE_SHUTDOWN_GRACE_S"] = "30"
        old = deprecated_settings(REPO)
        self.assertFailsWith(workloads.no_deprecated_names(overlay(docs=self.docs), old),
                             "SLUICE_SHUTDOWN_GRACE_S is deprecated, set SLUICE_SHUTDOWN_GRACE")

    def test_credentials_in_plain_text_or_the_configmap(self):
        set_env(self.docs, "sluice-api", "DATABASE_URL", "postgres://sluice:secret@db/sluice")
        configmap(self.docs)["REDIS_URL"] = "redis://redis:6379"
        result = workloads.grace_identity_secrets(overlay(docs=self.docs))
        self.assertFailsWith(result, "sluice-api: DATABASE_URL must come from Secret sluice-secrets, key DATABASE_URL")
        self.assertFailsWith(result, "ConfigMap sluice-config-c7hh99b6k9: REDIS_URL does not belong in the shared ConfigMap")

    def test_worker_without_its_pod_name(self):
        set_env(self.docs, "sluice-worker", "POD_NAME", "worker")
        self.assertFailsWith(workloads.grace_identity_secrets(overlay(docs=self.docs)),
                             "sluice-worker: POD_NAME must come from the downward API (metadata.name)")


if __name__ == "__main__":
    unittest.main()
