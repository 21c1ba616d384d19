//! A handler that panics: the panic is caught and counted, the job retried under the policy and
//! dead-lettered when its attempts run out; the lane and the process live on.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
    time::Duration,
};

use sluice_shared::lanes::Lane;
use sluice_testkit::{TestDb, prefix, redis_url, wait_until};
use sluice_worker::{
    handler::{HandlerContext, HandlerError, Origin, Update, UpdateHandler},
    startup::Worker,
};

use crate::common::{enqueuer, envelope, wait_for_dead_letters, worker_config};

/// Panics on update 66, every time; counts its runs.
struct Grenade(Arc<AtomicU32>);

impl UpdateHandler for Grenade {
    async fn handle(&self, _: &HandlerContext, u: &Update) -> Result<(), HandlerError> {
        if let Origin::Telegram {
            update_id: id @ 66, ..
        } = u.origin
        {
            self.0.fetch_add(1, Ordering::SeqCst);
            panic!("handler bug on update {id}");
        }
        Ok(())
    }
}

/// Sum of `sluice_jobs_total{lane="normal"}` lines with this outcome.
fn outcome(metrics: &str, outcome: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| l.starts_with(sluice_shared::metrics::JOBS_TOTAL))
        .filter(|l| l.contains(&format!(r#"outcome="{outcome}""#)) && l.contains("normal"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test]
async fn a_panicking_handler_is_counted_retried_then_dead_lettered() {
    let db = TestDb::fresh().await.unwrap();
    let (redis, prefix) = (redis_url(), prefix());
    let cfg = worker_config(
        &db.url,
        &redis,
        &prefix,
        &[
            "--retry-max-attempts=3",
            "--retry-base=100ms",
            "--retry-max=500ms",
        ],
    );
    let runs = Arc::new(AtomicU32::new(0));
    let worker = Worker::build(cfg, Grenade(runs.clone())).await.unwrap();
    let admin = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let admin_url = format!("http://{}", admin.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(worker.run(admin, async {
        let _ = stopped.await;
    }));
    let enq = enqueuer(&redis, &prefix);
    enq.enqueue(&envelope("fragile", 66, Lane::Normal))
        .await
        .unwrap();
    let (dead, list) = wait_for_dead_letters(&redis, &prefix, 1, Duration::from_secs(30)).await;
    assert!(dead, "{list}");
    assert!(
        list.contains("panicked: handler bug on update 66"),
        "{list}"
    );
    assert_eq!(runs.load(Ordering::SeqCst), 3, "every attempt ran");

    // The lane lives on: a later update is handled by the same consumer.
    enq.enqueue(&envelope("fragile", 67, Lane::Normal))
        .await
        .unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || async {
            db.update_rows().await == 2
        })
        .await
    );
    let metrics = reqwest::get(format!("{admin_url}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(outcome(&metrics, "panicked"), 2.0, "{metrics}");
    let health = reqwest::get(format!("{admin_url}/healthz")).await.unwrap();
    assert_eq!(health.status(), 200);
    let _ = stop.send(());
    running.await.unwrap().unwrap();
    sluice_testkit::clear_prefix(&redis, &prefix).await;
    db.drop_db().await;
}
