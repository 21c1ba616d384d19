//! `slo.toml`: thresholds per profile, and the k6 subset of them (`loadtests/k6/thresholds.json`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::threshold::{Threshold, ThresholdError};

/// Metrics k6 itself measures, plus the custom metrics our k6 scripts define. Any other metric
/// in slo.toml (database, memory) is ours alone: k6 would abort on a threshold it cannot find.
pub const K6_METRICS: &[&str] = &[
    "http_req_duration",
    "http_req_failed",
    "http_reqs",
    "checks",
    "dropped_iterations",
    "iterations",
    "flood_quiet_ok",
    "flood_limited",
];

#[derive(Debug, thiserror::Error)]
pub enum SloError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path} is not a valid slo file (profile tables of metric = [\"threshold\", ...]): {source}"
    )]
    Toml {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("{path}: [{profile}] {metric}: {source}")]
    Threshold {
        path: PathBuf,
        profile: String,
        metric: String,
        source: ThresholdError,
    },
    #[error("{path} has no [{profile}] table (profiles there: {known})")]
    UnknownProfile {
        path: PathBuf,
        profile: String,
        known: String,
    },
}

/// One metric's threshold of one profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub metric: String,
    pub threshold: Threshold,
}

/// Every profile's rules, profiles and metrics in name order.
#[derive(Debug, Clone, PartialEq)]
pub struct Slo {
    pub path: PathBuf,
    pub profiles: BTreeMap<String, Vec<Rule>>,
}

impl Slo {
    pub fn load(path: &Path) -> Result<Slo, SloError> {
        let text = std::fs::read_to_string(path).map_err(|source| SloError::Read {
            path: path.to_owned(),
            source,
        })?;
        Slo::parse(path, &text)
    }

    /// Parses `text` (read from `path`, named in errors); every threshold is checked here, so a
    /// typo fails before any run is judged.
    pub fn parse(path: &Path, text: &str) -> Result<Slo, SloError> {
        let raw: BTreeMap<String, BTreeMap<String, Vec<String>>> =
            toml::from_str(text).map_err(|e| SloError::Toml {
                path: path.to_owned(),
                source: Box::new(e),
            })?;
        let mut profiles = BTreeMap::new();
        for (profile, metrics) in raw {
            let mut rules = Vec::new();
            for (metric, thresholds) in metrics {
                for t in thresholds {
                    let threshold = t.parse().map_err(|source| SloError::Threshold {
                        path: path.to_owned(),
                        profile: profile.clone(),
                        metric: metric.clone(),
                        source,
                    })?;
                    rules.push(Rule {
                        metric: metric.clone(),
                        threshold,
                    });
                }
            }
            profiles.insert(profile, rules);
        }
        Ok(Slo {
            path: path.to_owned(),
            profiles,
        })
    }

    pub fn rules(&self, profile: &str) -> Result<&[Rule], SloError> {
        self.profiles
            .get(profile)
            .map(Vec::as_slice)
            .ok_or_else(|| SloError::UnknownProfile {
                path: self.path.clone(),
                profile: profile.to_owned(),
                known: self.profiles.keys().cloned().collect::<Vec<_>>().join(", "),
            })
    }

    /// The thresholds k6 can check itself, in k6's `options.thresholds` shape per profile:
    /// `{"steady": {"http_req_duration": ["p(95)<300"], ...}, ...}`.
    pub fn k6(&self) -> serde_json::Value {
        let mut out = serde_json::Map::new();
        for (profile, rules) in &self.profiles {
            let mut metrics: BTreeMap<&str, Vec<serde_json::Value>> = BTreeMap::new();
            for rule in rules.iter().filter(|r| K6_METRICS.contains(&&*r.metric)) {
                metrics
                    .entry(&rule.metric)
                    .or_default()
                    .push(rule.threshold.text.clone().into());
            }
            let metrics = metrics
                .into_iter()
                .map(|(m, t)| (m.to_owned(), serde_json::Value::Array(t)))
                .collect();
            out.insert(profile.clone(), serde_json::Value::Object(metrics));
        }
        serde_json::Value::Object(out)
    }
}
