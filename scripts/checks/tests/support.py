"""Loading the fixtures: the good overlay with the checks' setting names filled in, and a
throwaway copy of the fixture repository that a test may break."""
import copy
import os
import shutil
import string
import tempfile
import unittest

import yaml

from checks.deploy import objects
from checks.deploy.objects import Overlay

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
# The repository these tests live in (for files the checks take as they are, e.g. the schemas).
REPO = os.path.abspath(os.path.join(FIXTURES, "..", "..", "..", ".."))
# ${NAME} in the fixtures -> the setting name checks/deploy/objects.py says the binaries read.
SETTINGS = {k: v for k, v in vars(objects).items() if k.isupper() and isinstance(v, str)}


def fill(text):
    return string.Template(text).substitute(SETTINGS)


def fixture_docs(name):
    with open(os.path.join(FIXTURES, name)) as f:
        return [d for d in yaml.safe_load_all(fill(f.read())) if d]


def overlay_docs():
    """The good rendered overlay (HPAs for both Deployments), a fresh copy each call."""
    return copy.deepcopy(fixture_docs("overlay.yaml"))


def keda_docs():
    """The good overlay with the worker HPA replaced by the ScaledObject (the keda overlay)."""
    docs = [d for d in overlay_docs()
            if not (d["kind"] == "HorizontalPodAutoscaler" and d["metadata"]["name"] == "sluice-worker")]
    return docs + fixture_docs("scaledobject.yaml")


def overlay(name="base", docs=None):
    return Overlay(name, overlay_docs() if docs is None else docs)


def find(docs, kind, name):
    return next(d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name)


def container(docs, deployment):
    return find(docs, "Deployment", deployment)["spec"]["template"]["spec"]["containers"][0]


def set_env(docs, deployment, key, value):
    """Sets (or with value None removes) a variable in the Deployment's env."""
    c = container(docs, deployment)
    c["env"] = [e for e in c["env"] if e["name"] != key]
    if value is not None:
        c["env"].append({"name": key, "value": value})


def configmap(docs):
    return next(d for d in docs if d["kind"] == "ConfigMap")["data"]


class CheckCase(unittest.TestCase):
    def assertPasses(self, result):
        self.assertEqual(result.problems, [], f"{result.name} should pass")

    def assertFailsWith(self, result, fragment):
        """The check failed, and one of its problems says `fragment`."""
        self.assertFalse(result.passed, f"{result.name} should fail")
        self.assertTrue(any(fragment in str(p) for p in result.problems),
                        f"no problem of {result.name} says {fragment!r}: {result.problems}")


class TreeCase(CheckCase):
    """A test with its own copy of fixtures/tree (setting names filled in) at self.root."""

    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="sluice-checks-")
        self.addCleanup(shutil.rmtree, self.root)
        shutil.copytree(os.path.join(FIXTURES, "tree"), self.root, dirs_exist_ok=True)
        self.edit("deploy/compose/compose.yaml", fill)

    def path(self, rel):
        return os.path.join(self.root, rel)

    def read(self, rel):
        with open(self.path(rel)) as f:
            return f.read()

    def write(self, rel, text):
        os.makedirs(os.path.dirname(self.path(rel)), exist_ok=True)
        with open(self.path(rel), "w") as f:
            f.write(text)

    def edit(self, rel, change):
        self.write(rel, change(self.read(rel)))

    def replace(self, rel, old, new):
        """Breaks a file by replacing text that must be there."""
        text = self.read(rel)
        self.assertIn(old, text, f"{rel} no longer holds {old!r}: update the test")
        self.write(rel, text.replace(old, new))
