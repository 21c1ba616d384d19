"""scripts/check-deploy's structural checks, by what they judge.

    objects.py    a rendered overlay indexed by kind, and the settings' names the checks read
    render.py     splitting a render into built-in and custom objects; custom resources against
                  deploy/k8s/schemas/; the example Secret
    workloads.py  namespace, pod security, admin listener and probes, grace periods and secrets
    production.py what production overlays add: the webhook Ingress (cert-manager TLS, webhook
                  paths only) and the alerts, runbook links absolute from one base URL
    scaling.py    autoscalers, disruption budgets, the Postgres connection budget
    queries.py    PromQL under deploy/: global gauges under max, the scaling queries as rules
                  for promtool, the prometheus-adapter config, metric names exported
    compose.py    deploy/compose/: services, wiring, nginx upstream, Prometheus targets
    compose_stack.py  deploy/compose/ as a stack: healthchecks, depends_on conditions, alerting
                  and Grafana provisioning; `docker compose config` on it and on broken copies
    image.py      the Dockerfile's shape and .dockerignore's build context
    __main__.py   `python3 -m checks.deploy CMD ARGS`, one command per call from the script
"""
