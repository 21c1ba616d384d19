//! One threshold in k6's syntax (`p(95)<300`, `rate<0.01`, `count<=2`): parsing and evaluation.

use std::fmt;
use std::str::FromStr;

/// A threshold string that is not `stat op number`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad threshold {text:?}: {why} (expected e.g. \"p(95)<300\", \"rate<0.01\", \"count<=2\")")]
pub struct ThresholdError {
    pub text: String,
    pub why: &'static str,
}

/// Statistics a summary may carry besides percentiles: k6's aggregation methods, plus `ratio`
/// (ours, `api_rss_growth`) and a rate's `passes`/`fails`. A closed list, so `p95<300` is an
/// error instead of a check that is silently never measured.
const STATS: &[&str] = &[
    "avg", "min", "med", "max", "rate", "count", "value", "ratio", "passes", "fails",
];

/// A comparison operator k6 accepts; `===` is JavaScript's and means the same as `==` here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    StrictEq,
    Ne,
}

impl Op {
    /// Longest first, so `<=` is never read as `<` followed by `=300`.
    const ALL: [(&'static str, Op); 7] = [
        ("===", Op::StrictEq),
        ("==", Op::Eq),
        ("!=", Op::Ne),
        ("<=", Op::Le),
        (">=", Op::Ge),
        ("<", Op::Lt),
        (">", Op::Gt),
    ];

    pub fn as_str(self) -> &'static str {
        Op::ALL
            .iter()
            .find(|(_, op)| *op == self)
            .map_or("?", |(s, _)| s)
    }

    pub fn holds(self, got: f64, limit: f64) -> bool {
        match self {
            Op::Lt => got < limit,
            Op::Le => got <= limit,
            Op::Gt => got > limit,
            Op::Ge => got >= limit,
            Op::Eq | Op::StrictEq => got == limit,
            Op::Ne => got != limit,
        }
    }
}

/// `stat op limit`, e.g. stat `p(95)`, op `<`, limit 300.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// The statistic as written: `avg`, `med`, `p(95)`, `rate`, `count`, `value`, `ratio`...
    pub stat: String,
    pub op: Op,
    pub limit: f64,
    /// The text it was parsed from, trimmed: what we print and hand to k6.
    pub text: String,
}

impl Threshold {
    pub fn holds(&self, got: f64) -> bool {
        self.op.holds(got, self.limit)
    }

    /// Keys a summary may use for this statistic: k6 writes `p(95)`, but `p(95.0)` or a spaced
    /// `p( 95 )` in slo.toml should still find it, and `med` is `p(50)`.
    pub fn stat_keys(&self) -> Vec<String> {
        let mut keys = vec![self.stat.clone()];
        if let Some(p) = percentile(&self.stat) {
            keys.push(format!("p({p})"));
            if p == 50.0 {
                keys.push("med".into());
            }
        } else if self.stat == "med" {
            keys.push("p(50)".into());
        }
        keys.dedup();
        keys
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for Threshold {
    type Err = ThresholdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        let bad = |why| ThresholdError {
            text: text.to_owned(),
            why,
        };
        let (at, sym, op) = Op::ALL
            .iter()
            .filter_map(|&(sym, op)| text.find(sym).map(|at| (at, sym, op)))
            // The leftmost operator; among operators starting there, the longest (ALL's order).
            .min_by_key(|&(at, _, _)| at)
            .ok_or_else(|| bad("no comparison operator (< <= > >= == === !=)"))?;
        let stat = text[..at].trim();
        // `p( 95 )` is p(95); spaces elsewhere are a typo.
        let stat: String = if stat.starts_with("p(") {
            stat.chars().filter(|c| !c.is_whitespace()).collect()
        } else {
            stat.to_owned()
        };
        let limit = text[at + sym.len()..].trim();
        if stat.is_empty() {
            return Err(bad("no statistic before the operator"));
        }
        if stat.starts_with("p(") || stat.ends_with(')') {
            percentile(&stat).ok_or_else(|| bad("a percentile is p(N) with 0 <= N <= 100"))?;
        } else if !STATS.contains(&stat.as_str()) {
            return Err(bad(
                "the statistic is p(N) or one of avg, min, med, max, rate, count, value, ratio, passes, fails",
            ));
        }
        if limit.is_empty() {
            return Err(bad("no number after the operator"));
        }
        let limit: f64 = limit
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite())
            .ok_or_else(|| bad("the limit is not a finite number"))?;
        Ok(Threshold {
            stat,
            op,
            limit,
            text: text.to_owned(),
        })
    }
}

/// N of `p(N)`, when it is a percentile.
fn percentile(stat: &str) -> Option<f64> {
    let n: f64 = stat
        .strip_prefix("p(")?
        .strip_suffix(')')?
        .trim()
        .parse()
        .ok()?;
    (0.0..=100.0).contains(&n).then_some(n)
}
