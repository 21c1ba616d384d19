//! `sluice-worker history replay | export | erase`: the real binary against a fresh database
//! whose `updates` rows the tests write as the worker writes them.
//!
//! - `replay`: order per chat, the replay mark, the rate bound, dry runs.
//! - `export`: JSON lines and CSV (escaping), filters by chat, kind and time.
//! - `erase`: a chat's or a user's rows, queued jobs and dead letters, and nobody else's.

mod erase;
mod export;
mod replay;
mod rss;

use std::process::Output;

use chrono::{DateTime, Utc};
use tokio::process::Command;

/// One `updates` row.
pub struct Row<'a> {
    pub bot: &'a str,
    pub update_id: i64,
    pub kind: &'a str,
    pub chat: Option<i64>,
    pub user: Option<i64>,
    pub received_at: DateTime<Utc>,
    pub payload: String,
}

impl<'a> Row<'a> {
    /// A message of `user` in `chat`, received `ago`.
    pub fn message(
        bot: &'a str,
        update_id: i64,
        chat: i64,
        user: i64,
        ago: chrono::Duration,
    ) -> Self {
        Row {
            bot,
            update_id,
            kind: "message",
            chat: Some(chat),
            user: Some(user),
            received_at: Utc::now() - ago,
            payload: format!(
                r#"{{"update_id":{update_id},"message":{{"message_id":{update_id},"from":{{"id":{user}}},"chat":{{"id":{chat}}},"text":"hello {update_id}"}}}}"#
            ),
        }
    }
}

pub async fn insert(pool: &sqlx::PgPool, rows: &[Row<'_>]) {
    for r in rows {
        sqlx::query(
            "INSERT INTO updates (bot, update_id, kind, chat_id, user_id, lane, payload, job_id, \
             received_at) VALUES ($1, $2, $3, $4, $5, 'normal', $6::jsonb, 'j', $7)",
        )
        .bind(r.bot)
        .bind(r.update_id)
        .bind(r.kind)
        .bind(r.chat)
        .bind(r.user)
        .bind(&r.payload)
        .bind(r.received_at)
        .execute(pool)
        .await
        .unwrap();
    }
}

/// Runs `sluice-worker history ARGS` with `env`; answers its output, whatever its status.
pub async fn history(db_url: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sluice-worker"));
    cmd.arg("history")
        .args(args)
        .env("DATABASE_URL", db_url)
        .env("SLUICE_AUTO_MIGRATE", "false")
        .env("RUST_LOG", "info")
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().await.unwrap()
}

/// `history` that must succeed: its stdout.
pub async fn history_ok(db_url: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    let out = history(db_url, args, env).await;
    assert!(
        out.status.success(),
        "history {args:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}
