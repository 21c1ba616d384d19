//! The 200 answer every webhook route gives once a delivery is durably queued (or a duplicate).

use serde::Serialize;

use crate::enqueue::Enqueued;

/// `{"ok":true,"id":"<job id>"}`, `{"ok":true,"duplicate":true}` or `{"ok":true,"dropped":true}`,
/// fields in that order.
#[derive(Serialize, Default)]
pub struct Accepted {
    pub(crate) ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) duplicate: Option<bool>,
    /// Over a limit whose policy is `drop` (spam floods): counted, not queued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) dropped: Option<bool>,
}

impl From<Enqueued> for Accepted {
    fn from(e: Enqueued) -> Self {
        match e {
            Enqueued::New { job_id } => Accepted {
                ok: true,
                id: Some(job_id),
                ..Accepted::default()
            },
            Enqueued::Duplicate => Accepted {
                ok: true,
                duplicate: Some(true),
                ..Accepted::default()
            },
        }
    }
}
