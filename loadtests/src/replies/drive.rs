//! The updates in: text messages posted to sluice-api as Telegram posts them, at a constant
//! rate spread over the run's bots (one after another) and each bot's chats.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::traffic::BotCred;

/// Requests in flight at most (a slow api delays arrivals instead of piling up sockets).
const IN_FLIGHT: usize = 64;

/// What the api answered.
#[derive(Debug, Default, Clone)]
pub struct Answers {
    pub by_status: BTreeMap<String, u64>,
    pub transport_errors: u64,
}

impl Answers {
    pub fn accepted(&self) -> u64 {
        self.by_status
            .iter()
            .filter(|(s, _)| s.starts_with('2'))
            .map(|(_, n)| n)
            .sum()
    }
}

/// The `n`th update (0-based) of a run over `bots` bots with `chats` chats each: its bot and chat.
pub fn nth(n: u64, bots: usize, chats: u32) -> (usize, i64) {
    let bot = (n % bots as u64) as usize;
    let round = n / bots as u64;
    let chat = 1_000_000 * (bot as i64 + 1) + (round % u64::from(chats)) as i64;
    (bot, chat)
}

/// Posts `rate` updates per second for `duration` to `target` (sluice-api's base URL).
pub async fn drive(
    target: &str,
    bots: &[BotCred],
    chats: u32,
    rate: f64,
    duration: Duration,
) -> anyhow::Result<Answers> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let total = (rate * duration.as_secs_f64()).round() as u64;
    let gap = Duration::from_secs_f64(1.0 / rate);
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    let answers = Arc::new(std::sync::Mutex::new(Answers::default()));
    let start = tokio::time::Instant::now();
    let mut tasks = Vec::with_capacity(total as usize);
    for n in 0..total {
        tokio::time::sleep_until(start + gap.mul_f64(n as f64)).await;
        let (bot, chat) = nth(n, bots.len(), chats);
        let cred = &bots[bot];
        let url = format!("{target}/webhook/telegram/{}", cred.name);
        let request = http
            .post(url)
            .header("X-Telegram-Bot-Api-Secret-Token", &cred.secret)
            .header("content-type", "application/json")
            .body(update(n as i64 + 1, chat));
        let slot = slots.clone().acquire_owned().await?;
        let answers = answers.clone();
        tasks.push(tokio::spawn(async move {
            let result = request.send().await;
            drop(slot);
            let mut a = answers.lock().unwrap_or_else(|p| p.into_inner());
            match result {
                Ok(r) => {
                    *a.by_status
                        .entry(r.status().as_u16().to_string())
                        .or_default() += 1
                }
                Err(_) => a.transport_errors += 1,
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    let a = answers.lock().unwrap_or_else(|p| p.into_inner()).clone();
    Ok(a)
}

fn update(update_id: i64, chat: i64) -> String {
    format!(
        r#"{{"update_id":{update_id},"message":{{"message_id":{update_id},"from":{{"id":{chat},"is_bot":false,"first_name":"Load"}},"chat":{{"id":{chat},"type":"private"}},"date":1764000000,"text":"load {update_id}"}}}}"#
    )
}

#[cfg(test)]
mod tests {
    use super::nth;

    #[test]
    fn bots_take_turns_and_each_goes_round_its_chats() {
        let seq: Vec<(usize, i64)> = (0..6).map(|n| nth(n, 2, 2)).collect();
        assert_eq!(
            seq,
            [
                (0, 1_000_000),
                (1, 2_000_000),
                (0, 1_000_001),
                (1, 2_000_001),
                (0, 1_000_000),
                (1, 2_000_000)
            ]
        );
    }
}
