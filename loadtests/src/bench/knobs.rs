//! Settings the benches share: a wrk duration as wrk takes it, the run's time stamp and the
//! random bot secret.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use rand::Rng;

/// A wrk `-d` in whole seconds (`15s`, `2m`, `30`); shown and passed to wrk as `<n>s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrkDuration(u64);

impl WrkDuration {
    pub fn from_secs(secs: u64) -> WrkDuration {
        WrkDuration(secs)
    }

    pub fn secs(self) -> u64 {
        self.0
    }

    pub fn as_duration(self) -> Duration {
        Duration::from_secs(self.0)
    }
}

impl FromStr for WrkDuration {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // A bare number is seconds, as wrk's own -d reads it (and as WRK_DURATION=30 always meant);
        // sluice's own settings refuse bare numbers, this knob is wrk's.
        let d = match s.trim().parse::<u64>() {
            Ok(secs) => std::time::Duration::from_secs(secs),
            Err(_) => sluice_shared::config::parse_duration(s)?,
        };
        if d.subsec_nanos() != 0 || d.is_zero() {
            return Err(format!(
                "'{}' must be a whole number of seconds, at least 1",
                s.trim()
            ));
        }
        Ok(WrkDuration(d.as_secs()))
    }
}

impl fmt::Display for WrkDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}s", self.0)
    }
}

/// The run's time stamp, `20261126T010927Z`: results folders and JSON files are named by it.
pub fn timestamp() -> String {
    chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string()
}

/// A fresh webhook secret for the bench's bot, `bench-` and 24 letters or digits.
pub fn random_secret() -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    let tail: String = (0..24)
        .map(|_| A[rng.random_range(0..A.len())] as char)
        .collect();
    format!("bench-{tail}")
}

/// A database name the benches put in SQL unquoted-safe: letters, digits and `_` only.
pub fn parse_db_name(s: &str) -> Result<String, String> {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        Ok(s.to_owned())
    } else {
        Err(format!("'{s}': letters, digits and _ only"))
    }
}

/// `x` rounded to `places` decimals, as jq's `. * 100 | round / 100` did.
pub fn round_to(x: f64, places: i32) -> f64 {
    let scale = 10f64.powi(places);
    (x * scale).round() / scale
}
