//! The worker's partition upkeep: at start and every hour, the partitions ahead and (once a day,
//! on one worker) retention; every minute, the gauges.
//!
//! Failures are logged and retried a minute later; they cannot stop the loop. What an operator
//! must hear about shows in the gauges this loop keeps (the partitions ahead, the last retention
//! run) and in their alerts (deploy/prometheus/rules), which fire when the loop stops for any
//! reason, on every worker.

use std::{
    collections::BTreeSet,
    time::{Duration, Instant},
};

use sqlx::PgPool;

use super::{
    AHEAD_DAYS, Retention, ahead,
    expire::{self, Outcome, When},
    sample,
};

/// How often the gauges are refreshed.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(60);
/// How often partitions ahead and retention are checked; retention itself runs once a day.
pub const MAINTAIN_EVERY: Duration = Duration::from_secs(3600);

/// Runs until aborted.
pub async fn run(db: PgPool, retention: Retention) {
    let mut shown = BTreeSet::new();
    let mut tick = tokio::time::interval(SAMPLE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut next_upkeep = Instant::now();
    loop {
        tick.tick().await;
        if Instant::now() >= next_upkeep {
            next_upkeep = match upkeep(&db, retention).await {
                Ok(()) => Instant::now() + MAINTAIN_EVERY,
                Err(e) => {
                    tracing::warn!(error = %e, "partition upkeep failed; trying again in a minute");
                    Instant::now() + SAMPLE_EVERY
                }
            };
        }
        if let Err(e) = sample::export(&db, chrono::Utc::now(), &mut shown).await {
            tracing::debug!(error = %e, "partition gauges not refreshed: postgres unavailable");
        }
    }
}

/// Partitions ahead, then retention if due.
pub async fn upkeep(db: &PgPool, retention: Retention) -> Result<(), sqlx::Error> {
    ahead::ensure(db, chrono::Utc::now(), AHEAD_DAYS).await?;
    match expire::run(db, chrono::Utc::now(), retention, When::IfDue).await? {
        Outcome::Locked => tracing::debug!("retention: another worker is running it"),
        Outcome::NotDue => {}
        Outcome::Done {
            dropped,
            drop_time,
            keys_forgotten,
        } => tracing::info!(
            %retention,
            dropped = dropped.len(),
            drop_ms = drop_time.as_millis() as u64,
            keys_forgotten,
            "retention run finished"
        ),
    }
    Ok(())
}
