"""checks.deploy.render: the built-in/custom split, custom resources against the repository's
strict schemas, and the example Secret."""
import os
import tempfile
import unittest

from checks.deploy import render
from checks.files import load_all
from checks.tests.support import REPO, CheckCase, TreeCase, find, keda_docs

try:
    import jsonschema  # noqa: F401 - only in check-deploy's venv; scripts/test uses it when there
    HAVE_JSONSCHEMA = True
except ImportError:
    HAVE_JSONSCHEMA = False


class Split(CheckCase):
    def test_builtin_and_custom(self):
        self.assertTrue(render.is_builtin({"apiVersion": "v1"}))
        self.assertTrue(render.is_builtin({"apiVersion": "autoscaling/v2"}))
        self.assertTrue(render.is_builtin({"apiVersion": "networking.k8s.io/v1"}))
        self.assertFalse(render.is_builtin({"apiVersion": "keda.sh/v1alpha1"}))
        self.assertFalse(render.is_builtin({"apiVersion": "monitoring.coreos.com/v1"}))

    def test_split_writes_both_files(self):
        with tempfile.TemporaryDirectory() as out:
            render.split(keda_docs(), out)
            custom = load_all(os.path.join(out, "custom.yaml"))
            builtin = load_all(os.path.join(out, "builtin.yaml"))
        self.assertEqual([d["kind"] for d in custom], ["ScaledObject"])
        self.assertIn("Deployment", [d["kind"] for d in builtin])


@unittest.skipUnless(HAVE_JSONSCHEMA, "jsonschema is in check-deploy's venv (~/.cache/sluice/check-deploy-venv)")
class CustomResources(CheckCase):
    def test_the_scaledobject_matches_the_schema(self):
        result = render.custom_resources("keda", keda_docs(), REPO)
        self.assertPasses(result)
        self.assertEqual(result.detail, "ScaledObject/sluice-worker")

    def test_a_misspelt_field(self):
        docs = keda_docs()
        spec = find(docs, "ScaledObject", "sluice-worker")["spec"]
        spec["maxReplicas"] = spec.pop("maxReplicaCount")
        self.assertFailsWith(render.custom_resources("keda", docs, REPO),
                             "ScaledObject/sluice-worker at /spec: Additional properties are not allowed ('maxReplicas'")

    def test_a_kind_without_a_schema(self):
        docs = [{"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}]
        self.assertFailsWith(render.custom_resources("base", docs, REPO),
                             "Widget/w: no schema deploy/k8s/schemas/widget.example.com.v1.json")


class SecretExample(TreeCase):
    SECRET = "deploy/k8s/base/secret.example.yaml"

    def test_placeholders_in_no_kustomization(self):
        self.assertPasses(render.secret_example(self.root))

    def test_a_real_password(self):
        self.replace(self.SECRET, "redis://:CHANGE-ME@", "redis://:hunter2@")
        self.assertFailsWith(render.secret_example(self.root), "values must be placeholders (CHANGE-ME)")

    def test_listed_in_a_kustomization(self):
        self.replace("deploy/k8s/base/kustomization.yaml", "  - api-deployment.yaml",
                     "  - api-deployment.yaml\n  - secret.example.yaml")
        self.assertFailsWith(render.secret_example(self.root),
                             "deploy/k8s/base/kustomization.yaml lists secret.example.yaml: "
                             "apply -k would overwrite the real Secret")


if __name__ == "__main__":
    unittest.main()
