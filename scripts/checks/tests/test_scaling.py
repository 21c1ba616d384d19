"""checks.deploy.scaling: one autoscaler per Deployment, PDBs, the Postgres connection budget."""
import unittest

from checks.deploy import scaling
from checks.deploy.objects import DB_BUDGET, MAX_REPLICAS, POOL_MAX
from checks.tests.support import (
    CheckCase, configmap, find, fixture_docs, keda_docs, overlay, overlay_docs, set_env,
)


class GoodOverlays(CheckCase):
    def test_hpas_pass(self):
        ov = overlay()
        for check in (scaling.autoscaling, scaling.disruption_budgets, scaling.connection_budget):
            self.assertPasses(check(ov))

    def test_the_keda_scaledobject_passes(self):
        result = scaling.autoscaling(overlay(docs=keda_docs()))
        self.assertPasses(result)
        self.assertIn("sluice-worker 0-10 (ScaledObject)", result.detail)

    def test_the_budget_line_shows_the_arithmetic(self):
        self.assertEqual(scaling.connection_budget(overlay()).detail,
                         f"api 13x2 + worker 11x5 = 81 <= 85 at (max + surge) replicas, {DB_BUDGET}=warn")


class BrokenAutoscaling(CheckCase):
    def setUp(self):
        self.docs = overlay_docs()

    def test_max_replicas_setting_disagrees_with_the_hpa(self):
        set_env(self.docs, "sluice-api", MAX_REPLICAS, "20")
        self.assertFailsWith(scaling.autoscaling(overlay(docs=self.docs)),
                             f"sluice-api: {MAX_REPLICAS}='20' but the HPA maximum is 12")

    def test_hpa_and_scaledobject_on_one_deployment(self):
        docs = self.docs + fixture_docs("scaledobject.yaml")
        self.assertFailsWith(scaling.autoscaling(overlay(docs=docs)),
                             "sluice-worker: 1 HPA(s) and 1 ScaledObject(s); want exactly one autoscaler")

    def test_worker_hpa_on_a_misspelt_metric(self):
        hpa = find(self.docs, "HorizontalPodAutoscaler", "sluice-worker")
        hpa["spec"]["metrics"][0]["external"]["metric"]["name"] = "sluice_worker_backlogs"
        self.assertFailsWith(scaling.autoscaling(overlay(docs=self.docs)),
                             "sluice-worker HPA: want one External metric sluice_worker_backlog")

    def test_worker_scaling_down_too_fast(self):
        hpa = find(self.docs, "HorizontalPodAutoscaler", "sluice-worker")
        hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] = 60
        self.assertFailsWith(scaling.autoscaling(overlay(docs=self.docs)),
                             "sluice-worker HPA: behavior.scaleDown.stabilizationWindowSeconds must be 300")

    def test_scaledobject_query_without_the_namespace(self):
        docs = keda_docs()
        so = find(docs, "ScaledObject", "sluice-worker")
        so["spec"]["triggers"][0]["metadata"]["query"] = "sum(max by (lane, state) (sluice_queue_depth))"
        self.assertFailsWith(scaling.autoscaling(overlay(docs=docs)),
                             'ScaledObject trigger backlog: query must filter namespace="sluice"')

    def test_api_without_a_cpu_target(self):
        find(self.docs, "HorizontalPodAutoscaler", "sluice-api")["spec"]["metrics"][0]["resource"]["name"] = "memory"
        self.assertFailsWith(scaling.autoscaling(overlay(docs=self.docs)), "sluice-api HPA: want a CPU Resource metric")

    def test_staging_out_of_its_range(self):
        self.assertPasses(scaling.autoscaling(overlay("staging", self.docs)))
        find(self.docs, "HorizontalPodAutoscaler", "sluice-worker")["spec"]["maxReplicas"] = 12
        set_env(self.docs, "sluice-worker", MAX_REPLICAS, "12")
        self.assertFailsWith(scaling.autoscaling(overlay("staging", self.docs)),
                             "sluice-worker: staging range is 2-12, want 2-10")


class BrokenBudgets(CheckCase):
    def setUp(self):
        self.docs = overlay_docs()

    def test_no_pdb_for_the_worker(self):
        self.docs.remove(find(self.docs, "PodDisruptionBudget", "sluice-worker"))
        self.assertFailsWith(scaling.disruption_budgets(overlay(docs=self.docs)),
                             "sluice-worker: no PodDisruptionBudget selects its pods")

    def test_min_available(self):
        pdb = find(self.docs, "PodDisruptionBudget", "sluice-api")["spec"]
        del pdb["maxUnavailable"]
        pdb["minAvailable"] = 2
        self.assertFailsWith(scaling.disruption_budgets(overlay(docs=self.docs)),
                             "PDB sluice-api: use maxUnavailable")

    def test_pools_over_the_budget(self):
        set_env(self.docs, "sluice-worker", POOL_MAX, "10")
        self.assertFailsWith(scaling.connection_budget(overlay(docs=self.docs)),
                             "peak connections 136 > budget 85 (docs/deploy.md, connection budget)")

    def test_a_pool_size_not_set(self):
        set_env(self.docs, "sluice-api", POOL_MAX, None)
        self.assertFailsWith(scaling.connection_budget(overlay(docs=self.docs)), f"sluice-api: {POOL_MAX} not set")

    def test_production_must_enforce_the_budget(self):
        self.assertEqual(configmap(self.docs)[DB_BUDGET], "warn")
        self.assertFailsWith(scaling.connection_budget(overlay("production", self.docs)),
                             f"{DB_BUDGET} is ['warn'], want 'enforce'")


if __name__ == "__main__":
    unittest.main()
