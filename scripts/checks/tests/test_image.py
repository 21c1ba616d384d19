"""checks.deploy.image: the Dockerfile's stages and the .dockerignore build context."""
import os
import unittest

from checks.deploy import image
from checks.tests.support import FIXTURES, CheckCase

# Tracked files of a small workspace with members api and worker.
FILES = ["Cargo.toml", "Cargo.lock", "Dockerfile", ".dockerignore", "README.md",
         "api/Cargo.toml", "api/src/main.rs", "api/tests/it.rs", "worker/Cargo.toml", "worker/src/main.rs",
         "migrations/0001_init.sql", "docs/deploy.md"]
MEMBERS = ["api", "worker"]


def fixture(name):
    with open(os.path.join(FIXTURES, "tree", name)) as f:
        return f.read()


class Dockerfile(CheckCase):
    def test_the_fixture_passes(self):
        result = image.dockerfile(fixture("Dockerfile"))
        self.assertPasses(result)
        self.assertEqual(result.detail, "rust:1-bookworm -> gcr.io/distroless/cc-debian12:nonroot, USER 65532:65532")

    def test_running_as_root(self):
        self.assertFailsWith(image.dockerfile(fixture("Dockerfile").replace("USER 65532:65532", "USER root")),
                             "runtime stage must end as a numeric non-root USER")

    def test_the_worker_left_out(self):
        text = fixture("Dockerfile").replace("/out/sluice-api /out/sluice-worker /usr", "/out/sluice-api /usr")
        self.assertFailsWith(image.dockerfile(text), "runtime stage does not copy sluice-worker")

    def test_a_debug_build(self):
        text = fixture("Dockerfile").replace("cargo build --release --locked", "cargo build --locked")
        self.assertFailsWith(image.dockerfile(text),
                             "cargo build --release --locked -p sluice-api -p sluice-worker expected")


class Dockerignore(CheckCase):
    def test_the_fixture_passes(self):
        result = image.dockerignore(fixture(".dockerignore").splitlines(), FILES, MEMBERS)
        self.assertPasses(result)
        self.assertEqual(result.detail, "8 of 12 tracked files in the context, members api, worker")

    def test_the_matcher(self):
        excluded = image.dockerignore_matcher(["*", "!api/", "**/target/", "!keep.log", "*.log"])
        self.assertTrue(excluded("docs/deploy.md"))
        self.assertFalse(excluded("api/src/main.rs"))
        self.assertTrue(excluded("api/target/debug/x"))
        self.assertTrue(excluded("keep.log"))  # the last matching pattern wins

    def test_a_member_not_let_in(self):
        lines = [ln for ln in fixture(".dockerignore").splitlines() if ln != "!worker/"]
        result = image.dockerignore(lines, FILES, MEMBERS)
        self.assertFailsWith(result, "worker/src/main.rs is excluded from the build context, but cargo needs it")

    def test_a_member_without_a_manifest(self):
        files = [f for f in FILES if f != "worker/Cargo.toml"]
        self.assertFailsWith(image.dockerignore(fixture(".dockerignore").splitlines(), files, MEMBERS),
                             "workspace member worker has no tracked Cargo.toml")

    def test_env_files_sent(self):
        lines = [ln for ln in fixture(".dockerignore").splitlines() if ln != "**/.env"] + ["!.env"]
        self.assertFailsWith(image.dockerignore(lines, FILES, MEMBERS), ".env would be sent to the build context")

    def test_members_from_cargo_toml(self):
        self.assertEqual(image.workspace_members(fixture("Cargo.toml")), MEMBERS)


if __name__ == "__main__":
    unittest.main()
