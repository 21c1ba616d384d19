"""scripts/check-alerts' static checks, by what they judge.

    rules.py       the alert rules: labels and annotations, runbook anchors, unit-test coverage,
                   the generated PrometheusRule (and `--update`, which writes it)
    dashboards.py  the Grafana dashboard JSON and provisioning YAML; the queries both carry
    queries.py     every query parses (promtool), global gauges only under max, metric names
                   exported by shared/src/metrics.rs
    __main__.py    `python3 -m checks.alerts check|update WORK`
"""
