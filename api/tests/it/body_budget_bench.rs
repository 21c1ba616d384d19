//! The body-budget measurement (not a pass/fail test; `#[ignore]`d, run by hand):
//! the real `sluice-api` binary under 500 concurrent unauthenticated 1 MiB uploads to the signed
//! route, sent slowly, while Telegram updates keep coming. Prints the api's peak RSS (VmHWM) and
//! the Telegram latency, for the default budget, for no budget, and without the attack.
//!
//! ```sh
//! cargo test -p sluice-api --test it body_budget_bench -- --ignored --nocapture
//! ```
//! (`BENCH_ATTACKERS`, `BENCH_SECONDS` override 500 and 20.) Figures: docs/performance.md.

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use sluice_api::{signature::Scheme, sources::Source};
use sluice_testkit::{TestDb, free_port, prefix};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::{
    common::{BOT, SECRET, message},
    hooks::secret,
};

const MIB: usize = 1024 * 1024;
/// "No budget": larger than anything 500 uploads can hold.
const UNBOUNDED: &str = "68719476736";

struct Run {
    label: &'static str,
    budget: &'static str,
    attack: bool,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement of several minutes; run by hand (see the module docs)"]
async fn body_budget_bench() {
    let attackers = env_or("BENCH_ATTACKERS", 500);
    let seconds = env_or("BENCH_SECONDS", 20) as u64;
    let db = TestDb::fresh().await.unwrap();
    sluice_api::bots::add(&db.pool, BOT, SECRET).await.unwrap();
    sluice_api::sources::manage::add(&db.pool, &Source::new("plain", Scheme::Plain, secret("p")))
        .await
        .unwrap();
    println!(
        "| run | budget | attack | api VmHWM | Telegram p50 | p99 | max | non-200 | uploads refused 503 |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for run in [
        Run {
            label: "baseline",
            budget: "16777216",
            attack: false,
        },
        Run {
            label: "attack, default budget",
            budget: "16777216",
            attack: true,
        },
        Run {
            label: "attack, no budget",
            budget: UNBOUNDED,
            attack: true,
        },
    ] {
        let (port, admin) = (free_port(), free_port());
        let mut api = start_api(&db.url, run.budget, port, admin);
        wait_ready(port).await;
        let stop_at = Instant::now() + Duration::from_secs(seconds);
        let flood: Vec<_> = (0..if run.attack { attackers } else { 0 })
            .map(|_| tokio::spawn(upload_until(port, stop_at)))
            .collect();
        tokio::time::sleep(Duration::from_secs(2)).await;
        // Its own thread and runtime, so the 500 attackers' tasks never delay the measuring side.
        let lat = tokio::task::spawn_blocking(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(telegram_until(port, stop_at))
        })
        .await
        .unwrap();
        let mut refused = 0;
        for f in flood {
            refused += f.await.unwrap();
        }
        let hwm = vm_hwm_kb(api.id());
        let _ = api.kill();
        let _ = api.wait();
        println!(
            "| {} | {} | {} | {:.1} MiB | {:.1} ms | {:.1} ms | {:.1} ms | {} of {} | {} |",
            run.label,
            if run.budget == UNBOUNDED {
                "none"
            } else {
                "16 MiB"
            },
            if run.attack {
                format!("{attackers} × 1 MiB")
            } else {
                "none".into()
            },
            hwm as f64 / 1024.0,
            lat.pct(0.50),
            lat.pct(0.99),
            lat.pct(1.0),
            lat.failed,
            lat.ms.len() + lat.failed,
            refused,
        );
    }
    sluice_testkit::clear_prefix(&sluice_testkit::redis_url(), "bench-body").await;
    db.drop_db().await;
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn start_api(db_url: &str, budget: &str, port: u16, admin: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_sluice-api"))
        .env("DATABASE_URL", db_url)
        .env("REDIS_URL", sluice_testkit::redis_url())
        .env("SLUICE_QUEUE_PREFIX", format!("bench-body-{}", prefix()))
        .env("SLUICE_API_ADDR", format!("127.0.0.1:{port}"))
        .env("SLUICE_ADMIN_ADDR", format!("127.0.0.1:{admin}"))
        .env("SLUICE_BODY_BUDGET_BYTES", budget)
        .env("SLUICE_RATE_SCOPE", "off")
        .env("SLUICE_ENQUEUE_TIMEOUT", "2000ms")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("sluice-api starts")
}

async fn wait_ready(port: u16) {
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/webhook/hooks/plain");
    for _ in 0..200 {
        if let Ok(r) = client.post(&url).body("{}").send().await
            && r.status() == 401
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("sluice-api did not come up");
}

/// One attacker: unsigned 1 MiB uploads at 128 KiB/s, reconnecting whenever refused, until
/// `stop_at`. Returns how many uploads were refused with 503.
async fn upload_until(port: u16, stop_at: Instant) -> usize {
    let head = format!(
        "POST /webhook/hooks/plain HTTP/1.1\r\nHost: sluice\r\nContent-Type: application/json\r\n\
         X-Signature: {}\r\nContent-Length: {MIB}\r\n\r\n",
        "00".repeat(32)
    );
    let chunk = vec![b' '; 16 * 1024];
    let mut refused = 0;
    while Instant::now() < stop_at {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        if s.write_all(head.as_bytes()).await.is_err() {
            continue;
        }
        let mut sent = 0;
        while sent < MIB && Instant::now() < stop_at {
            if s.write_all(&chunk).await.is_err() {
                break;
            }
            sent += chunk.len();
            tokio::time::sleep(Duration::from_millis(125)).await;
        }
        let mut answer = [0u8; 12];
        if let Ok(Ok(n)) = tokio::time::timeout(Duration::from_secs(1), s.read(&mut answer)).await
            && answer[..n].starts_with(b"HTTP/1.1 503")
        {
            refused += 1;
            // A refused sender waits before trying again, as Retry-After asks.
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    refused
}

struct Latencies {
    ms: Vec<f64>,
    failed: usize,
}

impl Latencies {
    fn pct(&self, p: f64) -> f64 {
        let mut v = self.ms.clone();
        v.sort_by(f64::total_cmp);
        v.get(((v.len() as f64 * p).ceil() as usize).saturating_sub(1))
            .copied()
            .unwrap_or(f64::NAN)
    }
}

/// Telegram traffic: 4 senders in turn (like a bot's parallel queues), 40 updates/s in all.
async fn telegram_until(port: u16, stop_at: Instant) -> Latencies {
    let url = format!("http://127.0.0.1:{port}/webhook/telegram/{BOT}");
    let senders: Vec<_> = (0..4i64)
        .map(|s| {
            let url = url.clone();
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                let (mut ms, mut failed) = (Vec::new(), 0);
                let mut id = s * 1_000_000;
                while Instant::now() < stop_at {
                    id += 1;
                    let started = Instant::now();
                    let answer = client
                        .post(&url)
                        .header("X-Telegram-Bot-Api-Secret-Token", SECRET)
                        .header("content-type", "application/json")
                        .body(message(id, id, "hi"))
                        .send()
                        .await;
                    match answer {
                        Ok(r) if r.status() == 200 => {
                            ms.push(started.elapsed().as_secs_f64() * 1000.0);
                        }
                        other => {
                            eprintln!("telegram update {id}: {:?}", other.map(|r| r.status()));
                            failed += 1;
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                (ms, failed)
            })
        })
        .collect();
    let mut all = Latencies {
        ms: Vec::new(),
        failed: 0,
    };
    for s in senders {
        let (ms, failed) = s.await.unwrap();
        all.ms.extend(ms);
        all.failed += failed;
    }
    all
}

/// Peak resident set size of `pid`, in kB.
fn vm_hwm_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .expect("/proc/PID/status")
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM line")
}
