"""The entry points the scripts call (`python3 -m checks.deploy|alerts|netpol`): their lines,
their exit codes, and a crash reported as a FAIL line rather than a bare traceback."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from checks.report import Result
from checks.tests.support import FIXTURES, TreeCase, fill

SCRIPTS = os.path.abspath(os.path.join(FIXTURES, "..", "..", ".."))


def run(root, *args):
    env = dict(os.environ, ROOT=root, PYTHONPATH=SCRIPTS)
    r = subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, env=env, cwd=root)
    return r.returncode, r.stdout.splitlines(), r.stderr


class Deploy(TreeCase):
    def overlay_file(self):
        with open(os.path.join(FIXTURES, "overlay.yaml")) as f:
            self.write("render-base.yaml", fill(f.read()))
        return self.path("render-base.yaml")

    def test_invariants_prints_one_line_per_check(self):
        rc, lines, err = run(self.root, "checks.deploy", "invariants", "base", self.overlay_file())
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual([ln.split(":")[1].strip() for ln in lines],
                         ["namespace", "ingress", "alerts", "pod security and resources", "admin listener and probes",
                          "shutdown grace, worker identity, secrets", "autoscaling", "disruption budgets",
                          "postgres connection budget", "no deprecated setting names"])
        self.assertTrue(all(ln.startswith("ok   base: ") for ln in lines), lines)

    def test_netpol_prints_the_check_and_its_self_test(self):
        rc, lines, _ = run(self.root, "checks.deploy", "netpol", "base", self.overlay_file(), "ingress-nginx", "monitoring")
        self.assertEqual(rc, 0)
        self.assertEqual(len(lines), 2)
        self.assertTrue(lines[0].startswith("ok   base: network policies: http from ingress-nginx only"), lines)
        self.assertTrue(lines[1].startswith("ok   base: network policy checker self-test: "), lines)

    def test_a_failed_check_exits_zero_and_says_fail(self):
        self.replace("deploy/compose/compose.yaml", "stop_grace_period: 45s", "stop_grace_period: 20s")
        rc, lines, _ = run(self.root, "checks.deploy", "compose")
        self.assertEqual(rc, 0)  # the script counts FAIL lines; exit 1 means "could not check"
        self.assertEqual(lines[0], "FAIL compose: services and wiring: 5 problem(s)")
        self.assertTrue(lines[1].startswith("       api-1: stop_grace_period 20s must exceed "), lines)

    def test_an_unreadable_file_is_a_fail_line_and_exit_1(self):
        os.remove(self.path("deploy/compose/compose.yaml"))
        rc, lines, _ = run(self.root, "checks.deploy", "compose")
        self.assertEqual(rc, 1)
        self.assertTrue(lines[0].startswith("FAIL compose: could not check: FileNotFoundError: "), lines)

    def test_lines_before_a_crash_are_kept(self):
        os.remove(self.path("Cargo.toml"))
        rc, lines, _ = run(self.root, "checks.deploy", "docker")
        self.assertEqual(rc, 1)
        self.assertTrue(lines[0].startswith("ok   Dockerfile: multi-stage"), lines)
        self.assertTrue(lines[1].startswith("FAIL docker: could not check: "), lines)


class Netpol(TreeCase):
    def test_the_module_alone_exits_1_on_a_gap(self):
        with open(os.path.join(FIXTURES, "overlay.yaml")) as f:
            text = fill(f.read())
        self.write("render.yaml", text)
        self.assertEqual(run(self.root, "checks.netpol", self.path("render.yaml"))[0], 0)
        self.write("render.yaml", text.replace("kubernetes.io/metadata.name: monitoring",
                                               "kubernetes.io/metadata.name: default"))
        rc, lines, _ = run(self.root, "checks.netpol", self.path("render.yaml"), "--name", "base")
        self.assertEqual(rc, 1)
        self.assertEqual(lines[0], "FAIL base: network policies: 2 problem(s)")


@unittest.skipUnless(shutil.which("promtool"), "promtool (Debian package prometheus)")
class Alerts(TreeCase):
    def test_update_then_check(self):
        with tempfile.TemporaryDirectory() as work:
            rc, lines, _ = run(self.root, "checks.alerts", "update", work)
            self.assertEqual((rc, lines), (0, ["wrote deploy/k8s/components/alerts/prometheusrule.yaml"]))
            rc, lines, err = run(self.root, "checks.alerts", "check", work)
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(len(lines), 11)
        self.assertEqual([ln for ln in lines if not ln.startswith("ok   ")], [])


class Report(unittest.TestCase):
    def test_deploy_shows_at_most_40_problems(self):
        lines = Result("many", [f"p{i}" for i in range(50)]).deploy_lines()
        self.assertEqual(lines[0], "FAIL many: 50 problem(s)")
        self.assertEqual(len(lines), 41)

    def test_alerts_joins_problems(self):
        self.assertEqual(Result("x", ["a", "b"]).alerts_line(), "FAIL x (a; b)")
        self.assertEqual(Result("x", [], "3 names").alerts_line(), "ok   x (3 names)")


if __name__ == "__main__":
    unittest.main()
