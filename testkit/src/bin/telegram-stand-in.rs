//! `telegram-stand-in`: the Bot API stand-in (`sluice_testkit::telegram_stand_in`) as a process,
//! for load runs: `cargo run -p sluice-testkit --bin telegram-stand-in -- --addr 127.0.0.1:8081`.
//! Prints `listening on <addr>` once it accepts calls; stops on SIGTERM or Ctrl-C.

use std::time::Duration;

use clap::Parser;
use sluice_testkit::telegram_stand_in::{StandInLimits, serve};

/// The limits default to Telegram's published figures; give the same values as sluice's
/// `SLUICE_BOTAPI_*` settings to check that sluice stays within them.
#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "127.0.0.1:8081")]
    addr: std::net::SocketAddr,
    #[arg(long, default_value_t = 30.0)]
    bot_per_sec: f64,
    #[arg(long, default_value_t = 30)]
    bot_burst: u32,
    #[arg(long, default_value_t = 1.0)]
    chat_per_sec: f64,
    #[arg(long, default_value_t = 3)]
    chat_burst: u32,
    #[arg(long, default_value_t = 20.0)]
    group_per_min: f64,
    #[arg(long, default_value_t = 3)]
    group_burst: u32,
    #[arg(long, default_value_t = 1000.0)]
    paid_per_sec: f64,
    #[arg(long, default_value_t = 100)]
    paid_burst: u32,
    /// How early a message may arrive and still count as on time (network jitter).
    #[arg(long, default_value = "50ms", value_parser = humantime_ms)]
    slack: Duration,
}

fn humantime_ms(s: &str) -> Result<Duration, String> {
    sluice_shared::config::parse_duration(s)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let a = Args::parse();
    let limits = StandInLimits {
        bot_per_sec: a.bot_per_sec,
        bot_burst: a.bot_burst,
        chat_per_sec: a.chat_per_sec,
        chat_burst: a.chat_burst,
        group_per_min: a.group_per_min,
        group_burst: a.group_burst,
        paid_per_sec: a.paid_per_sec,
        paid_burst: a.paid_burst,
        slack: a.slack,
    };
    let listener = tokio::net::TcpListener::bind(a.addr).await?;
    println!("listening on {}", listener.local_addr()?);
    serve(listener, limits, sluice_shared::shutdown::signal()).await
}
