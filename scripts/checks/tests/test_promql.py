"""checks.promql: vector selectors and their matchers, adding a matcher, metrics labelled by bot."""
import unittest

from checks import promql
from checks.tests.support import TreeCase


class Selectors(unittest.TestCase):
    def test_functions_aggregators_keywords_and_label_lists_are_no_selectors(self):
        q = ('histogram_quantile(0.95, sum by (le, lane) (rate(a_bucket{lane=~"${lane}"}[5m]))) '
             '/ on (lane) group_left max without (instance) (b) > bool 1 unless c offset 5m')
        self.assertEqual([(n, t) for n, t, _ in promql.selectors(q)],
                         [("a_bucket", 'lane=~"${lane}"'), ("b", ""), ("c", "")])

    def test_braces_inside_a_matcher_value(self):
        self.assertEqual(promql.selectors('x{a="}{", b=~"$b"}')[0][1], 'a="}{", b=~"$b"')
        self.assertEqual(promql.matchers('a="}{", b=~"$b"'), {"a": ("=", "}{"), "b": ("=~", "$b")})

    def test_add_matcher_to_every_selector_once(self):
        q = 'sum(rate(x[1m])) / sum(y{ns="other", s="1"}) + z{}'
        self.assertEqual(promql.add_matcher(q, "ns", "=", "$ns"),
                         'sum(rate(x{ns="$ns"}[1m])) / sum(y{ns="other", s="1"}) + z{ns="$ns"}')


class Labelled(TreeCase):
    def test_the_metric_the_code_labels_by_bot(self):
        self.assertEqual(promql.labelled_metrics(self.root, "bot"), {"sluice_webhook_updates_total"})
        self.assertEqual(promql.labelled_metrics(self.root, "outcome"), {"sluice_webhook_updates_total"})
        self.assertEqual(promql.labelled_metrics(self.root, "lane"), set())


if __name__ == "__main__":
    unittest.main()
