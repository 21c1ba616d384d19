//! What the benches read from wrk's output: the `@@bench {json}` line that the ingress
//! script's `done()` prints, and the figures of wrk's own summary (requests/s, the latency
//! distribution, non-2xx answers) that the admission bench reads.

use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum WrkOutputError {
    #[error("wrk printed no @@bench line (is the script's done() intact?)")]
    NoBenchLine,
    #[error("the @@bench line is not the JSON expected: {0}")]
    BadBenchLine(String),
    #[error("wrk's output has no '{0}' line")]
    Missing(&'static str),
    #[error("'{0}' is not a latency like 850.12us, 2.31ms or 1.02s")]
    BadLatency(String),
    #[error("'{0}' is not a number")]
    BadNumber(String),
}

/// The `@@bench` line of `loadtests/bench/ingress/update.lua`: one run's figures, latencies in
/// µs. Kept as is in the phase JSON (`wrk`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BenchLine {
    /// Completed requests.
    pub requests: u64,
    pub duration_s: f64,
    pub rps: f64,
    /// `BENCH_RATE` the script paced to; 0 = as fast as possible.
    pub target_rps: f64,
    pub lat_us: Latencies,
    /// Answers that were neither 2xx nor 3xx.
    pub non_2xx_3xx: u64,
    pub socket_errors: SocketErrors,
    /// Requests the script built (a few more than completed: the last ones are cut off).
    pub bodies_built: u64,
    pub mean_body_bytes: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Latencies {
    pub mean: f64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SocketErrors {
    pub connect: u64,
    pub read: u64,
    pub write: u64,
    pub timeout: u64,
}

impl SocketErrors {
    pub fn total(&self) -> u64 {
        self.connect + self.read + self.write + self.timeout
    }
}

impl BenchLine {
    /// The `@@bench` line of a wrk run's output.
    pub fn parse(output: &str) -> Result<BenchLine, WrkOutputError> {
        let json = output
            .lines()
            .find_map(|l| l.strip_prefix("@@bench "))
            .ok_or(WrkOutputError::NoBenchLine)?;
        serde_json::from_str(json).map_err(|e| WrkOutputError::BadBenchLine(e.to_string()))
    }

    /// Requests answered 2xx or 3xx.
    pub fn ok(&self) -> u64 {
        self.requests.saturating_sub(self.non_2xx_3xx)
    }
}

/// wrk's own summary of a `--latency` run, the figures as wrk printed them (`2432.24`,
/// `25.24ms`): the admission bench's table shows them unchanged.
#[derive(Debug, Clone, PartialEq)]
pub struct HumanSummary {
    /// `Requests/sec:`.
    pub rps: String,
    /// The 50 % and 99 % rows of `Latency Distribution`.
    pub p50: String,
    pub p99: String,
    /// `Non-2xx or 3xx responses:`, 0 when wrk printed no such line.
    pub non_2xx: u64,
}

impl HumanSummary {
    pub fn parse(output: &str) -> Result<HumanSummary, WrkOutputError> {
        let mut rps = None;
        let (mut p50, mut p99) = (None, None);
        let mut non_2xx = 0;
        for line in output.lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            match fields.as_slice() {
                ["Requests/sec:", v, ..] => rps = Some(v.to_string()),
                ["50%", v, ..] => p50 = Some(v.to_string()),
                ["99%", v, ..] => p99 = Some(v.to_string()),
                ["Non-2xx", "or", "3xx", "responses:", n, ..] => {
                    non_2xx = n
                        .parse()
                        .map_err(|_| WrkOutputError::BadNumber(n.to_string()))?
                }
                _ => {}
            }
        }
        let rps = rps.ok_or(WrkOutputError::Missing("Requests/sec:"))?;
        rps.parse::<f64>()
            .map_err(|_| WrkOutputError::BadNumber(rps.clone()))?;
        let p50 = p50.ok_or(WrkOutputError::Missing("50%"))?;
        let p99 = p99.ok_or(WrkOutputError::Missing("99%"))?;
        latency_ms(&p50)?;
        latency_ms(&p99)?;
        Ok(HumanSummary {
            rps,
            p50,
            p99,
            non_2xx,
        })
    }

    pub fn rps_value(&self) -> f64 {
        self.rps.parse().unwrap_or(f64::NAN)
    }
}

/// A wrk latency (`850.12us`, `2.31ms`, `1.02s`, or a bare number taken as ms) in ms.
pub fn latency_ms(text: &str) -> Result<f64, WrkOutputError> {
    let bad = || WrkOutputError::BadLatency(text.to_owned());
    let (num, scale) = if let Some(n) = text.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60_000.0)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1000.0)
    } else {
        (text, 1.0)
    };
    let v: f64 = num.parse().map_err(|_| bad())?;
    Ok(v * scale)
}
