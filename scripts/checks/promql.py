"""PromQL text helpers both scripts use: which aggregation encloses a series, which metric names a
query reads, and which names shared/src/metrics.rs exports."""
import os
import re

AGGREGATORS = {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
               "bottomk", "topk", "quantile", "limitk", "limit_ratio"}

# A metric name as queries write it; `sluice_x:y` is a recording rule's name, not a metric.
_NAME = re.compile(r"\b(sluice_[a-z0-9_]+)\b(?!:)")
_EXPORTED = re.compile(r'pub const [A-Z_]+: &str = "(sluice_[a-z0-9_]+)"')


def enclosing_aggregator(q, i):
    """The first aggregation operator enclosing position i of PromQL text q (or None)."""
    depth, j = 0, i
    while j > 0:
        j -= 1
        ch = q[j]
        if ch == ")":
            depth += 1
        elif ch == "(":
            if depth:
                depth -= 1
                continue
            # q[j] opens a group enclosing i: what precedes it?
            before = q[:j].rstrip()
            m = re.search(r"(by|without)\s*\([^()]*\)\s*$", before)
            if m:  # `max by (lane) (`  -> the word before `by`
                before = before[:m.start()].rstrip()
            word = re.search(r"([a-z_]+)\s*$", before)
            if word and word.group(1) in AGGREGATORS:
                return word.group(1)
            # a function, or a plain parenthesis: keep walking outward
    return None


def gauge_aggregations(q, gauges):
    """(gauge, aggregator or None) for each place q reads one of `gauges` under anything but
    `max`: every replica exports these with the same value, so only `max` may combine them."""
    found = []
    for g in gauges:
        for m in re.finditer(re.escape(g) + r"(?![a-z_])", q):
            agg = enclosing_aggregator(q, m.start())
            if agg != "max":
                found.append((g, agg))
    return found


def metric_names(q):
    """The sluice_ metric names a query reads."""
    return set(_NAME.findall(q))


def base_name(n):
    """A histogram's series name without its _bucket/_sum/_count suffix."""
    return re.sub(r"_(bucket|sum|count)$", "", n)


def exported_metrics(root):
    """The metric names shared/src/metrics.rs declares as constants."""
    with open(os.path.join(root, "shared", "src", "metrics.rs")) as f:
        return set(_EXPORTED.findall(f.read()))
