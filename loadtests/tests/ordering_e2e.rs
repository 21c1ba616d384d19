//! The ordering check against the real sluice-api and sluice-worker binaries: a worker running
//! 16 jobs at once with a forward handler whose target takes a random 0-20 ms handles a chat's
//! updates out of order, and the check and the gate say so.
//!
//! The worker runs with `SLUICE_ORDERING=off` explicitly: today's binaries do not read it and
//! reorder anyway; once ordering exists, `off` still means today's behaviour, so this test keeps
//! proving that the check detects a violation.

use std::time::{Duration, Instant};

use sluice_loadtests::bench::ordering::post::{Plan, Webhook, post_chats};
use sluice_loadtests::bench::ordering::receiver::{Delay, Receiver};
use sluice_loadtests::bench::ordering::stack::Stack;
use sluice_loadtests::gate::{self, GateArgs, Status, Verdict};
use sluice_loadtests::ordering::{self, Ordering};
use sluice_loadtests::summary::{Summary, write_ledger};
use sluice_loadtests::{bots, delivery};
use sluice_testkit::{TestDb, api_binary, clear_prefix, prefix, redis_url, worker_binary};

#[tokio::test]
async fn parallel_workers_reorder_a_chat_and_the_check_fails() {
    let (api_bin, worker_bin) = tokio::task::spawn_blocking(|| (api_binary(), worker_binary()))
        .await
        .unwrap();
    let db = TestDb::fresh().await.unwrap();
    let dir = std::env::temp_dir().join(format!("sluice-order-e2e-{}", ulid::Ulid::generate()));
    std::fs::create_dir_all(&dir).unwrap();
    let stack = Stack {
        api_bin: api_bin.to_owned(),
        worker_bin: worker_bin.to_owned(),
        database_url: db.url.clone(),
        redis_url: redis_url(),
        prefix: prefix(),
        log_dir: dir.clone(),
    };
    let off = [("SLUICE_ORDERING", "off".to_owned())];
    let api = stack.start_api("api", &off).await.unwrap();
    let (bot, secret) = ("ordering-e2e", "ordering-e2e-webhook-secret");
    let added = tokio::process::Command::new(api_bin)
        .args(["bots", "add", bot])
        .env("DATABASE_URL", &db.url)
        .env("SLUICE_BOT_SECRET", secret)
        .output()
        .await
        .unwrap();
    assert!(added.status.success(), "{added:?}");
    bots::wait_until_known(&api.base, bot).await.unwrap();

    // Few chats, many updates each: a fetch of 32 jobs holds several of every chat.
    let to = Webhook {
        base: api.base.clone(),
        bot: bot.to_owned(),
        secret: secret.to_owned(),
    };
    let plan = Plan {
        chats: 4,
        per_chat: 50,
        first_chat: 9_100_000_000,
        first_update_id: 1,
        connections: 4,
    };
    let ledger = post_chats(&reqwest::Client::new(), &to, plan, Instant::now()).await;
    assert!(
        ledger.iter().all(|e| e.status == 200),
        "every update acknowledged"
    );

    // Queued first, then drained: one worker, 16 at once, by a target of random speed.
    let receiver = Receiver::start(Delay::UpTo(Duration::from_millis(20)))
        .await
        .unwrap();
    let mut env = off.to_vec();
    env.extend([
        ("SLUICE_HANDLER", "forward".to_owned()),
        ("SLUICE_FORWARD_URL", receiver.url.clone()),
        (
            "SLUICE_FORWARD_SECRET",
            "ordering-e2e-secret-0123456789".to_owned(),
        ),
        ("SLUICE_WORKER_CONCURRENCY", "16".to_owned()),
    ]);
    let worker = stack.start_worker("worker", &env).await.unwrap();
    let bots = [bot.to_owned()];
    let d = delivery::verify(&db.pool, &ledger, &bots, Duration::from_secs(120))
        .await
        .unwrap();
    assert_eq!((d.acked, d.present, d.lost), (200, 200, 0), "{d:?}");
    // Rows exist before their handler ran: wait until every one was handled.
    let handled = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM updates WHERE handled_at IS NOT NULL")
            .fetch_one(&db.pool)
            .await
            .unwrap()
            == 200
    };
    assert!(sluice_testkit::wait_until(Duration::from_secs(60), handled).await);
    assert!(receiver.calls() >= 200);

    let r = ordering::rows::verify(&db.pool, &ledger, &bots, Ordering::Chat)
        .await
        .unwrap();
    assert_eq!((r.keys, r.updates, r.comparable), (4, 200, 196), "{r:?}");
    assert!(r.violations > 0, "16 jobs at once reordered nothing: {r:?}");
    eprintln!("{}", gate::ordered::lines(&r));

    // The gate on the same run: FAIL on ordering_violations, and only there.
    let mut s = Summary::read(
        &std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/ours-steady-pass.json"),
    )
    .unwrap();
    s.ledger = Some("ledger.csv".into());
    s.bots = bots.to_vec();
    s.ordering = Some("chat".into());
    s.write(&dir.join("summary.json")).unwrap();
    write_ledger(&dir.join("ledger.csv"), &ledger).unwrap();
    let args = GateArgs {
        slo: std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("slo.toml"),
        database_url: Some(db.url.clone()),
        ..GateArgs::new("steady", dir.join("summary.json"))
    };
    let v = gate::evaluate(&args).await.unwrap();
    let failed: Vec<&str> = v
        .checks
        .iter()
        .filter(|c| c.status == Status::Fail)
        .map(|c| c.metric.as_str())
        .collect();
    assert_eq!(
        (v.verdict, failed),
        (Verdict::Fail, vec!["ordering_violations"])
    );

    worker.stop().await;
    api.process.stop().await;
    clear_prefix(&stack.redis_url, &stack.prefix).await;
    std::fs::remove_dir_all(&dir).unwrap();
    db.drop_db().await;
}
