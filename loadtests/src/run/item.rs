//! One update on its way to a sender, and a re-send waiting for its time.

use std::sync::Arc;
use std::time::Instant;

use crate::profile::Stream;
use crate::traffic::Update;

/// A due update handed to a sender.
#[derive(Clone)]
pub(super) struct Item {
    pub(super) due: Instant,
    pub(super) update: Arc<Update>,
    pub(super) stream: Stream,
    pub(super) resend: bool,
    /// Re-sends of a refused update so far (`--retry-refused`).
    pub(super) attempt: u32,
}

/// A re-send waiting for its time (min-heap on `due`).
pub(super) struct Pending(pub(super) Item);

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        self.0.due == other.0.due
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        other.0.due.cmp(&self.0.due)
    }
}
