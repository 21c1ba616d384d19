//! One line of the gate's verdict: what was checked and how it came out. Its own module because
//! both the threshold checks (`evaluate`) and the ordering check (`ordered`) make them.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Pass,
    Fail,
    Skip,
}

/// One printed line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckResult {
    /// A metric name, or `delivery` for the delivery checks.
    pub metric: String,
    /// As written in slo.toml, e.g. `p(95)<300`; `lost==0` for delivery.
    pub threshold: String,
    pub status: Status,
    pub got: Option<f64>,
    /// Why a check was skipped.
    pub note: Option<String>,
}
