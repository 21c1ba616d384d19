//! The dead letters as the console sees them: one page of a filter, one letter, the dry-run
//! count of a replay or purge, and the replay or purge itself. Every call goes through
//! `sluice_shared::dlq`, the functions the worker's `dlq` commands use: its bounded scans read
//! one page per call, never a whole set.
//!
//! - this file: [`DeadLetterDesk`], the calls.
//! - [`filter`]: the filter and target as the API and the pages send them, checked and turned
//!   into the shared ones.

pub mod filter;

use redis::aio::ConnectionManager;
use sluice_shared::{
    dlq::{
        Count, Cursor, DeadLetter, DeadLetterFilter, DeadLetters, DlqError, Done, Page, Requeue,
        SCAN_BUDGET, Target,
    },
    job::order::Ordering,
};

/// Letters per batch of a replay or purge: one page read and one removal script each.
const BATCH: usize = 500;
/// Letters a page shows unless asked for fewer (the API may ask for up to [`MAX_PAGE`]).
pub const PAGE: usize = 50;
pub const MAX_PAGE: usize = 500;

/// The dead letters, and where a replayed one goes; cheap to clone.
#[derive(Clone)]
pub struct DeadLetterDesk {
    letters: DeadLetters,
    requeue: Requeue,
}

impl DeadLetterDesk {
    /// `ordering` is the deployment's `SLUICE_ORDERING`: a replayed letter takes its key's next
    /// place, as the CLI's replay does.
    pub fn new(redis: ConnectionManager, prefix: &str, ordering: Ordering) -> DeadLetterDesk {
        DeadLetterDesk {
            letters: DeadLetters::new(redis.clone(), prefix),
            requeue: Requeue::new(redis, prefix, ordering),
        }
    }

    /// One page, newest first. Filtered by reason, a page examines at most `SCAN_BUDGET`
    /// letters and may hold fewer than `limit` (even none) with a next cursor.
    pub async fn list(
        &self,
        filter: &DeadLetterFilter,
        cursor: Option<&Cursor>,
        limit: usize,
    ) -> Result<Page, DlqError> {
        self.letters
            .list(filter, cursor, limit.clamp(1, MAX_PAGE))
            .await
    }

    /// How many letters match when that is cheap (no reason to read: a count of sorted-set
    /// ranges); `None` otherwise, so a page never waits for a scan of every reason.
    pub async fn matching(&self, filter: &DeadLetterFilter) -> Result<Option<u64>, DlqError> {
        if filter
            .reason
            .as_deref()
            .is_some_and(|r| !r.trim().is_empty())
        {
            return Ok(None);
        }
        Ok(Some(
            self.letters.count(filter, SCAN_BUDGET).await?.matching,
        ))
    }

    /// One letter by id, in whichever lane holds it.
    pub async fn get(&self, id: &str) -> Result<Option<DeadLetter>, DlqError> {
        self.letters.get(None, id).await
    }

    /// The dry run: how many letters `target` names now. Filtered by reason, the count stops
    /// after `SCAN_BUDGET` letters and is then a lower bound (`exact: false`).
    pub async fn count(&self, target: &Target) -> Result<Count, DlqError> {
        self.letters.count_target(target, SCAN_BUDGET).await
    }

    /// Puts the target's letters back in their lanes' queues (attempt 0) and removes them.
    pub async fn replay(&self, target: &Target) -> Result<Done, DlqError> {
        self.letters.replay(target, &self.requeue, BATCH).await
    }

    /// Removes the target's letters for good.
    pub async fn purge(&self, target: &Target) -> Result<Done, DlqError> {
        self.letters.purge(target, BATCH).await
    }
}

/// A cursor that is not one is the client's fault; anything else is a store that failed.
impl From<DlqError> for crate::error::ConsoleError {
    fn from(e: DlqError) -> Self {
        match e {
            DlqError::BadCursor => crate::error::ConsoleError::BadRequest(e.to_string()),
            e => crate::error::ConsoleError::unavailable(e),
        }
    }
}
