//! SQL of the `sources` table, one function per statement, and the row ↔ [`Source`] mapping.

use std::{collections::HashMap, time::Duration};

use sqlx::{PgExecutor, PgPool};

use super::{Locator, Pointer, Source, header_name};
use crate::registry::Table;

/// The source registry ([`super::SourceRegistry`]) holds every usable source by name.
impl Table for Source {
    const WHAT: &'static str = "source registry";
    const LABEL: &'static str = "sources";

    async fn load(db: &PgPool) -> Result<HashMap<String, Source>, sqlx::Error> {
        Ok(all(db)
            .await?
            .into_iter()
            .map(|s| (s.name.clone(), s))
            .collect())
    }
}

/// `SELECT <every column> FROM sources <tail>`, as one literal (sqlx takes only static SQL).
macro_rules! select {
    ($tail:literal) => {
        concat!(
            "SELECT name, scheme, secret, next_secret, idempotency_header, idempotency_pointer, ",
            "rate_key_pointer, kind_header, kind_pointer, lane, tolerance_s FROM sources ",
            $tail
        )
    };
}

/// A `sources` row as stored.
#[derive(sqlx::FromRow)]
struct Row {
    name: String,
    scheme: String,
    secret: String,
    next_secret: Option<String>,
    idempotency_header: Option<String>,
    idempotency_pointer: Option<String>,
    rate_key_pointer: Option<String>,
    kind_header: Option<String>,
    kind_pointer: Option<String>,
    lane: String,
    tolerance_s: i32,
}

impl TryFrom<Row> for Source {
    type Error = String;
    fn try_from(r: Row) -> Result<Self, Self::Error> {
        let locator = |header: Option<String>, pointer: Option<String>| match (header, pointer) {
            (Some(h), _) => header_name(&h).map(|h| Some(Locator::Header(h))),
            (None, Some(p)) => p.parse().map(|p| Some(Locator::Pointer(p))),
            (None, None) => Ok(None),
        };
        Ok(Source {
            scheme: r.scheme.parse()?,
            secret: r.secret.parse()?,
            next_secret: r.next_secret.map(|s| s.parse()).transpose()?,
            idempotency: locator(r.idempotency_header, r.idempotency_pointer)?,
            kind: locator(r.kind_header, r.kind_pointer)?,
            rate_key: r.rate_key_pointer.map(|p| p.parse()).transpose()?,
            lane: r.lane.parse().map_err(|e| format!("{e}"))?,
            tolerance: Duration::from_secs(
                u64::try_from(r.tolerance_s).map_err(|e| e.to_string())?,
            ),
            name: r.name,
        })
    }
}

/// The two columns of a locator: (header, pointer).
fn columns(l: &Option<Locator>) -> (Option<&str>, Option<&str>) {
    match l {
        Some(Locator::Header(h)) => (Some(h.as_str()), None),
        Some(Locator::Pointer(p)) => (None, Some(p.as_str())),
        None => (None, None),
    }
}

/// Every source that can be used; a row that cannot (edited by hand into nonsense) is skipped
/// with a warning rather than taking all the others down with it.
pub async fn all(db: &PgPool) -> Result<Vec<Source>, sqlx::Error> {
    let rows: Vec<Row> = sluice_shared::db::fetch_all(db, select!("ORDER BY name")).await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let name = row.name.clone();
            Source::try_from(row)
                .inspect_err(
                    |e| tracing::warn!(source = %name, error = %e, "unusable sources row skipped"),
                )
                .ok()
        })
        .collect())
}

/// One source, locked for the rest of the transaction (a read-modify-write by `sources update`).
pub async fn get_for_update<'e>(
    db: impl PgExecutor<'e>,
    name: &str,
) -> Result<Option<Result<Source, String>>, sqlx::Error> {
    let row: Option<Row> = sqlx::query_as(select!("WHERE name = $1 FOR UPDATE"))
        .persistent(false)
        .bind(name)
        .fetch_optional(db)
        .await?;
    Ok(row.map(Source::try_from))
}

/// Inserts `s`; false when a source of that name exists (it is left alone).
pub async fn insert<'e>(db: impl PgExecutor<'e>, s: &Source) -> Result<bool, sqlx::Error> {
    write(
        db,
        s,
        "INSERT INTO sources (name, scheme, secret, next_secret, idempotency_header, idempotency_pointer,
                              rate_key_pointer, kind_header, kind_pointer, lane, tolerance_s)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (name) DO NOTHING",
    )
    .await
}

/// Replaces every setting of the source named `s.name`; false when there is none.
pub async fn update<'e>(db: impl PgExecutor<'e>, s: &Source) -> Result<bool, sqlx::Error> {
    write(
        db,
        s,
        "UPDATE sources SET scheme = $2, secret = $3, next_secret = $4, idempotency_header = $5,
                idempotency_pointer = $6, rate_key_pointer = $7, kind_header = $8, kind_pointer = $9,
                lane = $10, tolerance_s = $11, updated_at = now()
         WHERE name = $1",
    )
    .await
}

async fn write<'e>(
    db: impl PgExecutor<'e>,
    s: &Source,
    sql: &'static str,
) -> Result<bool, sqlx::Error> {
    let (idem_header, idem_pointer) = columns(&s.idempotency);
    let (kind_header, kind_pointer) = columns(&s.kind);
    let done = sqlx::query(sql)
        .persistent(false)
        .bind(&s.name)
        .bind(s.scheme.as_str())
        .bind(s.secret.expose())
        .bind(s.next_secret.as_ref().map(|n| n.expose()))
        .bind(idem_header)
        .bind(idem_pointer)
        .bind(s.rate_key.as_ref().map(Pointer::as_str))
        .bind(kind_header)
        .bind(kind_pointer)
        .bind(s.lane.as_str())
        .bind(i32::try_from(s.tolerance.as_secs()).unwrap_or(i32::MAX))
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes the source; false when there was none.
pub async fn remove(db: &PgPool, name: &str) -> Result<bool, sqlx::Error> {
    let mut tx = sluice_shared::db::begin(db).await?;
    let done = sqlx::query("DELETE FROM sources WHERE name = $1")
        .persistent(false)
        .bind(name)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(done.rows_affected() == 1)
}
