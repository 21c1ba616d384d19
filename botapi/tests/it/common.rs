//! A client on a fresh database and key prefix, talking to a stand-in.

use redis::aio::ConnectionManager;
use sluice_botapi::{BotApi, BotApiConfig, Tokens};
use sluice_testkit::{
    TestDb,
    bots::{add_bot_with_token, test_keyring, test_token},
    prefix, redis_url,
    telegram_stand_in::{StandInLimits, TelegramStandIn},
};

pub struct Setup {
    pub db: TestDb,
    pub prefix: String,
    pub stand_in: TelegramStandIn,
}

impl Setup {
    /// `bots` bots named `b1`.. with tokens `test_token(n)`, and a stand-in with `limits`.
    pub async fn new(bots: u32, limits: StandInLimits) -> Setup {
        let db = TestDb::fresh().await.unwrap();
        for n in 1..=bots {
            add_bot_with_token(&db.pool, &format!("b{n}"), &test_token(n))
                .await
                .unwrap();
        }
        let stand_in = TelegramStandIn::start(limits).await.unwrap();
        Setup {
            db,
            prefix: prefix(),
            stand_in,
        }
    }

    /// A client (one "worker") with `args` on top of the stand-in's URL.
    pub async fn client(&self, args: &[&str]) -> BotApi {
        let url = self.stand_in.url();
        let mut all = vec!["--telegram-api-url", url.as_str()];
        all.extend_from_slice(args);
        let cfg = BotApiConfig::from_args(all).unwrap();
        let tokens = Tokens::new(self.db.pool.clone(), test_keyring(), cfg.token_ttl);
        let api = BotApi::new(&cfg, redis().await, &self.prefix, tokens).unwrap();
        api.warm_up().await;
        api
    }
}

pub async fn redis() -> ConnectionManager {
    redis::Client::open(redis_url())
        .unwrap()
        .get_connection_manager()
        .await
        .unwrap()
}

/// The stand-in's bot id of bot `bn`.
pub fn bot_id(n: u32) -> String {
    test_token(n).split(':').next().unwrap().to_owned()
}
