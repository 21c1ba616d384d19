//! The worker's Bot API client ([`sluice_botapi::BotApi`]) for [`crate::handler::HandlerContext`]:
//! tokens opened with `SLUICE_SECRETS_KEY`, the limiter on the queues' Redis and prefix; and the
//! Bot API proxy on the same client, when `SLUICE_BOTAPI_PROXY_ADDR` is set.

use anyhow::Context;
use redis::aio::ConnectionManager;
use sluice_botapi::{BotApi, TokenIndex, Tokens};
use sqlx::PgPool;
use tokio::net::TcpListener;

use crate::config::WorkerConfig;

pub fn build(cfg: &WorkerConfig, db: PgPool, redis: ConnectionManager) -> anyhow::Result<BotApi> {
    let keys = cfg.secrets.keyring().map_err(anyhow::Error::msg)?;
    if !keys.can_seal() {
        tracing::info!(
            "SLUICE_SECRETS_KEY is not set: handlers' Bot API calls fail with no_token (tokens are stored sealed)"
        );
    }
    let tokens = Tokens::new(db, keys, cfg.botapi.token_ttl);
    BotApi::new(&cfg.botapi, redis, &cfg.redis.queue_prefix, tokens)
        .map_err(anyhow::Error::msg)
        .context("building the Bot API client")
}

/// The Bot API proxy on `api` and its listener, bound now so that a taken port stops the start;
/// `None` when `SLUICE_BOTAPI_PROXY_ADDR` is not set.
pub async fn proxy(
    cfg: &WorkerConfig,
    db: PgPool,
    api: BotApi,
) -> anyhow::Result<Option<(TcpListener, crate::proxy::Proxy)>> {
    let Some(addr) = cfg.proxy.proxy_addr else {
        return Ok(None);
    };
    let keys = cfg.secrets.keyring().map_err(anyhow::Error::msg)?;
    let index = TokenIndex::new(db, keys, cfg.botapi.token_ttl);
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding SLUICE_BOTAPI_PROXY_ADDR {addr}"))?;
    tracing::info!(%addr, max_body = cfg.proxy.proxy_max_body, "Bot API proxy listening");
    Ok(Some((
        listener,
        crate::proxy::Proxy::new(api, index, cfg.proxy.clone()),
    )))
}
