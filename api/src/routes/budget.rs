//! The per-route budget of request-body bytes held in memory at once.
//!
//! A route must buffer a body before it can check a MAC over it, so without a bound 500
//! unauthenticated 1 MiB uploads hold 500 MiB. Each route has its own budget
//! (`SLUICE_BODY_BUDGET_BYTES`), taken as buffer space is allocated (not as `Content-Length`
//! promises, which a client can declare without sending a byte), and given back when the request
//! is answered. A spent budget answers 503 `retry` + `Retry-After`: the sender comes back, and the
//! other route, whose budget is its own, keeps working.

use std::sync::Arc;

use sluice_shared::metrics as m;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ApiError;

/// One route's budget; cheap to clone.
#[derive(Clone)]
pub struct BodyBudget {
    bytes: Arc<Semaphore>,
    /// The route template, as in `sluice_http_requests_total{route}`.
    route: &'static str,
}

/// The budgets of the webhook routes.
#[derive(Clone)]
pub struct BodyBudgets {
    pub telegram: BodyBudget,
    pub hooks: BodyBudget,
}

impl BodyBudgets {
    pub fn new(bytes_per_route: u64) -> BodyBudgets {
        BodyBudgets {
            telegram: BodyBudget::new("/webhook/telegram/{bot}", bytes_per_route),
            hooks: BodyBudget::new("/webhook/hooks/{source}", bytes_per_route),
        }
    }
}

impl BodyBudget {
    fn new(route: &'static str, bytes: u64) -> BodyBudget {
        let bytes = usize::try_from(bytes)
            .unwrap_or(usize::MAX)
            .min(Semaphore::MAX_PERMITS);
        BodyBudget {
            bytes: Arc::new(Semaphore::new(bytes)),
            route,
        }
    }

    /// Adds `n` bytes to what `held` holds, or refuses (and counts) when the route's budget
    /// cannot cover them now.
    pub fn take(&self, held: &mut BodyBytes, n: usize) -> Result<(), ApiError> {
        let permit = u32::try_from(n)
            .ok()
            .and_then(|n| self.bytes.clone().try_acquire_many_owned(n).ok());
        let Some(permit) = permit else {
            metrics::counter!(m::BODY_BUDGET_EXHAUSTED_TOTAL, m::LABEL_ROUTE => self.route)
                .increment(1);
            return Err(ApiError::Retry(
                "too many request bodies are in flight on this route; retry later",
            ));
        };
        match &mut held.0 {
            Some(all) => all.merge(permit),
            none => *none = Some(permit),
        }
        Ok(())
    }
}

/// Budget held for one request's body; given back when dropped (when the request is answered).
#[derive(Default)]
pub struct BodyBytes(Option<OwnedSemaphorePermit>);
