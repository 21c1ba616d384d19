//! Whether Postgres and Redis can be reached, checked once at start-up with one connection each,
//! and what a failure was: host, port and one cause (refused, timed out, authentication, TLS),
//! instead of a pool's "timed out while waiting for an open connection" after its retries.
//!
//! No text here carries a password: the URL is never printed, only its host and port.

use std::{error::Error as StdError, fmt, io, sync::Arc, time::Duration};

use sqlx::{
    Connection, PgConnection,
    postgres::{PgConnectOptions, PgSslMode},
};

use crate::tls::TlsConfig;

/// A connection that could not be made.
#[derive(Debug, thiserror::Error)]
#[error("cannot connect to {service} at {host}:{port}: {cause}")]
pub struct ReachError {
    pub service: &'static str,
    pub host: String,
    pub port: u16,
    pub cause: Cause,
}

impl ReachError {
    /// A wrong password, user or certificate does not heal by waiting, an outage may: the
    /// first stops start-up, the second is logged and the process starts unready.
    pub fn is_misconfiguration(&self) -> bool {
        matches!(self.cause, Cause::Auth(_) | Cause::Tls(_))
    }
}

#[derive(Debug)]
pub enum Cause {
    Refused,
    /// After this long (zero: the operating system gave up first).
    TimedOut(Duration),
    Auth(String),
    Tls(String),
    Other(String),
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Refused => write!(f, "connection refused (nothing listens on that port)"),
            // Zero: the operating system's timeout, not ours.
            Cause::TimedOut(d) if d.is_zero() => write!(f, "timed out"),
            Cause::TimedOut(d) => write!(f, "timed out after {}", humantime::format_duration(*d)),
            Cause::Auth(e) => write!(f, "authentication failed: {e}"),
            Cause::Tls(e) => write!(f, "TLS: {e}"),
            Cause::Other(e) => write!(f, "{e}"),
        }
    }
}

/// How the one start-up connection to Postgres went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Tls,
    Plain,
    /// The server has no `pg_stat_ssl` to ask.
    Unknown,
}

/// Opens one connection with `options` (what the pool will use), within `within`, and reports
/// whether it is encrypted.
pub async fn postgres(
    options: &PgConnectOptions,
    within: Duration,
) -> Result<Transport, ReachError> {
    let fail = |cause| ReachError {
        service: "postgres",
        host: options.get_host().to_owned(),
        port: options.get_port(),
        cause,
    };
    let connect = async {
        let mut conn = PgConnection::connect_with(options).await?;
        // A server without pg_stat_ssl (a Postgres look-alike) is not a failed connection.
        let ssl: Option<bool> =
            sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                .persistent(false)
                .fetch_optional(&mut conn)
                .await
                .unwrap_or(None);
        let _ = conn.close().await;
        Ok::<_, sqlx::Error>(ssl)
    };
    match tokio::time::timeout(within, connect).await {
        Err(_) => Err(fail(Cause::TimedOut(within))),
        Ok(Err(e)) => Err(fail(postgres_cause(&e, options.get_host()))),
        Ok(Ok(Some(true))) => Ok(Transport::Tls),
        Ok(Ok(Some(false))) => Ok(Transport::Plain),
        Ok(Ok(None)) => Ok(Transport::Unknown),
    }
}

/// Logs, once, that `sslmode=prefer` (libpq's and sqlx's default) or `allow` ended in plain text.
pub fn warn_if_plain(options: &PgConnectOptions, transport: Transport) {
    let lenient = matches!(options.get_ssl_mode(), PgSslMode::Prefer | PgSslMode::Allow);
    if lenient && transport == Transport::Plain {
        tracing::warn!(
            host = options.get_host(),
            port = options.get_port(),
            "postgres connection is NOT encrypted: the server offered no TLS and sslmode is prefer/allow \
             (the default); set sslmode=verify-full in DATABASE_URL to require TLS"
        );
    }
}

fn postgres_cause(e: &sqlx::Error, host: &str) -> Cause {
    if let Some(tls) = find_rustls(e) {
        return Cause::Tls(describe_tls(tls, host));
    }
    match e {
        sqlx::Error::Io(io) if io.kind() == io::ErrorKind::ConnectionRefused => Cause::Refused,
        sqlx::Error::Io(io) if io.kind() == io::ErrorKind::TimedOut => {
            Cause::TimedOut(Duration::ZERO)
        }
        sqlx::Error::Tls(t) => Cause::Tls(t.to_string()),
        // Class 28: invalid authorization (bad password, unknown role, pg_hba refusal).
        sqlx::Error::Database(db) if db.code().is_some_and(|c| c.starts_with("28")) => {
            Cause::Auth(db.message().to_owned())
        }
        other => Cause::Other(other.to_string()),
    }
}

/// Opens one connection with `client` (see [`crate::queue::client`]) and sends a PING, within
/// `within`.
pub async fn redis(client: &redis::Client, within: Duration) -> Result<(), ReachError> {
    let (host, port) = match client.get_connection_info().addr() {
        redis::ConnectionAddr::Tcp(h, p)
        | redis::ConnectionAddr::TcpTls {
            host: h, port: p, ..
        } => (h.clone(), *p),
        other => (other.to_string(), 0),
    };
    let ping = async {
        let mut conn = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING").query_async::<String>(&mut conn).await
    };
    let cause = match tokio::time::timeout(within, ping).await {
        Ok(Ok(_)) => return Ok(()),
        Err(_) => Cause::TimedOut(within),
        Ok(Err(e)) => redis_cause(&e, &host),
    };
    Err(ReachError {
        service: "redis",
        host,
        port,
        cause,
    })
}

/// [`redis`] at a serving process's start-up: a misconfiguration (auth, TLS) is an error naming
/// `setting`; an outage is logged once (the connections are lazy and the process starts unready).
pub async fn redis_at_startup(url: &str, tls: &TlsConfig, setting: &str) -> anyhow::Result<()> {
    let client = crate::queue::client(url, tls)
        .map_err(|e| anyhow::anyhow!("{setting} is not a valid Redis URL: {e}"))?;
    match redis(&client, Duration::from_secs(5)).await {
        Ok(()) => Ok(()),
        Err(e) if e.is_misconfiguration() => Err(anyhow::anyhow!("{setting}: {e}")),
        Err(e) => {
            tracing::warn!(error = %e, setting, "redis unreachable at start-up; starting unready");
            Ok(())
        }
    }
}

fn redis_cause(e: &redis::RedisError, host: &str) -> Cause {
    if let Some(tls) = find_rustls(e) {
        return Cause::Tls(describe_tls(tls, host));
    }
    if e.is_connection_refusal() {
        Cause::Refused
    } else if e.is_timeout() {
        Cause::TimedOut(Duration::ZERO)
    } else if e.kind() == redis::ErrorKind::AuthenticationFailed
        || matches!(e.code(), Some("WRONGPASS" | "NOAUTH" | "NOPERM"))
    {
        Cause::Auth(e.to_string())
    } else {
        Cause::Other(e.to_string())
    }
}

/// The rustls error somewhere in `e`'s chain. rustls's errors travel inside `io::Error`s (whose
/// `source()` skips them) and redis-rs keeps its causes in an `Arc`: both are looked into.
fn find_rustls<'a>(e: &'a (dyn StdError + 'static)) -> Option<&'a rustls::Error> {
    let mut next = Some(e);
    while let Some(e) = next {
        if let Some(t) = e.downcast_ref::<rustls::Error>() {
            return Some(t);
        }
        if let Some(inner) = e
            .downcast_ref::<io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| find_rustls(inner))
        {
            return Some(inner);
        }
        if let Some(arc) = e.downcast_ref::<Arc<dyn StdError + Send + Sync>>() {
            return find_rustls(&**arc);
        }
        next = e.source();
    }
    None
}

/// The two refusals an operator meets most, in words that say what to fix.
fn describe_tls(e: &rustls::Error, host: &str) -> String {
    use rustls::CertificateError as C;
    match e {
        rustls::Error::InvalidCertificate(C::UnknownIssuer) => format!(
            "the server's certificate is not signed by a trusted CA (unknown issuer; trusted are \
             the system's roots and SLUICE_CA_FILE, or the URL's sslrootcert): {e}"
        ),
        rustls::Error::InvalidCertificate(
            C::NotValidForName | C::NotValidForNameContext { .. },
        ) => {
            format!("the server's certificate is not valid for the host name {host}: {e}")
        }
        other => other.to_string(),
    }
}
