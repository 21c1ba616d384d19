//! The workers view: a real `sluice-worker` process's lane consumers appear with their host,
//! heartbeat and in-flight count.

use std::{process::Stdio, time::Duration};

use redis::AsyncCommands;
use serde_json::Value;
use sluice_testkit::{TestDb, redis_url, wait_until, worker_binary};

use crate::support::{TestConsole, spawn};

const POD: &str = "console-test-pod";

async fn workers(c: &TestConsole) -> Vec<Value> {
    let (status, v) = c.get_json("/api/v1/workers").await;
    assert_eq!(status, 200, "{v}");
    v["workers"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_running_worker_shows_its_live_consumers_per_lane_with_their_in_flight_jobs() {
    let bin = tokio::task::spawn_blocking(worker_binary).await.unwrap();
    let db = TestDb::fresh().await.unwrap();
    let c = spawn().await;
    assert!(workers(&c).await.is_empty(), "nobody consumes yet");

    let mut worker = tokio::process::Command::new(bin)
        .arg("run")
        .env("DATABASE_URL", &db.url)
        .env("REDIS_URL", redis_url())
        .env("SLUICE_QUEUE_PREFIX", &c.prefix)
        .env("SLUICE_ADMIN_ADDR", "127.0.0.1:0")
        .env("POD_NAME", POD)
        .env("SLUICE_HANDLER", "store")
        .env("SLUICE_AUTO_MIGRATE", "false")
        .env("SLUICE_SHUTDOWN_GRACE", "1s")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // Two consumers per lane by default (SLUICE_LANE_CONSUMERS), each its own apalis worker.
    let all_lanes = wait_until(Duration::from_secs(30), || async {
        workers(&c).await.len() == 6
    })
    .await;
    assert!(all_lanes, "{:?}", workers(&c).await);
    let list = workers(&c).await;
    let lanes: Vec<&str> = list.iter().map(|w| w["lane"].as_str().unwrap()).collect();
    assert_eq!(lanes, ["high", "high", "normal", "normal", "low", "low"]);
    for w in &list {
        assert_eq!(w["host"], POD, "{w}");
        assert_eq!(w["in_flight"], 0, "{w}");
        assert_eq!(w["stale"], false, "{w}");
        let beat = w["last_heartbeat"].as_u64().unwrap() as i64;
        assert!((chrono::Utc::now().timestamp() - beat).abs() < 60, "{w}");
    }

    // A job the normal consumer has fetched counts as its in-flight work (the set apalis-redis
    // fills on a fetch; the consumer never sees this id, it only has to be counted).
    let normal = list.iter().find(|w| w["lane"] == "normal").unwrap();
    let name = normal["name"].as_str().unwrap();
    let held = format!("{}:normal:inflight:{name}", c.prefix);
    let _: i64 = c.redis.clone().sadd(&held, "01KAHELD").await.unwrap();
    let now = workers(&c).await;
    let normal = now.iter().find(|w| w["lane"] == "normal").unwrap();
    assert_eq!(normal["in_flight"], 1);
    let _: i64 = c.redis.clone().srem(&held, "01KAHELD").await.unwrap();

    let s = c.sign_in().await;
    let (status, html) = c.page(&s, "/workers").await;
    assert_eq!(status, 200);
    assert!(html.contains(&format!("data-worker=\"{name}\"")), "{html}");
    assert!(html.contains("6 consumers · 0 stale"), "{html}");

    // Stopped with SIGTERM, as Kubernetes stops it. Its consumers stay in the sets (apalis-redis
    // 1.0's clean-up on stop removes the wrong member) until they show as stale.
    let pid = worker.id().unwrap().to_string();
    let term = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status();
    assert!(term.unwrap().success());
    let status = tokio::time::timeout(Duration::from_secs(30), worker.wait()).await;
    assert!(status.unwrap().unwrap().success());
    c.stop().await;
    db.drop_db().await;
}
