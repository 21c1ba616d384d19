//! (d)'s high updates: `/start` bot commands posted one after the other over one kept-alive
//! connection at a steady rate (the sender costs next to no CPU, which matters on 2 cores).

use std::{
    collections::BTreeMap,
    io::Write,
    time::{Duration, Instant},
};

use crate::bench::drain::session::Bench;

/// What the posting gave: per request its status ("000": no answer) and seconds.
pub struct Posts {
    pub results: Vec<(String, f64)>,
    /// From the first request to the last answer.
    pub seconds: f64,
}

impl Posts {
    /// Requests per status.
    pub fn answers(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for (status, _) in &self.results {
            *out.entry(status.clone()).or_insert(0) += 1;
        }
        out
    }
}

/// The `i`-th high update: a private `/start` message from one of 500 users.
pub fn high_update(first_id: u64, i: u64) -> String {
    let (id, user) = (first_id + i, 5_000_000_000 + i % 500);
    format!(
        r#"{{"update_id":{id},"message":{{"message_id":{id},"from":{{"id":{user},"is_bot":false,"first_name":"Ada","language_code":"en"}},"chat":{{"id":{user},"first_name":"Ada","type":"private"}},"date":1764000000,"text":"/start hello","entities":[{{"offset":0,"length":6,"type":"bot_command"}}]}}}}"#
    )
}

/// Posts `n` high updates at `rate` per second to sluice-api; `status seconds` per request in
/// `high-posts.txt`.
pub async fn post_high(bench: &Bench, n: u64, rate: u64, first_id: u64) -> anyhow::Result<Posts> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .timeout(Duration::from_secs(5))
        .build()?;
    let url = format!(
        "http://{}/webhook/telegram/{}",
        bench.args.api_addr, bench.bot
    );
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let bound = Duration::from_secs(n / rate + 60);
    let started = Instant::now();
    let mut results = Vec::with_capacity(n as usize);
    for i in 0..n {
        if started.elapsed() > bound {
            break;
        }
        tick.tick().await;
        let sent = Instant::now();
        let answer = http
            .post(&url)
            .header("Content-Type", "application/json")
            .header("X-Telegram-Bot-Api-Secret-Token", &bench.secret)
            .body(high_update(first_id, i))
            .send()
            .await;
        let status = match answer {
            Ok(r) => {
                let status = r.status().as_u16().to_string();
                let _ = r.bytes().await; // read to the end, so the connection is kept
                status
            }
            Err(_) => "000".to_owned(),
        };
        results.push((status, sent.elapsed().as_secs_f64()));
    }
    let seconds = (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0;
    let mut file = std::fs::File::create(bench.out.join("high-posts.txt"))?;
    for (status, secs) in &results {
        writeln!(file, "{status} {secs:.6}")?;
    }
    Ok(Posts { results, seconds })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_high_update_is_a_bot_command_in_json() {
        let v: serde_json::Value = serde_json::from_str(&high_update(900_000_001, 501)).unwrap();
        assert_eq!(v["update_id"], 900_000_502u64);
        assert_eq!(v["message"]["from"]["id"], 5_000_000_001u64);
        assert_eq!(v["message"]["entities"][0]["type"], "bot_command");
    }

    #[test]
    fn answers_count_by_status() {
        let p = Posts {
            results: vec![
                ("200".into(), 0.1),
                ("000".into(), 5.0),
                ("200".into(), 0.2),
            ],
            seconds: 1.0,
        };
        assert_eq!(
            p.answers(),
            BTreeMap::from([("000".into(), 1), ("200".into(), 2)])
        );
    }
}
