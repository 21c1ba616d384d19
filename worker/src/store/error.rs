//! What a failed statement means for the job: refused data (permanent) or an unavailable
//! database (worth retrying).

use std::sync::Arc;

use sqlx::postgres::PgDatabaseError;

/// Why a row could not be written.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// Postgres refused the row itself (SQLSTATE class 22 data exception, e.g. `\u0000` in
    /// `jsonb`; class 54 program limit, e.g. nesting too deep): it fails the same way on every
    /// attempt, so retrying only delays the dead letter. Carries Postgres's own message.
    #[error("postgres refused the row: {0}")]
    Refused(String),
    /// Anything else (Postgres down, pool exhausted, a lost connection): worth retrying.
    #[error("{0}")]
    Unavailable(Arc<sqlx::Error>),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if !is_data_error(&e) {
            return StoreError::Unavailable(Arc::new(e));
        }
        let sqlx::Error::Database(db) = &e else {
            unreachable!("is_data_error only accepts database errors")
        };
        let code = db.code().unwrap_or_default();
        let detail = db
            .try_downcast_ref::<PgDatabaseError>()
            .and_then(|pg| pg.detail())
            .map(|d| format!(": {d}"))
            .unwrap_or_default();
        StoreError::Refused(format!("{}{detail} (SQLSTATE {code})", db.message()))
    }
}

/// Whether Postgres refused the data rather than failed to take it: SQLSTATE classes 22 (data
/// exception) and 54 (program limit exceeded).
pub fn is_data_error(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db)
        if db.code().is_some_and(|c| c.starts_with("22") || c.starts_with("54")))
}
