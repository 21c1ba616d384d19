//! What a long-running server does with Postgres as it starts: apply migrations, check the
//! connection budget of its Deployment. One-shot commands (`migrate`, `bots`, `sources`) do
//! neither, so they do not take these settings and their `--help` does not list them.

use super::BudgetMode;

#[derive(clap::Args, Debug, Clone)]
pub struct DbStartupConfig {
    /// The most replicas this Deployment can have (its HPA maximum): with the pool size, the
    /// worst case of connections it can open, checked against the server at start-up.
    #[arg(long = "max-replicas", env = "SLUICE_MAX_REPLICAS", value_name = "SLUICE_MAX_REPLICAS",
          default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub max_replicas: u32,

    /// What an over-budget configuration does at start-up: `warn` (log and run) or `enforce`
    /// (refuse to start).
    #[arg(
        long = "db-budget",
        env = "SLUICE_DB_BUDGET",
        value_name = "SLUICE_DB_BUDGET",
        default_value = "warn"
    )]
    pub budget: BudgetMode,

    /// Apply pending migrations at start-up.
    #[arg(long = "auto-migrate", env = "SLUICE_AUTO_MIGRATE", value_name = "SLUICE_AUTO_MIGRATE",
          default_value_t = true, action = clap::ArgAction::Set)]
    pub auto_migrate: bool,
}
