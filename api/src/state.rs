//! What the handlers share: [`AppState`], cheap clonable handles only.

use std::sync::Arc;

use sluice_console::service::admission::Tally;
use sluice_shared::lanes::LaneRules;

use crate::{
    access::AccessLog, admission::Admission, enqueue::Enqueuer, registry::BotRegistry,
    replay::ReplayGuard, routes::budget::BodyBudgets, sources::SourceRegistry,
};

/// What handlers share: cheap clonable handles only.
#[derive(Clone)]
pub struct AppState {
    pub registry: BotRegistry,
    /// The signed-webhook sources, cached like the bots.
    pub sources: SourceRegistry,
    pub enqueuer: Enqueuer,
    /// Remembers accepted timestamped signatures (Stripe) for their tolerance window.
    pub replay: ReplayGuard,
    pub admission: Admission,
    /// This replica's admission decisions since their last flush to Redis, for the console.
    pub tally: Tally,
    pub lane_rules: Arc<LaneRules>,
    pub max_body_bytes: u64,
    /// Request-body bytes each webhook route may hold at once (`SLUICE_BODY_BUDGET_BYTES`).
    pub body_budgets: BodyBudgets,
    /// The access line's level (`SLUICE_ACCESS_LOG`).
    pub access_log: AccessLog,
}
