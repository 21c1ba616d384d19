//! The Bot API proxy's settings (`SLUICE_BOTAPI_PROXY_*`); off unless an address is set.

use std::{net::SocketAddr, time::Duration};

use sluice_shared::config::{duration_between, parse_addr};

#[derive(clap::Args, Debug, Clone)]
pub struct ProxyConfig {
    /// Where the Bot API proxy listens (`/bot<token>/<method>`, `/file/bot<token>/<path>`), for
    /// frameworks pointed at it as their API base URL; unset: no proxy.
    #[arg(long = "botapi-proxy-addr", env = "SLUICE_BOTAPI_PROXY_ADDR", value_name = "SLUICE_BOTAPI_PROXY_ADDR",
          value_parser = parse_addr)]
    pub proxy_addr: Option<SocketAddr>,

    /// Largest request body the proxy takes, in bytes (Telegram's own limit for uploads is
    /// 50 MB); a longer one is refused with 413 and never reaches Telegram whole.
    #[arg(long = "botapi-proxy-max-body", env = "SLUICE_BOTAPI_PROXY_MAX_BODY", value_name = "SLUICE_BOTAPI_PROXY_MAX_BODY",
          default_value_t = 50_000_000, value_parser = clap::value_parser!(u64).range(1024..=(2 << 30)))]
    pub proxy_max_body: u64,

    /// Longest a proxied call waits for its turn under the shared limits; past it the client
    /// gets Telegram's own 429 with `retry_after`, which every framework understands. Keep it
    /// under the frameworks' read timeouts (python-telegram-bot: 5 s).
    #[arg(long = "botapi-proxy-max-wait", env = "SLUICE_BOTAPI_PROXY_MAX_WAIT", value_name = "SLUICE_BOTAPI_PROXY_MAX_WAIT",
          default_value = "4s", value_parser = duration_between(Duration::ZERO, Duration::from_secs(3600)))]
    pub proxy_max_wait: Duration,
}

#[cfg(test)]
mod tests {
    #[derive(clap::Parser)]
    struct Args {
        #[command(flatten)]
        cfg: crate::config::WorkerConfig,
    }

    #[test]
    fn the_worker_takes_the_proxy_settings() {
        let parse = |extra: &[&str]| {
            let mut args = vec![
                "w",
                "--database-url=postgres://h/db",
                "--redis-url=redis://h",
            ];
            args.extend_from_slice(extra);
            <Args as clap::Parser>::try_parse_from(args).map(|a| a.cfg.proxy)
        };
        let off = parse(&[]).unwrap();
        assert!(off.proxy_addr.is_none());
        assert_eq!(off.proxy_max_body, 50_000_000);
        let on = parse(&[
            "--botapi-proxy-addr=127.0.0.1:8081",
            "--botapi-proxy-max-wait=2s",
        ])
        .unwrap();
        assert_eq!(on.proxy_addr.unwrap().port(), 8081);
        assert_eq!(on.proxy_max_wait.as_secs(), 2);
        assert!(parse(&["--botapi-proxy-max-body=10"]).is_err());
    }
}
