//! `sluice-worker retention run [--dry-run]`: the daily retention run, on demand.

use anyhow::{Context, bail};
use clap::Subcommand;
use sluice_shared::config::DatabaseConfig;

use super::{
    Retention,
    expire::{self, Outcome, When},
};

#[derive(Subcommand, Debug)]
pub enum RetentionCommand {
    /// Drop the expired partitions now (one worker at a time: waits for no lock, says so).
    Run {
        /// Only list what would be dropped.
        #[arg(long = "dry-run")]
        dry_run: bool,
        #[arg(
            long = "retention",
            env = "SLUICE_RETENTION",
            value_name = "SLUICE_RETENTION",
            default_value = "30d"
        )]
        retention: Retention,
        #[command(flatten)]
        db: DatabaseConfig,
    },
}

pub async fn retention(cmd: RetentionCommand) -> anyhow::Result<()> {
    let RetentionCommand::Run {
        dry_run,
        retention,
        db,
    } = cmd;
    let pool = sluice_shared::db::connect(&db, "sluice-worker retention").await?;
    let now = chrono::Utc::now();
    if dry_run {
        let expired = expire::expired(&pool, now, retention)
            .await
            .context("listing the partitions")?;
        for e in &expired {
            println!(
                "would drop {}\t~{} rows\t{} bytes",
                e.partition.name(),
                e.rows,
                e.bytes
            );
        }
        println!(
            "{} partition(s) past SLUICE_RETENTION={retention}; nothing dropped (--dry-run)",
            expired.len()
        );
        return Ok(());
    }
    match expire::run(&pool, now, retention, When::Now)
        .await
        .context("running retention")?
    {
        Outcome::Locked => bail!("another worker is running retention now; try again later"),
        Outcome::NotDue => unreachable!("When::Now is always due"),
        Outcome::Done {
            dropped,
            drop_time,
            keys_forgotten,
        } => {
            for e in &dropped {
                println!(
                    "dropped {}\t~{} rows\t{} bytes",
                    e.partition.name(),
                    e.rows,
                    e.bytes
                );
            }
            println!(
                "dropped {} partition(s) past SLUICE_RETENTION={retention} in {} ms; forgot {keys_forgotten} dedup key(s)",
                dropped.len(),
                drop_time.as_millis()
            );
        }
    }
    Ok(())
}
