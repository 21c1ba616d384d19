//! Per-key ordering (issue 15): the settings, a job's place in its key's order, and where a key's
//! state lives in Redis (the key itself: `crate::job::order`). The enqueue script gives each job of a key the next sequence number
//! (`push.lua`); the worker's scripts (`sluice_worker::order`) start sequence n only once n-1
//! finished, park the jobs that arrive early and wake them in turn.
//!
//! Redis keys, under `<prefix>:order`:
//! - `:k:<key>` a hash per key with work: `next` (last sequence given out), `done` (last
//!   finished), `held`/`since` (the sequence holding the key and when its first attempt
//!   started), `p:<seq>` (a parked job: `<lane>\n<job bytes>`; kept while a chain runs it, as
//!   the copy to resume after a crash), `c` (the apalis task carrying the chain that runs the
//!   held job, `sluice_worker::order::chain`). It expires 10 minutes after the
//!   key goes idle (`done == next`), and after `SLUICE_DEDUP_TTL` of silence otherwise.
//! - `:holds` a sorted set of held keys by hold start (ms): the held-keys gauges.
//! - `:parked` the number of parked jobs.
//! - `:due:<lane>` a sorted set of the lane's ordered jobs that hold their key and wait to run
//!   again (a retry, a job released in a database outage), by the Unix second they are due.
//!   Not apalis's scheduled set: its fetch promotes to the tail of the lane, behind the whole
//!   backlog, while the key stays held; the worker's promoter moves them to the front instead.

use std::time::Duration;

pub use crate::job::order::{Ordering, key_of};
use crate::{config::duration_between, lanes::Lane};

/// The ordering settings; the api uses the mode, the worker both.
#[derive(clap::Args, Debug, Clone)]
pub struct OrderConfig {
    /// What updates are processed one at a time by: `chat` (a chat's updates, else the user's),
    /// `telegram` (Telegram's delivery queues: a button press is not held behind its chat's
    /// messages) or `off`.
    #[arg(
        long = "ordering",
        env = "SLUICE_ORDERING",
        value_name = "SLUICE_ORDERING",
        value_enum,
        default_value = "chat"
    )]
    pub ordering: Ordering,

    /// The longest one failing update may hold its key (its retries included) before it goes
    /// to the dead letters and the key's next update runs.
    #[arg(long = "order-max-hold", env = "SLUICE_ORDER_MAX_HOLD", value_name = "SLUICE_ORDER_MAX_HOLD",
          default_value = "60s",
          value_parser = duration_between(Duration::from_secs(1), Duration::from_secs(24 * 3600)))]
    pub max_hold: Duration,

    /// Jobs of one key that a worker keeps waiting in memory for the job of the key it is
    /// running, to hand them the key directly; past it they park in Redis (0: always park).
    #[arg(long = "order-local-wait", env = "SLUICE_ORDER_LOCAL_WAIT", value_name = "SLUICE_ORDER_LOCAL_WAIT",
          default_value_t = 16, value_parser = clap::value_parser!(u16).range(0..=256))]
    pub local_wait: u16,
}

impl Default for OrderConfig {
    fn default() -> Self {
        OrderConfig {
            ordering: Ordering::Chat,
            max_hold: Duration::from_secs(60),
            local_wait: 16,
        }
    }
}

/// How a pushed job takes part in its key's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order<'a> {
    /// A new delivery (or a replayed dead letter): the key's next sequence, after all its work.
    Assign(&'a str),
    /// The same job again (a retry, a released job, a woken one): its sequence is kept.
    Keep(&'a str, u64),
}

/// A job's place in its key's order, as the enqueue script recorded it in the job's meta hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderTag {
    pub key: String,
    pub seq: u64,
}

/// Meta hash fields of an ordered job (besides apalis-redis's own).
pub const META_KEY: &str = "order_key";
pub const META_SEQ: &str = "order_seq";

impl OrderTag {
    /// The tag in an apalis task's meta fields, if the job is ordered.
    pub fn from_meta(get: impl Fn(&str) -> Option<String>) -> Option<OrderTag> {
        let key = get(META_KEY).filter(|k| !k.is_empty())?;
        let seq = get(META_SEQ)?.parse().ok().filter(|s| *s > 0)?;
        Some(OrderTag { key, seq })
    }

    pub fn keep(&self) -> Order<'_> {
        Order::Keep(&self.key, self.seq)
    }
}

/// `<prefix>:order`, under which every key's state lives (see the module doc).
pub fn order_namespace(prefix: &str) -> String {
    format!("{prefix}:order")
}

/// Where `lane`'s ordered jobs wait to run again: `<prefix>:order:due:<lane>` (module doc).
pub fn order_due_set(prefix: &str, lane: Lane) -> String {
    due_set_in(&order_namespace(prefix), lane)
}

pub(super) fn due_set_in(namespace: &str, lane: Lane) -> String {
    format!("{namespace}:due:{lane}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_needs_a_key_and_a_positive_sequence() {
        let meta = |k: &'static str, s: &'static str| {
            move |f: &str| match f {
                META_KEY => Some(k.to_owned()),
                META_SEQ => Some(s.to_owned()),
                _ => None,
            }
        };
        assert_eq!(
            OrderTag::from_meta(meta("tg:b:c:1", "3")),
            Some(OrderTag {
                key: "tg:b:c:1".into(),
                seq: 3
            })
        );
        assert_eq!(OrderTag::from_meta(meta("", "3")), None);
        assert_eq!(OrderTag::from_meta(meta("k", "0")), None);
        assert_eq!(OrderTag::from_meta(|_| None), None);
    }
}
