"""Unit tests of scripts/checks: `python3 -m unittest discover -s scripts/checks/tests -t scripts`
(scripts/test runs them first). Each check gets a good input that passes and broken ones that
fail with the message an operator needs; the inputs are in fixtures/."""
