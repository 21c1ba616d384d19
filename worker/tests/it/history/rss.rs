//! `history export` holds a page, not the export: its resident memory stays flat over 5 million
//! rows. A measurement (minutes: it fills 5M rows), so ignored by default; run it with
//! `cargo test -p sluice-worker --test it history::rss -- --ignored --nocapture`
//! (`HISTORY_RSS_ROWS` to change the row count). The figures are in docs/performance.md.

use std::{
    process::Stdio,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use sluice_testkit::TestDb;
use tokio::{io::AsyncReadExt, process::Command};

/// VmRSS of `pid` in KiB, from /proc.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[tokio::test]
#[ignore = "a measurement: fills millions of rows (see docs/performance.md)"]
async fn export_memory_stays_flat_over_millions_of_rows() {
    let n: i64 = std::env::var("HISTORY_RSS_ROWS").map_or(5_000_000, |v| v.parse().unwrap());
    let db = TestDb::fresh().await.unwrap();
    let filled = Instant::now();
    sqlx::query(
        "INSERT INTO updates (bot, update_id, kind, chat_id, user_id, lane, payload, job_id, \
         received_at) \
         SELECT 'rss', g, 'message', -100 - g % 1000, g % 5000, 'normal', \
           jsonb_build_object('update_id', g, 'message', jsonb_build_object('message_id', g, \
             'chat', jsonb_build_object('id', -100 - g % 1000, 'type', 'supergroup'), \
             'from', jsonb_build_object('id', g % 5000, 'first_name', 'U'), \
             'date', 1764000000, 'text', 'hello, \"world\" ' || g)), \
           'j', now() - interval '1 hour' + g * interval '1 microsecond' \
         FROM generate_series(1, $1) g",
    )
    .bind(n)
    .execute(&db.pool)
    .await
    .unwrap();
    sqlx::query("ANALYZE updates")
        .execute(&db.pool)
        .await
        .unwrap();
    eprintln!("filled {n} rows in {:.1?}", filled.elapsed());

    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice-worker"))
        .args([
            "history", "export", "--bot", "rss", "--since", "2h", "--format", "jsonl",
        ])
        .env("DATABASE_URL", &db.url)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = child.id().unwrap();
    let lines = Arc::new(AtomicU64::new(0));
    let mut stdout = child.stdout.take().unwrap();
    let counted = lines.clone();
    let reader = tokio::spawn(async move {
        let mut buf = vec![0u8; 1 << 20];
        loop {
            match stdout.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(k) => {
                    let nl = bytecount(&buf[..k]);
                    counted.fetch_add(nl, Ordering::Relaxed);
                }
            }
        }
    });
    let started = Instant::now();
    let mut samples = Vec::new(); // (rows so far, KiB)
    while let Some(kib) = rss_kib(pid) {
        samples.push((lines.load(Ordering::Relaxed), kib));
        if child.try_wait().unwrap().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let status = child.wait().await.unwrap();
    reader.await.unwrap();
    let took = started.elapsed();
    assert!(status.success());
    assert_eq!(
        lines.load(Ordering::Relaxed),
        n as u64,
        "every row exported"
    );

    let at = |rows: u64| samples.iter().find(|(r, _)| *r >= rows).map_or(0, |s| s.1);
    let max = samples.iter().map(|s| s.1).max().unwrap();
    let tenth = at(n as u64 / 10);
    eprintln!(
        "export of {n} rows in {took:.1?} ({:.0} rows/s); VmRSS KiB at 10%: {tenth}, 50%: {}, \
         90%: {}, max: {max} ({} samples)",
        n as f64 / took.as_secs_f64(),
        at(n as u64 / 2),
        at(n as u64 * 9 / 10),
        samples.len()
    );
    assert!(tenth > 0, "no sample after 10% of the rows");
    assert!(
        max <= tenth + 8 * 1024,
        "RSS grew from {tenth} KiB at 10% of the rows to {max} KiB"
    );
    db.drop_db().await;
}

fn bytecount(b: &[u8]) -> u64 {
    b.iter().filter(|c| **c == b'\n').count() as u64
}
