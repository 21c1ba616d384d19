//! The run's bots: registered through the `sluice-api bots add` command (the registry's only
//! writer, which stores the secret's hash), then waited for until the api knows them.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng, rngs::StdRng};

use crate::traffic::BotCred;

/// The `sluice-api` binary: `SLUICE_API_BIN`, else the one built next to this program, else
/// the one on the PATH.
pub fn api_binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("SLUICE_API_BIN") {
        return PathBuf::from(bin);
    }
    std::env::current_exe()
        .ok()
        .map(|exe| exe.with_file_name(format!("sluice-api{}", std::env::consts::EXE_SUFFIX)))
        .filter(|bin| bin.is_file())
        .unwrap_or_else(|| PathBuf::from("sluice-api"))
}

fn random_secret(rng: &mut StdRng) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
    (0..32)
        .map(|_| A[rng.random_range(0..A.len())] as char)
        .collect()
}

/// Registers `n` bots named `load-<run>-<i>` with random secrets in the database at
/// `database_url`, one `sluice-api bots add` each.
pub async fn register_bots(database_url: &str, n: usize) -> anyhow::Result<Vec<BotCred>> {
    let run = ulid::Ulid::generate().to_string().to_lowercase();
    let run = &run[run.len() - 8..];
    let mut rng = StdRng::from_os_rng();
    let bin = api_binary();
    let mut bots = Vec::with_capacity(n);
    for i in 0..n {
        let name = format!("load-{run}-{i}");
        let secret = random_secret(&mut rng);
        add_bot(&bin, database_url, &name, &secret).await?;
        bots.push(BotCred { name, secret });
    }
    Ok(bots)
}

/// A bot that can send: its credentials, and the id its token starts with (the stand-in's name
/// for it).
#[derive(Debug, Clone)]
pub struct TokenBot {
    pub cred: BotCred,
    pub token_id: String,
}

/// Registers `n` bots named `replies-<run>-<i>` with random secrets and Bot API tokens of
/// Telegram's shape (`<id>:<35 characters>`, ids unique to the run), forwarding to
/// `forward_url`, with `bin` (`sluice-api`), which seals each token under `secrets_key` (the
/// workers' SLUICE_SECRETS_KEY, given to it in its environment).
pub async fn register_bots_with_tokens(
    bin: &std::path::Path,
    database_url: &str,
    secrets_key: &str,
    n: usize,
    forward_url: &str,
) -> anyhow::Result<Vec<TokenBot>> {
    let run = ulid::Ulid::generate().to_string().to_lowercase();
    let run = &run[run.len() - 8..];
    let mut rng = StdRng::from_os_rng();
    let first_id: u64 = rng.random_range(1_000_000_000..8_000_000_000);
    let mut bots = Vec::with_capacity(n);
    for i in 0..n {
        let name = format!("replies-{run}-{i}");
        let secret = random_secret(&mut rng);
        let token_id = (first_id + i as u64).to_string();
        let tail = random_secret(&mut rng) + &random_secret(&mut rng);
        let token = format!("{token_id}:AA{}", &tail[..33]);
        let extra = [
            ("SLUICE_BOT_TOKEN", token.as_str()),
            ("SLUICE_SECRETS_KEY", secrets_key),
        ];
        let forward = ["--forward-url", forward_url];
        add_bot_with(bin, database_url, &name, &secret, &forward, &extra).await?;
        bots.push(TokenBot {
            cred: BotCred { name, secret },
            token_id,
        });
    }
    Ok(bots)
}

/// One `sluice-api bots add NAME`, the secret passed in the environment (not on the command line).
async fn add_bot(
    bin: &std::path::Path,
    database_url: &str,
    name: &str,
    secret: &str,
) -> anyhow::Result<()> {
    add_bot_with(bin, database_url, name, secret, &[], &[]).await
}

/// `sluice-api bots add NAME ARGS...` with the secret and `env` in the environment.
async fn add_bot_with(
    bin: &std::path::Path,
    database_url: &str,
    name: &str,
    secret: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> anyhow::Result<()> {
    let out = tokio::process::Command::new(bin)
        .args(["bots", "add", name])
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("SLUICE_BOT_SECRET", secret)
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .map_err(|e| anyhow::anyhow!("{}: {e} (set SLUICE_API_BIN)", bin.display()))?;
    anyhow::ensure!(
        out.status.success(),
        "{} bots add {name}: {}: {}",
        bin.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(())
}

/// The api refreshes its bot registry every couple of seconds: wait until it answers 401 (a
/// known bot, wrong secret) rather than 404 for `bot`.
pub async fn wait_until_known(target: &str, bot: &str) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let url = format!("{target}/webhook/telegram/{bot}");
    let until = Instant::now() + Duration::from_secs(15);
    let mut last = String::new();
    while Instant::now() < until {
        match http
            .post(&url)
            .header("X-Telegram-Bot-Api-Secret-Token", "not-the-secret")
            .header("content-type", "application/json")
            .body(r#"{"update_id":1}"#)
            .send()
            .await
        {
            Ok(r) if r.status() == 401 || r.status() == 403 => return Ok(()),
            Ok(r) => last = format!("HTTP {}", r.status()),
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    anyhow::bail!("{url} does not know the run's bots after 15 s (last answer: {last})")
}
