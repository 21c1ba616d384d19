"""The checks behind scripts/check-deploy and scripts/check-alerts, as modules with unit tests.

Layout:
    report.py   Result (one check's outcome) and the two line formats the scripts print
    files.py    reading YAML documents and naming files relative to the repository
    promql.py   PromQL text helpers both scripts share (aggregators, metric names)
    netpol.py   the NetworkPolicy check of a rendered overlay, with its self-test
    deploy/     check-deploy's structural checks: `python3 -m checks.deploy CMD ARGS`
    alerts/     check-alerts' static checks: `python3 -m checks.alerts check|update WORK`
    tests/      `python3 -m unittest discover -s scripts/checks/tests -t scripts`

The bash scripts install tools, render manifests and run promtool, nginx and the binaries; every
judgement of a file's content is made here, where a test can feed it a good and a broken input.
"""
