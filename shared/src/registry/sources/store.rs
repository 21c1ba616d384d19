//! SQL of the `sources` table, one function per statement, and the row ↔ [`Source`] mapping:
//! secrets are sealed on the way in when a key is set ([`Keyring`]) and opened on the way out.

use std::{collections::HashMap, time::Duration};

use sqlx::{PgExecutor, PgPool};

use super::{Locator, Pointer, Source, header_name};
use crate::{
    sealed::{Aad, Keyring},
    secret::Secret,
};

/// `SELECT <every column> FROM sources <tail>`, as one literal (sqlx takes only static SQL).
macro_rules! select {
    ($tail:literal) => {
        concat!(
            "SELECT id, name, scheme, secret, next_secret, secret_sealed, next_secret_sealed, ",
            "idempotency_header, idempotency_pointer, ",
            "rate_key_pointer, kind_header, kind_pointer, lane, tolerance_s FROM sources ",
            $tail
        )
    };
}

/// A `sources` row as stored.
#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    name: String,
    scheme: String,
    secret: Option<String>,
    next_secret: Option<String>,
    secret_sealed: Option<Vec<u8>>,
    next_secret_sealed: Option<Vec<u8>>,
    idempotency_header: Option<String>,
    idempotency_pointer: Option<String>,
    rate_key_pointer: Option<String>,
    kind_header: Option<String>,
    kind_pointer: Option<String>,
    lane: String,
    tolerance_s: i32,
}

/// The place of a source's secret column, authenticated with its sealed value.
pub fn place(column: &'static str, row: i64) -> Aad<'static> {
    Aad {
        table: "sources",
        column,
        row,
    }
}

/// One secret column pair (clear text, sealed) made into the secret it holds, if any.
fn open(
    keys: &Keyring,
    column: &'static str,
    row: i64,
    clear: Option<String>,
    sealed: Option<Vec<u8>>,
) -> Result<Option<Secret>, String> {
    match (clear, sealed) {
        (Some(clear), _) => clear.parse().map(Some),
        (None, Some(sealed)) => {
            let plain = keys
                .open(&sealed, place(column, row))
                .map_err(|e| format!("its {column} cannot be decrypted: {e}"))?;
            let text =
                std::str::from_utf8(&plain).map_err(|_| format!("its {column} is not UTF-8"))?;
            text.parse().map(Some)
        }
        (None, None) => Ok(None),
    }
}

impl Row {
    fn into_source(self, keys: &Keyring) -> Result<Source, String> {
        let r = self;
        let secret =
            open(keys, "secret", r.id, r.secret, r.secret_sealed)?.ok_or("it has no secret")?;
        let next_secret = open(
            keys,
            "next_secret",
            r.id,
            r.next_secret,
            r.next_secret_sealed,
        )?;
        let locator = |header: Option<String>, pointer: Option<String>| match (header, pointer) {
            (Some(h), _) => header_name(&h).map(|h| Some(Locator::Header(h))),
            (None, Some(p)) => p.parse().map(|p| Some(Locator::Pointer(p))),
            (None, None) => Ok(None),
        };
        Ok(Source {
            scheme: r.scheme.parse()?,
            secret,
            next_secret,
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

/// Every source that can be used; a row that cannot (edited by hand into nonsense, or sealed
/// under a key we do not hold) is skipped with a warning naming it rather than taking all the
/// others down with it.
pub async fn all(db: &PgPool, keys: &Keyring) -> Result<Vec<Source>, sqlx::Error> {
    let rows: Vec<Row> = crate::db::fetch_all(db, select!("ORDER BY name")).await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let name = row.name.clone();
            row.into_source(keys)
                .inspect_err(
                    |e| tracing::warn!(source = %name, error = %e, "unusable sources row skipped"),
                )
                .ok()
        })
        .collect())
}

/// One source and its row id, locked for the rest of the transaction (a read-modify-write by
/// `sources update`).
pub async fn get_for_update<'e>(
    db: impl PgExecutor<'e>,
    keys: &Keyring,
    name: &str,
) -> Result<Option<(i64, Result<Source, String>)>, sqlx::Error> {
    let row: Option<Row> = sqlx::query_as(select!("WHERE name = $1 FOR UPDATE"))
        .persistent(false)
        .bind(name)
        .fetch_optional(db)
        .await?;
    Ok(row.map(|r| (r.id, r.into_source(keys))))
}

/// The next row id of `sources`: a sealed secret is bound to its row, so the id comes first.
pub async fn next_id<'e>(db: impl PgExecutor<'e>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT nextval(pg_get_serial_sequence('sources', 'id'))")
        .persistent(false)
        .fetch_one(db)
        .await
}

/// Inserts `s` as row `id`; false when a source of that name exists (it is left alone).
pub async fn insert<'e>(
    db: impl PgExecutor<'e>,
    keys: &Keyring,
    id: i64,
    s: &Source,
) -> Result<bool, sqlx::Error> {
    write(
        db,
        keys,
        id,
        s,
        "INSERT INTO sources (id, name, scheme, secret, next_secret, secret_sealed, next_secret_sealed,
                              idempotency_header, idempotency_pointer, rate_key_pointer, kind_header,
                              kind_pointer, lane, tolerance_s)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
         ON CONFLICT (name) DO NOTHING",
    )
    .await
}

/// Replaces every setting of source row `id`; false when there is none.
pub async fn update<'e>(
    db: impl PgExecutor<'e>,
    keys: &Keyring,
    id: i64,
    s: &Source,
) -> Result<bool, sqlx::Error> {
    write(
        db,
        keys,
        id,
        s,
        "UPDATE sources SET name = $2, scheme = $3, secret = $4, next_secret = $5,
                secret_sealed = $6, next_secret_sealed = $7, idempotency_header = $8,
                idempotency_pointer = $9, rate_key_pointer = $10, kind_header = $11,
                kind_pointer = $12, lane = $13, tolerance_s = $14, updated_at = now()
         WHERE id = $1",
    )
    .await
}

/// A secret as its two columns: sealed when a key is set, else clear text (as before issue 16;
/// sealed once a key is set, by the api's start-up or `secrets rotate`).
fn secret_columns(
    keys: &Keyring,
    column: &'static str,
    id: i64,
    secret: Option<&Secret>,
) -> (Option<String>, Option<Vec<u8>>) {
    match secret {
        None => (None, None),
        Some(s) => match keys.seal(s.expose().as_bytes(), place(column, id)) {
            Ok(sealed) => (None, Some(sealed)),
            Err(_) => (Some(s.expose().to_owned()), None),
        },
    }
}

async fn write<'e>(
    db: impl PgExecutor<'e>,
    keys: &Keyring,
    id: i64,
    s: &Source,
    sql: &'static str,
) -> Result<bool, sqlx::Error> {
    let (idem_header, idem_pointer) = columns(&s.idempotency);
    let (kind_header, kind_pointer) = columns(&s.kind);
    let (secret, secret_sealed) = secret_columns(keys, "secret", id, Some(&s.secret));
    let (next, next_sealed) = secret_columns(keys, "next_secret", id, s.next_secret.as_ref());
    let done = sqlx::query(sql)
        .persistent(false)
        .bind(id)
        .bind(&s.name)
        .bind(s.scheme.as_str())
        .bind(secret)
        .bind(next)
        .bind(secret_sealed)
        .bind(next_sealed)
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

/// When each source was added, by name (the listing's date; [`Source`] has no use for it).
pub async fn added_at(
    db: &PgPool,
) -> Result<HashMap<String, chrono::DateTime<chrono::Utc>>, sqlx::Error> {
    let rows: Vec<(String, chrono::DateTime<chrono::Utc>)> =
        crate::db::fetch_all(db, "SELECT name, created_at FROM sources").await?;
    Ok(rows.into_iter().collect())
}

/// Rows in `sources`, usable or not.
pub async fn count(db: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM sources")
        .persistent(false)
        .fetch_one(db)
        .await
}

/// Deletes the source; false when there was none.
pub async fn remove(db: &PgPool, name: &str) -> Result<bool, sqlx::Error> {
    let mut tx = crate::db::begin(db).await?;
    let done = sqlx::query("DELETE FROM sources WHERE name = $1")
        .persistent(false)
        .bind(name)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(done.rows_affected() == 1)
}
