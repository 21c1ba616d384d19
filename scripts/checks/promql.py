"""PromQL text helpers both scripts use: which aggregation encloses a series, which metric names a
query reads, and which names shared/src/metrics.rs exports; the vector selectors of a query and
their matchers; the metrics the code labels with a given label."""
import glob
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


# --- vector selectors --------------------------------------------------------------------------

_STRING = r'''"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`[^`]*`'''
_TOKEN = re.compile(_STRING + r"|\{(?:" + _STRING + r"|[^{}\"'`])*\}|\[[^\]]*\]"
                    r"|[0-9][0-9A-Za-z._]*|[A-Za-z_:][A-Za-z0-9_:]*|\S")  # numbers and durations (5m) whole
# Words that are no metric name where a name could stand.
_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or",
             "unless", "offset", "atan2", "inf", "nan"}
# Followed by a parenthesised list of label names, not of expressions.
_LABEL_LISTS = {"by", "without", "on", "ignoring", "group_left", "group_right"}


def selectors(q):
    """(metric name, matchers text or "", start offset) of each vector selector of PromQL q:
    every name that is no function, aggregator, keyword or label in a by/on list."""
    toks = [(m.group(0), m.start()) for m in _TOKEN.finditer(q)]
    out, i = [], 0
    while i < len(toks):
        t, at = toks[i]
        nxt = toks[i + 1][0] if i + 1 < len(toks) else ""
        if t.lower() in _LABEL_LISTS and nxt == "(":
            while i < len(toks) and toks[i][0] != ")":
                i += 1
        elif (re.fullmatch(r"[A-Za-z_:][A-Za-z0-9_:]*", t) and nxt != "("
              and t.lower() not in _KEYWORDS and t not in AGGREGATORS):
            out.append((t, nxt[1:-1] if nxt.startswith("{") else "", at))
        i += 1
    return out


def matchers(text):
    """label -> (operator, value) of a selector's matchers text."""
    return {m.group(1): (m.group(2), m.group(3))
            for m in re.finditer(r'([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:\\.|[^"\\])*)"', text)}


def add_matcher(q, label, op, value):
    """q with `label op "value"` added to every vector selector that has no matcher on label."""
    for name, text, at in reversed(selectors(q)):
        if label in matchers(text):
            continue
        end = at + len(name)
        new = f'{label}{op}"{value}"'
        if text or q[end:end + 2] == "{}":
            close = q.index("}", end)
            q = q[:close] + (", " if text.strip() else "") + new + q[close:]
        else:
            q = q[:end] + "{" + new + "}" + q[end:]
    return q


def labelled_metrics(root, label):
    """The metric names the code records with `label` (a LABEL_* constant of metrics.rs whose
    value is `label`): metrics::counter!/gauge!/histogram!(m::NAME, ..., m::LABEL_X => ...)."""
    with open(os.path.join(root, "shared", "src", "metrics.rs")) as f:
        src = f.read()
    consts = dict(re.findall(r'pub const ([A-Z_]+): &str = "([^"]+)"', src))
    keys = {k for k, v in consts.items() if k.startswith("LABEL_") and v == label}
    found = set()
    for path in glob.glob(os.path.join(root, "*", "src", "**", "*.rs"), recursive=True):
        with open(path) as f:
            code = f.read()
        for m in re.finditer(r"(?:counter|gauge|histogram)!\(\s*(?:\w+::)*([A-Z_]+)\s*,([^;]*?)\)", code, re.S):
            if m.group(1) in consts and any(re.search(rf"\b{k}\s*=>", m.group(2)) for k in keys):
                found.add(consts[m.group(1)])
    return found
