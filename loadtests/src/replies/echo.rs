//! The run's bots: one webhook server for all of them, as a framework bot behind sluice would
//! be. Each update is answered with a `sendMessage` webhook reply to its own chat, which the
//! forward worker executes through the shared limiter.

use std::net::SocketAddr;

use axum::{Router, body::Bytes, http::header::CONTENT_TYPE, response::IntoResponse};
use serde_json::{Value, json};

/// The text every reply starts with.
pub const REPLY_TEXT: &str = "sluice-load reply to";

/// Serves the echo bots on `addr` until the returned task is dropped; answers its address.
pub async fn start(addr: SocketAddr) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("--echo-addr {addr}: {e}"))?;
    let local = listener.local_addr()?;
    let app = Router::new().fallback(answer);
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((local, task))
}

async fn answer(body: Bytes) -> impl IntoResponse {
    let update: Value = serde_json::from_slice(&body).unwrap_or_default();
    let chat = &update["message"]["chat"]["id"];
    if chat.is_null() {
        // Not a message: no reply (a 200 with an empty body, as Telegram takes it).
        return ([(CONTENT_TYPE, "text/plain")], String::new());
    }
    let text = format!("{REPLY_TEXT} {}", update["update_id"]);
    let reply = json!({"method": "sendMessage", "chat_id": chat, "text": text});
    ([(CONTENT_TYPE, "application/json")], reply.to_string())
}
