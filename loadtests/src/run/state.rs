//! What the dispatcher, the senders and the recorder share during a run.

use std::collections::BinaryHeap;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::profile::Profile;
use crate::traffic::Population;

pub(super) use super::item::{Item, Pending};
use super::record::Recorder;

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
