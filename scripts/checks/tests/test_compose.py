"""checks.deploy.compose on the fixture repository's deploy/compose/."""
import unittest

from checks.deploy import compose
from checks.deploy.objects import ADMIN_ADDR, AUTO_MIGRATE, SHUTDOWN_GRACE
from checks.tests.support import TreeCase

COMPOSE = "deploy/compose/compose.yaml"


class Compose(TreeCase):
    def test_the_fixture_passes(self):
        result = compose.check(self.root)
        self.assertPasses(result)
        self.assertEqual(result.detail, "3 api behind nginx, 2 workers, migrate first, AOF Redis, "
                                        "Prometheus scrapes 5, pools 16 <= 100 - 3")

    def test_a_missing_worker(self):
        self.replace(COMPOSE, "  worker-2: *worker\n", "")
        self.assertFailsWith(compose.check(self.root),
                             "want 3 api and 2 worker services, got ['api-1', 'api-2', 'api-3'] and ['worker-1']")

    def test_stop_grace_shorter_than_the_shutdown_grace(self):
        self.replace(COMPOSE, "stop_grace_period: 45s", "stop_grace_period: 20s")
        self.assertFailsWith(compose.check(self.root), f"api-1: stop_grace_period 20s must exceed {SHUTDOWN_GRACE} 30s")

    def test_binaries_migrating_themselves(self):
        self.replace(COMPOSE, f'{AUTO_MIGRATE}: "false"', f'{AUTO_MIGRATE}: "true"')
        self.assertFailsWith(compose.check(self.root), f"worker-2: {AUTO_MIGRATE} must be false (migrate does it)")

    def test_worker_admin_on_the_api_port(self):
        self.replace(COMPOSE, f"{ADMIN_ADDR}: 0.0.0.0:9091", f"{ADMIN_ADDR}: 0.0.0.0:9090")
        result = compose.check(self.root)
        self.assertFailsWith(result, f"worker-1: {ADMIN_ADDR} must be 0.0.0.0:9091")
        self.assertFailsWith(result, "prometheus.yml targets ['api-1:9090', 'api-2:9090', 'api-3:9090', "
                                     "'worker-1:9091', 'worker-2:9091'], want ['api-1:9090', 'api-2:9090', "
                                     "'api-3:9090', 'worker-1:9090', 'worker-2:9090']")

    def test_nginx_missing_an_api(self):
        self.replace("deploy/compose/nginx.conf", "        server api-3:8080;\n", "")
        self.assertFailsWith(compose.check(self.root), "nginx.conf upstream ['api-1:8080', 'api-2:8080'], want")

    def test_redis_without_aof(self):
        self.replace(COMPOSE, '--appendonly, "yes"', '--appendonly, "no"')
        self.assertFailsWith(compose.check(self.root), "redis: AOF persistence (--appendonly yes) missing")

    def test_pools_above_max_connections(self):
        self.replace(COMPOSE, "max_connections=100", "max_connections=16")
        self.assertFailsWith(compose.check(self.root), "pools add up to 16 > max_connections 16 - 3")

    def test_a_missing_bind_mount(self):
        self.replace(COMPOSE, "./nginx.conf:/etc/nginx", "./nginx-main.conf:/etc/nginx")
        self.assertFailsWith(compose.check(self.root), "nginx: bind mount source ./nginx-main.conf does not exist")


if __name__ == "__main__":
    unittest.main()
