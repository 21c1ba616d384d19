//! The ingress benchmark's ceiling: a bare axum handler that parses the JSON body and answers
//! `{"ok":true}`, measured on the same machine in the same run as sluice-api.

use axum::{Json, Router, body::Bytes, http::StatusCode, routing::post};
use serde_json::{Value, json};

async fn handler(body: Bytes) -> Result<Json<Value>, StatusCode> {
    let _update: Value = serde_json::from_slice(&body).map_err(|_| StatusCode::BAD_REQUEST)?;
    Ok(Json(json!({ "ok": true })))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18080".to_owned());
    let app = Router::new().route("/webhook/telegram/{bot}", post(handler));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!("reference server on {addr}");
    axum::serve(listener, app).await
}
