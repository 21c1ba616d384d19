//! What the api's `/healthz` and `/readyz` say beyond Redis answering: its registries.
//!
//! The api is ready when Redis answers (to enqueue) and every registry has loaded once. Postgres
//! is not asked: requests never query it (the registries are cached, `crate::registry`), so a
//! Postgres failover must not take every api replica out of its Service while ingress works.

use std::fmt::Write;

use sluice_shared::admin::Vitals;
use tokio::task::AbortHandle;

use crate::{registry::BotRegistry, sources::SourceRegistry};

pub struct ApiVitals {
    pub bots: BotRegistry,
    pub sources: SourceRegistry,
    /// The registries' refresh tasks: one that ended (it panicked) leaves its table frozen, and
    /// only a restart brings it back.
    pub refreshers: Vec<AbortHandle>,
    /// The console's server, when it runs: one that ended leaves operators without it until a
    /// restart, so the api says it is not alive.
    pub console: Option<AbortHandle>,
    /// The flusher of admission's counts: one that ended leaves the console's admission view
    /// without this replica's share.
    pub tally: Option<AbortHandle>,
}

impl Vitals for ApiVitals {
    fn liveness(&self) -> (bool, String) {
        if self.refreshers.iter().any(AbortHandle::is_finished) {
            return (false, "registry refresh: stopped\n".into());
        }
        if self.console.as_ref().is_some_and(AbortHandle::is_finished) {
            return (false, "console: stopped\n".into());
        }
        if self.tally.as_ref().is_some_and(AbortHandle::is_finished) {
            return (false, "admission tally: stopped\n".into());
        }
        (true, "ok\n".into())
    }

    /// Ready once each registry has loaded; its age says how stale a Postgres outage made it.
    fn readiness(&self) -> (bool, String) {
        let mut body = String::new();
        let mut ready = true;
        for (name, age) in [
            ("bot registry", self.bots.age()),
            ("source registry", self.sources.age()),
        ] {
            ready &= age.is_some();
            let _ = match age {
                Some(age) => writeln!(body, "{name}: loaded {}s ago", age.as_secs()),
                None => writeln!(body, "{name}: not loaded"),
            };
        }
        (ready, body)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[tokio::test]
    async fn ready_once_both_registries_loaded_and_dead_when_a_refresh_stopped() {
        let refresher = tokio::spawn(std::future::pending::<()>());
        let vitals = ApiVitals {
            bots: BotRegistry::default(),
            sources: SourceRegistry::default(),
            refreshers: vec![refresher.abort_handle()],
            console: None,
            tally: None,
        };
        let (ready, body) = vitals.readiness();
        assert!(!ready);
        assert_eq!(
            body,
            "bot registry: not loaded\nsource registry: not loaded\n"
        );
        vitals.bots.replace(HashMap::new());
        assert!(!vitals.readiness().0, "the sources are not loaded yet");
        vitals.sources.replace(HashMap::new());
        assert_eq!(
            vitals.readiness(),
            (
                true,
                "bot registry: loaded 0s ago\nsource registry: loaded 0s ago\n".into()
            )
        );
        assert_eq!(vitals.liveness(), (true, "ok\n".into()));
        vitals.refreshers[0].abort();
        let _ = refresher.await;
        assert!(!vitals.liveness().0);
    }

    #[tokio::test]
    async fn a_stopped_console_makes_the_api_not_alive() {
        let console = tokio::spawn(std::future::pending::<()>());
        let vitals = ApiVitals {
            bots: BotRegistry::default(),
            sources: SourceRegistry::default(),
            refreshers: vec![],
            console: Some(console.abort_handle()),
            tally: None,
        };
        assert_eq!(vitals.liveness(), (true, "ok\n".into()));
        console.abort();
        let _ = console.await;
        assert_eq!(vitals.liveness(), (false, "console: stopped\n".into()));
    }
}
