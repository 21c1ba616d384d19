//! What the dispatcher, the senders and the recorder share during a run.

use std::collections::BinaryHeap;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::profile::{Profile, Stream};
use crate::traffic::{Population, Update};

use super::record::Recorder;

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

/// Everything the goose users share.
pub(super) struct State {
    pub(super) profile: Profile,
    pub(super) population: Population,
    pub(super) bot_paths: Vec<String>,
    pub(super) rx: flume::Receiver<Item>,
    pub(super) start: OnceLock<Instant>,
    pub(super) drop_after: Duration,
    /// When senders and simulated users give up (a safety net past the planned end).
    pub(super) deadline: OnceLock<Instant>,
    pub(super) ready: AtomicUsize,
    /// Items handed to the senders and not yet answered (or dropped).
    pub(super) in_flight: AtomicUsize,
    /// Re-sends waiting for their time: the duplicate profile's, and refused updates'.
    pub(super) later: Mutex<BinaryHeap<Pending>>,
    pub(super) retry_refused: u32,
    pub(super) rec: Mutex<Recorder>,
}

pub(super) static STATE: OnceLock<Arc<State>> = OnceLock::new();
