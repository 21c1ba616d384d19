"""One check's outcome, and the two line formats the scripts count (`ok   ...` / `FAIL ...`)."""
from dataclasses import dataclass, field

# check-deploy shows at most this many problem lines under a FAIL.
MAX_LINES = 40


@dataclass
class Result:
    """A named check: it passed when `problems` is empty.

    `detail` says what a pass established; `headline`, when set, replaces the default summary of
    a failure (check-deploy: "N problem(s)" with the problems below; check-alerts: the problems
    joined with "; ").
    """

    name: str
    problems: list = field(default_factory=list)
    detail: str = ""
    headline: str = ""

    @property
    def passed(self):
        return not self.problems

    def deploy_lines(self):
        """check-deploy's format: `ok   NAME: detail`, or `FAIL NAME: summary` and the problems
        indented below it."""
        if self.passed:
            return [f"ok   {self.name}" + (f": {self.detail}" if self.detail else "")]
        if self.headline:
            return [f"FAIL {self.name}: {self.headline}"]
        return [f"FAIL {self.name}: {len(self.problems)} problem(s)"] + [
            f"       {p}" for p in self.problems[:MAX_LINES]
        ]

    def alerts_line(self):
        """check-alerts' format: `ok   NAME (detail)` or `FAIL NAME (what is wrong)`."""
        text = self.detail if self.passed else (self.headline or "; ".join(self.problems))
        return ("ok   " if self.passed else "FAIL ") + self.name + (f" ({text})" if text else "")


def print_deploy(results):
    for r in results:
        print("\n".join(r.deploy_lines()))
    return all(r.passed for r in results)


def print_alerts(results):
    for r in results:
        print(r.alerts_line())
    return all(r.passed for r in results)
