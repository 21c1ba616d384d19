"""scripts/check-deploy's structural checks, by what they judge.

    objects.py    a rendered overlay indexed by kind, and the settings' names the checks read
    render.py     splitting a render into built-in and custom objects; custom resources against
                  deploy/k8s/schemas/; the example Secret
    workloads.py  namespace, pod security, admin listener and probes, grace periods and secrets
    scaling.py    autoscalers, disruption budgets, the Postgres connection budget
    queries.py    PromQL under deploy/: global gauges under max, the scaling queries as rules
                  for promtool, the prometheus-adapter config, metric names exported
    compose.py    deploy/compose/: services, wiring, nginx upstream, Prometheus targets
    image.py      the Dockerfile's shape and .dockerignore's build context
    __main__.py   `python3 -m checks.deploy CMD ARGS`, one command per call from the script
"""
