//! Every sealed column at once: clear-text source secrets sealed once a key is set (at the api's
//! start-up and by `secrets rotate`), and `secrets rotate` re-sealing what an older key sealed.
//!
//! Each run takes the rows' locks in one transaction, so api replicas starting together and a
//! rotation running meanwhile see each row once; running it again changes nothing.

use std::fmt;

use sluice_shared::sealed::{Aad, Keyring};
use sqlx::{PgPool, Postgres, Transaction};

/// A secret column: its table, the clear-text column (if any) and the sealed one.
struct Column {
    table: &'static str,
    column: &'static str,
    /// Rows whose value needs looking at: (id, name, clear text, sealed).
    select: &'static str,
    /// `$1` id, `$2` the sealed value; empties the clear-text column.
    write: &'static str,
}

const COLUMNS: [Column; 4] = [
    Column {
        table: "sources",
        column: "secret",
        select: "SELECT id, name, secret, secret_sealed FROM sources ORDER BY id FOR UPDATE",
        write: "UPDATE sources SET secret = NULL, secret_sealed = $2 WHERE id = $1",
    },
    Column {
        table: "sources",
        column: "next_secret",
        select: "SELECT id, name, next_secret, next_secret_sealed FROM sources
                 WHERE next_secret IS NOT NULL OR next_secret_sealed IS NOT NULL ORDER BY id FOR UPDATE",
        write: "UPDATE sources SET next_secret = NULL, next_secret_sealed = $2 WHERE id = $1",
    },
    Column {
        table: "bots",
        column: "token",
        select: "SELECT id, name, NULL::text, token_sealed FROM bots
                 WHERE token_sealed IS NOT NULL ORDER BY id FOR UPDATE",
        write: "UPDATE bots SET token_sealed = $2 WHERE id = $1",
    },
    // The webhook secret, kept sealed to be sent on to a forward target (its hash stays).
    Column {
        table: "bots",
        column: "secret",
        select: "SELECT id, name, NULL::text, secret_sealed FROM bots
                 WHERE secret_sealed IS NOT NULL ORDER BY id FOR UPDATE",
        write: "UPDATE bots SET secret_sealed = $2 WHERE id = $1",
    },
];

/// What a run did, by count; `unreadable` names each value no key opens (never its bytes).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Clear-text values sealed under the current key.
    pub sealed: u64,
    /// Values sealed under the previous key, re-sealed under the current one.
    pub resealed: u64,
    /// Values already under the current key (opened, to prove it).
    pub current: u64,
    pub unreadable: Vec<String>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} sealed from clear text, {} re-encrypted under the current key, {} already under it, {} unreadable",
            self.sealed,
            self.resealed,
            self.current,
            self.unreadable.len()
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AtRestError {
    #[error("SLUICE_SECRETS_KEY is not set: there is no key to encrypt under")]
    NoKey,
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

/// What to do with each value.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Seal clear-text values only (start-up): sealed ones are left as they are.
    SealClear,
    /// Also re-seal every value not under the current key (`secrets rotate`).
    Rotate,
}

/// Seals (and with [`Mode::Rotate`] re-seals) every secret column under the current key.
pub async fn run(db: &PgPool, keys: &Keyring, mode: Mode) -> Result<Report, AtRestError> {
    if !keys.can_seal() {
        return Err(AtRestError::NoKey);
    }
    let mut report = Report::default();
    let mut tx = sluice_shared::db::begin(db).await?;
    for col in &COLUMNS {
        column(&mut tx, keys, col, mode, &mut report).await?;
    }
    tx.commit().await?;
    Ok(report)
}

type Row = (i64, String, Option<String>, Option<Vec<u8>>);

async fn column(
    tx: &mut Transaction<'static, Postgres>,
    keys: &Keyring,
    col: &Column,
    mode: Mode,
    report: &mut Report,
) -> Result<(), AtRestError> {
    let rows: Vec<Row> = sqlx::query_as(col.select)
        .persistent(false)
        .fetch_all(&mut **tx)
        .await?;
    for (id, name, clear, sealed) in rows {
        let place = Aad {
            table: col.table,
            column: col.column,
            row: id,
        };
        let plain = match (clear, sealed) {
            (Some(clear), _) => {
                report.sealed += 1;
                sluice_shared::sealed::Zeroizing::new(clear.into_bytes())
            }
            (None, Some(_)) if mode == Mode::SealClear => continue,
            (None, Some(sealed)) => match keys.open(&sealed, place) {
                Ok(_) if keys.is_current(&sealed) => {
                    report.current += 1;
                    continue;
                }
                Ok(plain) => {
                    report.resealed += 1;
                    plain
                }
                Err(e) => {
                    let what = format!("{} '{name}' (id {id}) {}: {e}", col.table, col.column);
                    report.unreadable.push(what);
                    continue;
                }
            },
            (None, None) => continue,
        };
        let sealed = keys.seal(&plain, place).map_err(|_| AtRestError::NoKey)?;
        sqlx::query(col.write)
            .persistent(false)
            .bind(id)
            .bind(sealed)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// At the api's start-up: with a key, seal the source secrets stored in clear text before it
/// (idempotent; a failure is logged and left to the next start or `secrets rotate`, the
/// clear-text secrets keep working meanwhile); without one, say that some are in clear text.
pub async fn at_start_up(db: &PgPool, keys: &Keyring) {
    // Counted first, without locks: replicas starting with nothing to seal lock no row.
    let clear = "SELECT count(*) FROM sources WHERE secret IS NOT NULL OR next_secret IS NOT NULL";
    let Ok(n @ 1..) = sqlx::query_scalar::<_, i64>(clear)
        .persistent(false)
        .fetch_one(db)
        .await
    else {
        return;
    };
    if !keys.can_seal() {
        tracing::warn!(
            sources = n,
            "source signing secrets are stored in clear text: set SLUICE_SECRETS_KEY to encrypt them"
        );
        return;
    }
    match run(db, keys, Mode::SealClear).await {
        Ok(r) if r.sealed > 0 => tracing::info!(
            sealed = r.sealed,
            key = %keys.current_id().unwrap_or_default(),
            "clear-text secrets encrypted under SLUICE_SECRETS_KEY"
        ),
        Ok(_) => {}
        Err(e) => {
            tracing::warn!(error = %e, "encrypting clear-text secrets failed; will retry at the next start")
        }
    }
}
