//! TLS everywhere against real servers the test starts with certificates made by `openssl`: a
//! Postgres cluster that takes TLS connections only (`hostssl`), a `redis-server` with a TLS
//! port only, and an https forward target. The api, the worker and the CLI verify them fully
//! (`sslmode=verify-full`, `rediss://`, https) against the test CA given as `SLUICE_CA_FILE`;
//! a wrong CA or host name, a closed port and a bad password are refused with an error naming
//! host, port and cause.

mod https_target;

use std::{process::Stdio, time::Duration};

use sluice_testkit::{
    TestDb, free_port, prefix, redis_url,
    servers::{PgCluster, TestPki, TlsRedis},
    wait_until,
};
use tokio::process::Command;

use crate::{
    api::{self, spawn_api},
    common::{spawn_worker, spawn_worker_logged},
    target::SECRET,
};
use https_target::HttpsTarget;

/// `postgres://ROLE@HOST:PORT/DB?sslmode=verify-full`: no `sslrootcert`, so `SLUICE_CA_FILE`
/// is the root.
fn verify_full(role: &str, host: &str, port: u16, db: &str) -> String {
    format!("postgres://{role}@{host}:{port}/{db}?sslmode=verify-full")
}

/// Runs `program ARGS` with `env`; returns whether it succeeded and its stderr.
async fn run(program: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let out = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .await
        .expect("the binary runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn api_cli(args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    run(api::binary().await, args, env).await
}

async fn dlq_list(redis_url: &str, ca: &str) -> (bool, String) {
    let env = [("REDIS_URL", redis_url), ("SLUICE_CA_FILE", ca)];
    run(
        env!("CARGO_BIN_EXE_sluice-worker").as_ref(),
        &["dlq", "list"],
        &env,
    )
    .await
}

#[tokio::test]
async fn an_update_crosses_tls_to_postgres_redis_and_an_https_target() {
    let pki = TestPki::make().await.unwrap();
    let ca = pki.path("ca.pem");
    let pg = PgCluster::start_tls(&pki, "server").await.unwrap();
    // The test's own connection names its root in the URL; the binaries get SLUICE_CA_FILE.
    let admin = format!(
        "{}&sslrootcert={ca}",
        verify_full("postgres", "localhost", pg.port, "postgres")
    );
    let db = TestDb::fresh_on(&admin).await.unwrap();
    let url = verify_full("postgres", "localhost", pg.port, &db.name);
    let redis = TlsRedis::start(&pki, "server", None).await.unwrap();
    let redis_url = redis.url("localhost", None);
    let target = HttpsTarget::start(&pki, "server").await;
    let ca_env = ("SLUICE_CA_FILE", ca.as_str());

    // The CLI: migrate, add a bot and list it, all over verify-full.
    let db_env = [("DATABASE_URL", url.as_str()), ca_env];
    let (ok, err) = api_cli(&["migrate"], &db_env).await;
    assert!(ok, "sluice-api migrate over TLS: {err}");
    let mut add_env = db_env.to_vec();
    add_env.push(("SLUICE_BOT_SECRET", "tok"));
    let (ok, err) = api_cli(&["bots", "add", "tls_bot"], &add_env).await;
    assert!(ok, "sluice-api bots add over TLS: {err}");

    let prefix = prefix();
    let mut api = spawn_api(&url, &redis_url, &prefix, &[ca_env]).await;
    let target_url = target.url();
    let worker_env = [
        ca_env,
        ("SLUICE_HANDLER", "forward"),
        ("SLUICE_FORWARD_URL", target_url.as_str()),
        ("SLUICE_FORWARD_SECRET", SECRET),
    ];
    let mut worker = spawn_worker(&url, &redis_url, &prefix, &worker_env);

    let body = r#"{"update_id":77,"message":{"message_id":1,"chat":{"id":5,"type":"private"},"date":1764000000,"text":"over tls"}}"#;
    let resp = reqwest::Client::new()
        .post(format!("{}/webhook/telegram/tls_bot", api.base))
        .header("X-Telegram-Bot-Api-Secret-Token", "tok")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    let handled = wait_until(Duration::from_secs(30), || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM updates WHERE bot = 'tls_bot' AND update_id = 77 AND handled_at IS NOT NULL",
        )
        .fetch_one(&db.pool)
        .await
        .is_ok_and(|n| n == 1)
    })
    .await;
    assert!(handled, "no handled row for update 77");
    let bodies = target.bodies();
    assert_eq!(bodies.len(), 1, "the https target saw {bodies:?}");
    assert_eq!(&bodies[0][..], body.as_bytes());

    worker.kill9().await;
    api.kill().await;
}

#[tokio::test]
async fn wrong_ca_wrong_host_closed_port_and_bad_password_are_named() {
    let pki = TestPki::make().await.unwrap();
    let (ca, other_ca) = (pki.path("ca.pem"), pki.path("other-ca.pem"));
    let mut pg = PgCluster::start_tls(&pki, "server").await.unwrap();
    let redis = TlsRedis::start(&pki, "server", Some("s3cret-redis"))
        .await
        .unwrap();
    let pg_at = format!("postgres at localhost:{}", pg.port);
    let redis_at = format!("redis at localhost:{}", redis.port);
    let migrate = async |url: &str, ca: &str| {
        api_cli(
            &["migrate"],
            &[("DATABASE_URL", url), ("SLUICE_CA_FILE", ca)],
        )
        .await
    };
    let url = verify_full("postgres", "localhost", pg.port, "postgres");

    // A CA that did not sign the server's certificate.
    let (ok, err) = migrate(&url, &other_ca).await;
    assert!(!ok);
    assert!(
        err.contains(&format!(
            "cannot connect to {pg_at}: TLS: the server's certificate is not signed by a trusted CA"
        )),
        "{err}"
    );
    let (ok, err) = dlq_list(&redis.url("localhost", Some("s3cret-redis")), &other_ca).await;
    assert!(!ok);
    assert!(
        err.contains(&format!("cannot connect to {redis_at}: TLS: the server's certificate is not signed by a trusted CA")),
        "{err}"
    );
    assert!(!err.contains("s3cret-redis"), "{err}");

    // A password Redis does not take; a role Postgres does not know.
    let (ok, err) = dlq_list(&redis.url("localhost", Some("wrong-pass")), &ca).await;
    assert!(!ok);
    assert!(
        err.contains(&format!(
            "cannot connect to {redis_at}: authentication failed"
        )),
        "{err}"
    );
    assert!(!err.contains("wrong-pass"), "{err}");
    let stranger = "postgres://nobody:hunter2@localhost:".to_owned()
        + &format!("{}/postgres?sslmode=verify-full", pg.port);
    let (ok, err) = migrate(&stranger, &ca).await;
    assert!(!ok);
    assert!(
        err.contains(&format!("cannot connect to {pg_at}: authentication failed")),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");

    // Nothing listens: refused, said once, not a pool's timeout.
    let closed = free_port();
    let (ok, err) = migrate(
        &format!("postgres://postgres@127.0.0.1:{closed}/postgres"),
        &ca,
    )
    .await;
    assert!(!ok);
    assert!(
        err.contains(&format!(
            "cannot connect to postgres at 127.0.0.1:{closed}: connection refused"
        )),
        "{err}"
    );
    assert!(!err.contains("pool timed out"), "{err}");
    let (ok, err) = dlq_list(&format!("redis://127.0.0.1:{closed}"), &ca).await;
    assert!(!ok);
    assert!(
        err.contains(&format!(
            "cannot connect to redis at 127.0.0.1:{closed}: connection refused"
        )),
        "{err}"
    );

    // Certificates for another host name, signed by the trusted CA.
    let wrong = TlsRedis::start(&pki, "wrong-host", None).await.unwrap();
    let (ok, err) = dlq_list(&wrong.url("localhost", None), &ca).await;
    assert!(!ok);
    assert!(
        err.contains(&format!("cannot connect to redis at localhost:{}: TLS: the server's certificate is not valid for the host name localhost", wrong.port)),
        "{err}"
    );
    pg.use_cert(&pki, "wrong-host").await.unwrap();
    let (ok, err) = migrate(&url, &ca).await;
    assert!(!ok);
    assert!(
        err.contains(&format!("cannot connect to {pg_at}: TLS: the server's certificate is not valid for the host name localhost")),
        "{err}"
    );
}

#[tokio::test]
async fn sslmode_prefer_falling_back_to_plain_text_is_a_warning() {
    let warning = "postgres connection is NOT encrypted";
    let plain = PgCluster::start(20).await.unwrap();
    let db = TestDb::fresh_on(&plain.admin_url()).await.unwrap();
    let prefer = format!("{}?sslmode=prefer", db.url);
    let (mut worker, log) = spawn_worker_logged(&prefer, &redis_url(), &prefix(), &[]);
    let warned = wait_until(Duration::from_secs(30), || async {
        std::fs::read_to_string(&log).is_ok_and(|l| l.contains(warning))
    })
    .await;
    worker.kill9().await;
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    assert!(warned, "no warning about plain text:\n{text}");

    // The same default against a server that offers TLS: encrypted, no warning.
    let pki = TestPki::make().await.unwrap();
    let tls = PgCluster::start_tls(&pki, "server").await.unwrap();
    let admin = format!("{}?sslmode=require", tls.admin_url());
    let db = TestDb::fresh_on(&admin).await.unwrap();
    let prefer = format!("{}?sslmode=prefer", db.url.split('?').next().unwrap());
    let (mut worker, log) = spawn_worker_logged(&prefer, &redis_url(), &prefix(), &[]);
    let started = wait_until(Duration::from_secs(30), || async {
        std::fs::read_to_string(&log).is_ok_and(|l| l.contains("sluice-worker starting"))
    })
    .await;
    worker.kill9().await;
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    assert!(started, "the worker did not start:\n{text}");
    assert!(!text.contains(warning), "{text}");
}
