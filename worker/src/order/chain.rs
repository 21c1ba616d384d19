//! Chains: when a job of an ordered key finishes and the key's next job is parked, the slot that
//! ran it runs the next one at once (`finish.lua` hands it over) instead of sending it through
//! its lane again. In a busy chat that saves each job a re-queue, a second fetch, a second
//! `start.lua` and a second acknowledgement, and the hop through the lane between two updates.
//!
//! A chain is bounded ([`MAX_RUNS`] jobs or [`MAX_TIME`], whichever comes first): then the next
//! job goes to the front of its lane as before, so one hot chat cannot keep a slot to itself and
//! the lane weights still decide which key's work runs next. Each chained job still takes its
//! own lane's permit.
//!
//! Crash safety: the apalis task that started the chain (the carrier) stays unacknowledged while
//! the chain runs; the state hash names it (`c`) and keeps the chained job's bytes until it
//! finishes. If the worker dies, apalis's orphan recovery re-delivers the carrier after
//! `SLUICE_ORPHAN_TIMEOUT`, and `start.lua` answers it with the job that still holds the key
//! (`Start::Resume`): that job runs again (at least once), and nothing after it has started.

use std::time::{Duration, Instant};

use sluice_shared::{job::Job, queue::order::OrderTag};

/// Most jobs one slot runs in a row for one key before handing the key back to its lane.
pub const MAX_RUNS: u32 = 64;
/// Longest a slot runs one key's jobs in a row (checked between jobs).
pub const MAX_TIME: Duration = Duration::from_secs(1);

/// A key's next job, handed to this slot: it holds its key since `since_ms`.
#[derive(Debug)]
pub struct Chained {
    pub tag: OrderTag,
    pub since_ms: i64,
    pub job: Job,
    /// Its row was written (not handled) when it was parked: it goes straight to its handler.
    pub written: bool,
}

/// A parked job's bytes that are not a job (written by an incompatible version).
#[derive(Debug, thiserror::Error)]
#[error("the parked job {seq} of an ordering key is not a job: {source}")]
pub struct UndecodableJob {
    pub seq: u64,
    #[source]
    pub source: serde_json::Error,
}

impl Chained {
    pub fn decode(
        key: &str,
        seq: u64,
        since_ms: i64,
        bytes: &[u8],
    ) -> Result<Self, UndecodableJob> {
        let job = serde_json::from_slice(bytes).map_err(|source| UndecodableJob { seq, source })?;
        Ok(Chained {
            tag: OrderTag {
                key: key.to_owned(),
                seq,
            },
            since_ms,
            job,
            written: false,
        })
    }
}

/// One slot's run of chained jobs, carried by one apalis task.
#[derive(Debug)]
pub struct Chain {
    carrier: String,
    began: Instant,
    runs: u32,
}

impl Chain {
    /// A chain carried by the apalis task `carrier` (its task id).
    pub fn new(carrier: String) -> Self {
        Chain {
            carrier,
            began: Instant::now(),
            runs: 0,
        }
    }

    /// One more job of the chain has finished.
    pub fn ran(&mut self) {
        self.runs += 1;
    }

    /// The carrier to name to `finish.lua` if this slot may take the key's next job, `None` once
    /// the chain reached its bound or the worker is stopping (the next job then goes to its
    /// lane, where another slot or worker picks it up).
    pub fn carrier(&self, stopping: bool) -> Option<&str> {
        let open = !stopping && self.runs < MAX_RUNS && self.began.elapsed() < MAX_TIME;
        open.then_some(self.carrier.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chain_stops_after_its_run_bound_or_when_stopping() {
        let mut chain = Chain::new("t1".into());
        assert_eq!(chain.carrier(false), Some("t1"));
        assert_eq!(chain.carrier(true), None);
        for _ in 0..MAX_RUNS - 1 {
            chain.ran();
        }
        assert_eq!(chain.carrier(false), Some("t1"));
        chain.ran();
        assert_eq!(chain.carrier(false), None);
    }

    #[test]
    fn a_chain_stops_after_its_time_bound() {
        let chain = Chain {
            carrier: "t1".into(),
            began: Instant::now() - MAX_TIME,
            runs: 0,
        };
        assert_eq!(chain.carrier(false), None);
    }

    #[test]
    fn parked_bytes_that_are_not_a_job_are_an_error_naming_the_sequence() {
        let e = Chained::decode("k", 7, 0, b"{").unwrap_err();
        assert_eq!(e.seq, 7);
    }
}
