//! The `sluice-api sources add|update|list|remove` commands (the `sources` table's only
//! writers, through [`crate::sources::manage`]), and their options applied to a source.
//!
//! Nothing here prints a secret: `list` shows names, schemes and options, and whether a next
//! secret is pending.

use std::time::Duration;

use clap::Subcommand;
use sluice_shared::{
    config::duration_between,
    db,
    lanes::Lane,
    output::{OutputArgs, print_json},
    sealed::SecretsConfig,
};
use sqlx::PgPool;

use crate::{
    config::DbOnly,
    signature::{Scheme, Secret},
    sources::{
        Locator, Source, header_name,
        manage::{self, Listed, Rotation, SourcesError, describe},
        store,
    },
};

#[derive(Subcommand, Debug)]
pub enum SourcesCommand {
    /// Register a signed-webhook source; it posts to /webhook/hooks/NAME.
    Add {
        /// The source's name, used in its webhook URL (1-64 of A-Z a-z 0-9 _ -).
        name: String,
        /// How the provider signs: github (X-Hub-Signature-256), stripe (Stripe-Signature) or
        /// plain (X-Signature, hex HMAC-SHA256 of the body).
        #[arg(long)]
        scheme: Scheme,
        /// The signing secret ("-" reads it from stdin). HMAC needs it back, so it is stored
        /// encrypted under SLUICE_SECRETS_KEY (in clear text when no key is set).
        #[arg(long, env = "SLUICE_SOURCE_SECRET", hide_env_values = true)]
        secret: Secret,
        /// A second secret accepted as well, while rotating ("-" reads it from stdin).
        #[arg(long, env = "SLUICE_SOURCE_NEXT_SECRET", hide_env_values = true)]
        next_secret: Option<Secret>,
        #[command(flatten)]
        options: SourceOptions,
        #[command(flatten)]
        keys: SecretsConfig,
        #[command(flatten)]
        db: DbOnly,
    },
    /// Change a source: rotate its secret, or change options (an empty value clears one).
    Update {
        name: String,
        #[arg(long)]
        scheme: Option<Scheme>,
        /// Replace the current secret at once (prefer --next-secret, then --promote-next);
        /// "-" reads it from stdin. No environment fallback here: a variable left over from
        /// `add` must not silently change a secret.
        #[arg(long)]
        secret: Option<Secret>,
        /// Accept this secret as well as the current one (step 1 of a rotation); "-" reads it
        /// from stdin.
        #[arg(long)]
        next_secret: Option<Secret>,
        /// Make the next secret the only one (step 2, once the provider signs with it).
        #[arg(long)]
        promote_next: bool,
        /// Forget the next secret (rotation abandoned).
        #[arg(long)]
        drop_next: bool,
        #[command(flatten)]
        options: SourceOptions,
        #[command(flatten)]
        keys: SecretsConfig,
        #[command(flatten)]
        db: DbOnly,
    },
    /// List sources: names, schemes and options, never secrets.
    List {
        #[command(flatten)]
        output: OutputArgs,
        #[command(flatten)]
        db: DbOnly,
    },
    /// Remove a source; its webhook answers 404 from then on.
    Remove {
        name: String,
        #[command(flatten)]
        db: DbOnly,
    },
}

/// The options `add` and `update` share; on `update` an empty value clears the option.
#[derive(clap::Args, Debug, Default)]
pub struct SourceOptions {
    /// Header holding the provider's delivery id, used as the idempotency key (not covered by
    /// the signature: prefer a pointer). Default: SHA-256 of the body.
    #[arg(long, value_name = "HEADER", conflicts_with = "idempotency_pointer")]
    pub idempotency_header: Option<String>,
    /// JSON pointer to the event id in the body, used as the idempotency key (Stripe: /id).
    #[arg(long, value_name = "POINTER")]
    pub idempotency_pointer: Option<String>,
    /// JSON pointer to the admission-control (rate limit) key, e.g. /data/object/customer.
    #[arg(long, value_name = "POINTER")]
    pub rate_key_pointer: Option<String>,
    /// JSON pointer to the event type (Stripe: /type). Default kind: "event".
    #[arg(long, value_name = "POINTER", conflicts_with = "kind_header")]
    pub kind_pointer: Option<String>,
    /// Header holding the event type (GitHub: X-GitHub-Event).
    #[arg(long, value_name = "HEADER")]
    pub kind_header: Option<String>,
    /// Lane of the source's events: high, normal (default) or low.
    #[arg(long)]
    pub lane: Option<Lane>,
    /// Stripe: how far the signed timestamp may be from now (default 300s, at most 1d).
    #[arg(long, value_parser = duration_between(Duration::from_secs(1), Duration::from_secs(86_400)))]
    pub tolerance: Option<Duration>,
}

impl SourceOptions {
    /// Sets what was given on `s`; an empty value clears.
    pub fn apply(self, s: &mut Source) -> Result<(), SourcesError> {
        if let Some(v) = self.idempotency_header {
            s.idempotency = locator(&v, as_header)?;
        }
        if let Some(v) = self.idempotency_pointer {
            s.idempotency = locator(&v, as_pointer)?;
        }
        if let Some(v) = self.kind_header {
            s.kind = locator(&v, as_header)?;
        }
        if let Some(v) = self.kind_pointer {
            s.kind = locator(&v, as_pointer)?;
        }
        if let Some(v) = self.rate_key_pointer {
            s.rate_key = match v.as_str() {
                "" => None,
                p => Some(p.parse().map_err(SourcesError::BadOption)?),
            };
        }
        if let Some(lane) = self.lane {
            s.lane = lane;
        }
        if let Some(t) = self.tolerance {
            s.tolerance = t;
        }
        Ok(())
    }
}

/// An option value: empty clears it, anything else must parse.
fn locator(
    v: &str,
    parse: fn(&str) -> Result<Locator, String>,
) -> Result<Option<Locator>, SourcesError> {
    match v {
        "" => Ok(None),
        v => parse(v).map(Some).map_err(SourcesError::BadOption),
    }
}

fn as_header(v: &str) -> Result<Locator, String> {
    header_name(v).map(Locator::Header)
}

fn as_pointer(v: &str) -> Result<Locator, String> {
    v.parse().map(Locator::Pointer)
}

/// Runs one `sources` command, printing what it did.
pub async fn run(cmd: SourcesCommand) -> anyhow::Result<()> {
    match cmd {
        SourcesCommand::Add {
            name,
            scheme,
            secret,
            next_secret,
            options,
            keys,
            db: DbOnly { db: cfg },
        } => {
            let keys = keyring(&keys)?;
            let pool = pool(&cfg).await?;
            let mut s = Source::new(&name, scheme, from_stdin(secret)?);
            s.next_secret = next_secret.map(from_stdin).transpose()?;
            options.apply(&mut s)?;
            manage::add_sealed(&pool, &keys, &s).await?;
            println!(
                "added source '{name}' ({}): POST /webhook/hooks/{name}",
                scheme.as_str()
            );
            warn_unsigned_key(&s);
        }
        SourcesCommand::Update {
            name,
            scheme,
            secret,
            next_secret,
            promote_next,
            drop_next,
            options,
            keys,
            db: DbOnly { db: cfg },
        } => {
            let keys = keyring(&keys)?;
            let pool = pool(&cfg).await?;
            let rotation = Rotation {
                secret: secret.map(from_stdin).transpose()?,
                next_secret: next_secret.map(from_stdin).transpose()?,
                promote_next,
                drop_next,
            };
            let s = manage::update_sealed(&pool, &keys, &name, |s| {
                if let Some(scheme) = scheme {
                    s.scheme = scheme;
                }
                rotation.apply(s)?;
                options.apply(s)
            })
            .await?;
            let n = s.secrets().count();
            println!(
                "updated source '{name}' ({}); {n} secret(s) accepted",
                s.scheme.as_str()
            );
            warn_unsigned_key(&s);
        }
        SourcesCommand::List {
            output,
            db: DbOnly { db: cfg },
        } => {
            // Listing shows no secret, but a source is read whole: its secrets open with the
            // key in the environment, as the api's do.
            let env = SecretsConfig::from_env().map_err(anyhow::Error::msg)?;
            let keys = env.keyring().map_err(anyhow::Error::msg)?;
            let pool = db::connect(&cfg, "sluice-api sources").await?;
            let all = store::all(&pool, &keys).await?;
            if output.is_json() {
                let listed: Vec<Listed> = all.iter().map(Listed::from).collect();
                return Ok(print_json(&listed)?);
            }
            for s in &all {
                println!("{}", describe(s));
            }
            println!("{} source(s)", all.len());
            let rows = store::count(&pool).await?;
            if rows > all.len() as i64 {
                eprintln!(
                    "note: {} more source(s) not shown: unusable as stored, or sealed under a key \
                     not given (SLUICE_SECRETS_KEY); `sluice-api secrets rotate` names them",
                    rows - all.len() as i64
                );
            }
        }
        SourcesCommand::Remove {
            name,
            db: DbOnly { db: cfg },
        } => {
            manage::remove(&db::connect(&cfg, "sluice-api sources").await?, &name).await?;
            println!("removed source '{name}'");
        }
    }
    Ok(())
}

/// A secret given as "-" is read from stdin (one line), keeping it out of `ps` and history.
pub(crate) fn from_stdin(secret: Secret) -> anyhow::Result<Secret> {
    if secret.expose() != "-" {
        return Ok(secret);
    }
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    line.trim_end_matches(['\r', '\n'])
        .parse()
        .map_err(|e: String| anyhow::anyhow!("the secret on stdin: {e}"))
}

/// The keys, or one line naming the variable at fault; without a key secrets are stored in
/// clear text, as before keys existed, and the api seals them once it starts with one.
fn keyring(cfg: &SecretsConfig) -> anyhow::Result<sluice_shared::sealed::Keyring> {
    let keys = cfg.keyring().map_err(anyhow::Error::msg)?;
    if !keys.can_seal() {
        eprintln!(
            "note: SLUICE_SECRETS_KEY is not set: the signing secret is stored in clear text \
             (the api encrypts it once it starts with a key)"
        );
    }
    Ok(keys)
}

async fn pool(cfg: &sluice_shared::config::DatabaseConfig) -> anyhow::Result<PgPool> {
    let pool = db::connect(cfg, "sluice-api sources").await?;
    db::migrate(&pool).await.map_err(SourcesError::from)?;
    Ok(pool)
}

/// Without a timestamp, a header key is the replay hole: it is not signed, so a captured
/// delivery re-sent with a new header value would be a new event.
fn warn_unsigned_key(s: &Source) {
    if s.scheme != Scheme::Stripe && matches!(s.idempotency, Some(Locator::Header(_))) {
        eprintln!(
            "note: the idempotency header is not covered by the {} signature; a captured delivery \
             re-sent with another header value would be accepted again. A body pointer (or the \
             default body hash) avoids this.",
            s.scheme.as_str()
        );
    }
}
