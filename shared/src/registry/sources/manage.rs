//! Changing sources: validation, the insert that refuses a name in use, the locked
//! read-modify-write of `update`, secret rotation, and the secret-free listing line.

use sqlx::PgPool;

use super::{Source, store, valid_name};
use crate::{sealed::Keyring, secret::Secret};

#[derive(Debug, thiserror::Error)]
pub enum SourcesError {
    #[error("source names are 1-64 characters of A-Z a-z 0-9 _ - (got '{0}')")]
    BadName(String),
    #[error("{0}")]
    BadOption(String),
    #[error("a source named '{0}' exists; change it with `sources update`")]
    Exists(String),
    #[error("no source named '{0}'")]
    NotFound(String),
    #[error("source '{0}' is unusable as stored: {1}")]
    Unusable(String, String),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("applying migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// Registers `s` with its secrets in clear text (no key): tests and key-less set-ups.
pub async fn add(db: &PgPool, s: &Source) -> Result<(), SourcesError> {
    add_sealed(db, &Keyring::default(), s).await
}

/// Registers `s`, its secrets sealed when `keys` has a key; refuses a name in use, so options
/// are never reset by accident.
pub async fn add_sealed(db: &PgPool, keys: &Keyring, s: &Source) -> Result<(), SourcesError> {
    if !valid_name(&s.name) {
        return Err(SourcesError::BadName(s.name.clone()));
    }
    let mut tx = crate::db::begin(db).await?;
    let id = store::next_id(&mut *tx).await?;
    if !store::insert(&mut *tx, keys, id, s).await? {
        return Err(SourcesError::Exists(s.name.clone()));
    }
    tx.commit().await?;
    Ok(())
}

/// As [`update_sealed`], without a key (secrets stay or become clear text).
pub async fn update(
    db: &PgPool,
    name: &str,
    change: impl FnOnce(&mut Source) -> Result<(), SourcesError>,
) -> Result<Source, SourcesError> {
    update_sealed(db, &Keyring::default(), name, change).await
}

/// Changes source `name` with `change`, in one transaction holding the row's lock; its secrets
/// are written back sealed under the current key when `keys` has one.
pub async fn update_sealed(
    db: &PgPool,
    keys: &Keyring,
    name: &str,
    change: impl FnOnce(&mut Source) -> Result<(), SourcesError>,
) -> Result<Source, SourcesError> {
    let mut tx = crate::db::begin(db).await?;
    let (id, found) = store::get_for_update(&mut *tx, keys, name)
        .await?
        .ok_or_else(|| SourcesError::NotFound(name.to_owned()))?;
    let mut s = found.map_err(|e| SourcesError::Unusable(name.to_owned(), e))?;
    change(&mut s)?;
    store::update(&mut *tx, keys, id, &s).await?;
    tx.commit().await?;
    Ok(s)
}

/// Deletes source `name`; its webhook answers 404 once the api's registry has reloaded.
pub async fn remove(db: &PgPool, name: &str) -> Result<(), SourcesError> {
    if !store::remove(db, name).await? {
        return Err(SourcesError::NotFound(name.to_owned()));
    }
    Ok(())
}

/// The secret changes of `sources update`.
pub struct Rotation {
    pub secret: Option<Secret>,
    pub next_secret: Option<Secret>,
    pub promote_next: bool,
    pub drop_next: bool,
}

impl Rotation {
    pub fn apply(self, s: &mut Source) -> Result<(), SourcesError> {
        let given = [
            self.secret.is_some() || self.next_secret.is_some(),
            self.promote_next,
            self.drop_next,
        ];
        if given.iter().filter(|g| **g).count() > 1 {
            return Err(SourcesError::BadOption(
                "give new secrets, --promote-next or --drop-next, one at a time".into(),
            ));
        }
        if self.promote_next {
            s.secret = s.next_secret.take().ok_or_else(|| {
                SourcesError::BadOption(format!(
                    "source '{}' has no next secret to promote",
                    s.name
                ))
            })?;
        }
        if self.drop_next {
            s.next_secret = None;
        }
        if let Some(secret) = self.secret {
            s.secret = secret;
        }
        if let Some(next) = self.next_secret {
            s.next_secret = Some(next);
        }
        Ok(())
    }
}

/// One source as `sources list` shows it: everything but the secrets.
#[derive(Debug, serde::Serialize)]
pub struct Listed {
    pub name: String,
    pub scheme: &'static str,
    pub lane: String,
    pub idempotency: Option<String>,
    pub kind: Option<String>,
    pub rate_key: Option<String>,
    pub tolerance_s: u64,
    /// A next secret is accepted besides the current one (a rotation in progress).
    pub next_secret_pending: bool,
}

impl From<&Source> for Listed {
    fn from(s: &Source) -> Listed {
        Listed {
            name: s.name.clone(),
            scheme: s.scheme.as_str(),
            lane: s.lane.to_string(),
            idempotency: s.idempotency.as_ref().map(ToString::to_string),
            kind: s.kind.as_ref().map(ToString::to_string),
            rate_key: s.rate_key.as_ref().map(ToString::to_string),
            tolerance_s: s.tolerance.as_secs(),
            next_secret_pending: s.next_secret.is_some(),
        }
    }
}

/// One line of `sources list`: everything but the secrets.
pub fn describe(s: &Source) -> String {
    let l = Listed::from(s);
    let opt = |o: Option<String>| o.unwrap_or_else(|| "-".into());
    format!(
        "{}\tscheme={}\tlane={}\tidempotency={}\tkind={}\trate_key={}\ttolerance={}s\tnext_secret={}",
        l.name,
        l.scheme,
        l.lane,
        opt(l.idempotency),
        opt(l.kind),
        opt(l.rate_key),
        l.tolerance_s,
        if l.next_secret_pending {
            "pending"
        } else {
            "none"
        },
    )
}
