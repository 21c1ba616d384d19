"""`python3 -m checks.alerts check WORK`: check-alerts' static checks, one `ok   NAME (...)` or
`FAIL NAME (...)` line each, printed as they are made (WORK: a scratch directory).
`python3 -m checks.alerts update WORK`: regenerate the PrometheusRule from the rules files."""
import os
import sys

from checks.alerts import dashboards, queries, rules
from checks.files import ROOT, rel
from checks.report import print_alerts


def checks(root, workdir):
    yield rules.metadata(root)
    yield rules.coverage(root)
    yield from rules.promrule(root)
    found = [(f"rule {a['alert']}", str(a["expr"])) for a in rules.alerts(root)]
    yield from dashboards.dashboards(root, found)
    yield from dashboards.provisioning(root, found)
    yield queries.parse(found, workdir)
    yield queries.gauges(found)
    yield queries.metric_names(found, root)


def main(argv):
    mode, workdir = argv[0], argv[1]
    if mode == "update":
        print(f"wrote {rel(rules.update(ROOT), ROOT)}")
        return 0
    # The script counts the FAIL lines; a non-zero exit would read as a crash.
    for result in checks(ROOT, os.path.abspath(workdir)):
        print_alerts([result])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
