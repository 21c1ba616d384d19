//! Three real `sluice-api` processes sharing one Redis, load spread across them: the `redis`
//! scope admits the global limit exactly; the `local` scope admits it once per process.

use std::{
    process::Stdio,
    sync::{
        Arc,
        atomic::{AtomicI64, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use sluice_testkit::{TestDb, free_port, prefix, servers::RedisServer, wait_until};
use tokio::process::{Child, Command};

use crate::common::{BOT, SECRET, message};

const REPLICAS: usize = 3;
/// The global limit under test: 200/s with bursts of 20, over a 10 s run.
const RATE: f64 = 200.0;
const BURST: f64 = 20.0;
const RUN: Duration = Duration::from_secs(10);
/// Clients per replica, each sending every 10 ms: 300/s offered per replica, 900/s in all,
/// well above the limit in both scopes.
const CLIENTS: usize = 3;
const EVERY: Duration = Duration::from_millis(10);

struct Replica {
    addr: String,
    admin: String,
    _child: Child,
}

async fn start(scope: &str, db: &TestDb, redis: &str, prefix: &str) -> Replica {
    let (port, admin) = (free_port(), free_port());
    let child = Command::new(env!("CARGO_BIN_EXE_sluice-api"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &db.url)
        .env("REDIS_URL", redis)
        .env("SLUICE_QUEUE_PREFIX", prefix)
        .env("SLUICE_API_ADDR", format!("127.0.0.1:{port}"))
        .env("SLUICE_ADMIN_ADDR", format!("127.0.0.1:{admin}"))
        .env("SLUICE_AUTO_MIGRATE", "false")
        .env("SLUICE_RATE_SCOPE", scope)
        .env("SLUICE_RATE_GLOBAL_PER_SEC", RATE.to_string())
        .env("SLUICE_RATE_GLOBAL_BURST", BURST.to_string())
        // Only the global limit may bind: every update comes from a chat of its own.
        .env("SLUICE_RATE_BOT_PER_SEC", "1000000")
        .env("SLUICE_RATE_BOT_BURST", "1000000")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("sluice-api starts");
    let ready = format!("http://127.0.0.1:{admin}/readyz");
    let up = wait_until(Duration::from_secs(20), || {
        let ready = ready.clone();
        async move { reqwest::get(ready).await.is_ok_and(|r| r.status() == 200) }
    })
    .await;
    assert!(up, "sluice-api ({scope}) on port {port} became ready");
    Replica {
        addr: format!("http://127.0.0.1:{port}/webhook/telegram/{BOT}"),
        admin: format!("http://127.0.0.1:{admin}/metrics"),
        _child: child,
    }
}

/// Runs the load for [`RUN`] against three fresh replicas; returns (admitted, refused).
async fn run(scope: &str, db: &TestDb) -> (u64, u64) {
    let (admitted, refused, fallbacks) = run_counting_fallbacks(scope, db).await;
    eprintln!(
        "{scope} scope: {admitted} admitted, {refused} refused, {fallbacks} decided locally after a Redis failure"
    );
    (admitted, refused)
}

async fn run_counting_fallbacks(scope: &str, db: &TestDb) -> (u64, u64, f64) {
    // A Redis of their own, as in `super::spawn`.
    let mut redis = RedisServer::start().await.unwrap();
    let prefix = prefix();
    let mut replicas = Vec::new();
    for _ in 0..REPLICAS {
        replicas.push(start(scope, db, &redis.url(), &prefix).await);
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let next_id = Arc::new(AtomicI64::new(1));
    let (admitted, refused) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let deadline = Instant::now() + RUN;
    let mut clients = Vec::new();
    for replica in &replicas {
        for _ in 0..CLIENTS {
            let (client, url, next_id) = (client.clone(), replica.addr.clone(), next_id.clone());
            let (admitted, refused) = (admitted.clone(), refused.clone());
            clients.push(tokio::spawn(async move {
                let mut tick = tokio::time::interval(EVERY);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                while Instant::now() < deadline {
                    tick.tick().await;
                    let id = next_id.fetch_add(1, Ordering::Relaxed);
                    let resp = client
                        .post(&url)
                        .header("X-Telegram-Bot-Api-Secret-Token", SECRET)
                        .body(message(id, id, "x"))
                        .send()
                        .await
                        .expect("the api answers");
                    match resp.status().as_u16() {
                        200 => admitted.fetch_add(1, Ordering::Relaxed),
                        429 => refused.fetch_add(1, Ordering::Relaxed),
                        other => panic!("{other} from {url}"),
                    };
                }
            }));
        }
    }
    for c in clients {
        c.await.unwrap();
    }
    let mut fallbacks = 0.0;
    for r in &replicas {
        let metrics = reqwest::get(&r.admin).await.unwrap().text().await.unwrap();
        fallbacks += ["error", "timeout", "breaker"]
            .iter()
            .filter_map(|reason| {
                super::sample(
                    &metrics,
                    "sluice_ratelimit_fallback_total",
                    &[("reason", reason)],
                )
            })
            .sum::<f64>();
    }
    drop(replicas);
    redis.stop().await;
    let (admitted, refused) = (
        admitted.load(Ordering::Relaxed),
        refused.load(Ordering::Relaxed),
    );
    (admitted, refused, fallbacks)
}

#[tokio::test]
async fn admission_redis_scope_is_exact_across_three_replicas_and_local_is_not() {
    let db = TestDb::fresh().await.unwrap();
    sluice_api::bots::add(&db.pool, BOT, SECRET).await.unwrap();
    // The limit over the run: the burst, then the rate.
    let limit = BURST + RATE * RUN.as_secs_f64();

    let (admitted, refused) = run("redis", &db).await;
    assert!(
        refused > admitted,
        "the offered load was above the limit {limit}"
    );
    let off = (admitted as f64 - limit).abs() / (RATE * RUN.as_secs_f64());
    assert!(
        off <= 0.01,
        "redis scope admitted {admitted}, {:.2} % off {limit}",
        off * 100.0
    );

    let (admitted, _) = run("local", &db).await;
    // Each replica admits the whole limit: up to 3× in all.
    let ratio = admitted as f64 / limit;
    assert!(
        (2.5..=3.05).contains(&ratio),
        "local scope admitted {ratio:.2}× the limit"
    );
    db.drop_db().await;
}
