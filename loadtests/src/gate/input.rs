//! Reading a run's summary, ours or k6's, into one shape: metric -> statistic -> number.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::summary::{self, MetricStats, Summary};

#[derive(Debug, thiserror::Error)]
pub enum SummaryError {
    #[error("reading the summary {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the summary {path} is not JSON: {source}")]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("the summary {path} is not usable: {why}")]
    Unusable { path: PathBuf, why: String },
}

/// Where the summary came from, which decides what else the gate can check.
#[derive(Debug, Clone)]
pub enum Origin {
    /// `sluice-load run`: has a ledger (maybe) and the bots it posted to.
    Ours(Box<Summary>),
    /// k6's handleSummary `data` or `--summary-export`, statistics under `metrics.X.values`.
    K6Values,
    /// k6 with statistics directly on `metrics.X`.
    K6Flat,
}

impl Origin {
    pub fn describe(&self) -> &'static str {
        match self {
            Origin::Ours(_) => "sluice-load",
            Origin::K6Values => "k6 (metrics.X.values)",
            Origin::K6Flat => "k6 (statistics on metrics.X)",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Input {
    pub origin: Origin,
    pub metrics: BTreeMap<String, MetricStats>,
}

impl Input {
    pub fn read(path: &Path) -> Result<Input, SummaryError> {
        let text = std::fs::read_to_string(path).map_err(|source| SummaryError::Read {
            path: path.to_owned(),
            source,
        })?;
        let doc: Value = serde_json::from_str(&text).map_err(|source| SummaryError::Json {
            path: path.to_owned(),
            source,
        })?;
        Input::from_json(path, doc)
    }

    pub fn from_json(path: &Path, doc: Value) -> Result<Input, SummaryError> {
        let unusable = |why: String| SummaryError::Unusable {
            path: path.to_owned(),
            why,
        };
        if doc.get("tool").and_then(Value::as_str) == Some(summary::TOOL) {
            let ours: Summary = serde_json::from_value(doc)
                .map_err(|e| unusable(format!("a {} summary, but {e}", summary::TOOL)))?;
            if ours.format != summary::FORMAT {
                return Err(unusable(format!(
                    "summary format {} (this gate reads format {})",
                    ours.format,
                    summary::FORMAT
                )));
            }
            let metrics = ours
                .metrics
                .iter()
                .map(|(name, stats)| (name.clone(), normalise(stats.clone(), None)))
                .collect();
            return Ok(Input {
                origin: Origin::Ours(Box::new(ours)),
                metrics,
            });
        }
        let Some(raw) = doc.get("metrics").and_then(Value::as_object) else {
            return Err(unusable(format!(
                "neither a {} summary (\"tool\") nor a k6 summary (\"metrics\" object)",
                summary::TOOL
            )));
        };
        let (mut values_layout, mut metrics) = (false, BTreeMap::new());
        for (name, metric) in raw {
            let Some(metric) = metric.as_object() else {
                return Err(unusable(format!("metrics.{name} is not an object")));
            };
            // Older layout: {"type": "trend", "contains": "time", "values": {"p(95)": ...}}.
            let stats = match metric.get("values").and_then(Value::as_object) {
                Some(values) => {
                    values_layout = true;
                    values
                }
                None => metric,
            };
            let numbers = stats
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_f64()?)))
                .collect();
            let kind = metric.get("type").and_then(Value::as_str);
            metrics.insert(name.clone(), normalise(numbers, kind));
        }
        Ok(Input {
            origin: if values_layout {
                Origin::K6Values
            } else {
                Origin::K6Flat
            },
            metrics,
        })
    }
}

/// k6's legacy export gives a rate metric's share as `value` (beside passes/fails): read it as
/// `rate` when `rate` is absent, unless the metric says it is another kind.
fn normalise(mut stats: MetricStats, kind: Option<&str>) -> MetricStats {
    let other_kind = matches!(kind, Some("gauge" | "trend" | "counter"));
    if !other_kind
        && !stats.contains_key("rate")
        && let Some(&v) = stats.get("value")
    {
        stats.insert("rate".into(), v);
    }
    stats
}
