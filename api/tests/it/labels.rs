//! Metric labels never take a value an outsider chooses: 1 000 distinct methods, paths, bot
//! names and source names leave `/metrics` (and the process's memory) about where they were.

use reqwest::Method;

use crate::common::{BOT, message, spawn_app};

/// What `/metrics` may grow by over the 4 000 requests below: a few new series of fixed labels
/// (and whatever tests running in parallel in this process add), never one per request.
const GROWTH_BOUND: usize = 32 * 1024;
/// Resident memory the process may gain meanwhile. On main the 1 000 methods of 8 KB made
/// ~150 MB of `/metrics` text and kept every method twice in the recorder's keys.
const RSS_GROWTH_BOUND_KB: u64 = 64 * 1024;

#[tokio::test]
async fn outsider_chosen_values_never_become_label_values() {
    let app = spawn_app().await;
    let base = format!("http://{}", app.addr);
    let send = |method: Method, url: String| {
        let client = app.client.clone();
        async move {
            client
                .request(method, url)
                .body(message(1, 1, "hi"))
                .send()
                .await
                .expect("answered")
                .status()
        }
    };
    // One of each kind first, so the fixed series they create are in the baseline.
    let custom = |i: usize| Method::from_bytes(format!("X{i:0>8191}").as_bytes()).unwrap();
    send(custom(0), format!("{base}/webhook/telegram/{BOT}")).await;
    send(Method::POST, format!("{base}/nowhere/0")).await;
    send(Method::POST, format!("{base}/webhook/telegram/nobot-0")).await;
    send(Method::POST, format!("{base}/webhook/hooks/nosource-0")).await;
    let before = app.admin_get("/metrics").await.text().await.unwrap().len();
    let rss_before = vm_rss_kb();

    for i in 1..=1000 {
        let status = send(custom(i), format!("{base}/webhook/telegram/{BOT}")).await;
        assert_eq!(status, 405, "custom method {i}");
        let status = send(Method::POST, format!("{base}/nowhere/{i}/x{i}")).await;
        assert_eq!(status, 404);
        let status = send(Method::POST, format!("{base}/webhook/telegram/nobot-{i}")).await;
        assert_eq!(status, 404);
        let status = send(Method::POST, format!("{base}/webhook/hooks/nosource-{i}")).await;
        assert_eq!(status, 404);
    }

    let metrics = app.admin_get("/metrics").await.text().await.unwrap();
    let rss_after = vm_rss_kb();
    assert!(
        metrics.len() < before + GROWTH_BOUND,
        "/metrics grew from {before} to {} bytes",
        metrics.len()
    );
    assert!(
        rss_after < rss_before + RSS_GROWTH_BOUND_KB,
        "RSS grew from {rss_before} kB to {rss_after} kB"
    );
    assert!(
        metrics.contains(r#"method="other""#),
        "custom methods are `other`"
    );
    for leaked in ["X0000", "nowhere", "nobot-", "nosource-"] {
        assert!(!metrics.contains(leaked), "{leaked} reached a label");
    }
    app.stop().await;
}

/// This process's resident set size, in kB (Linux).
fn vm_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS line")
}
