//! The operator console served by the api: authentication, CSRF, sessions, and (per module) its
//! API and pages, against the real api on port 0 with real Redis and a fresh database.

mod admission;
mod auth;
mod bots;
mod bots_page;
mod lanes;
mod openapi;
mod openapi_answers;

use std::time::Duration;

use redis::AsyncCommands;
use sha2::{Digest, Sha256};

use crate::common::{TestApp, spawn_app_with};

/// The console token the tests sign in with (only its SHA-256 is configured).
pub const TOKEN: &str = "console-test-token-0123456789abcdef";

/// A secrets key flag: bot tokens and source secrets are stored sealed under it.
pub const KEY: &str = "--secrets-key=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// The api with a console whose token is [`TOKEN`], plain-HTTP cookies, and `extra` flags.
pub async fn spawn_console(extra: &[&str]) -> (TestApp, Console) {
    let digest = format!(
        "--console-token-sha256={}",
        hex::encode(Sha256::digest(TOKEN))
    );
    let mut flags = vec![digest.as_str(), "--console-secure-cookie=false"];
    flags.extend_from_slice(extra);
    let app = spawn_app_with(&sluice_testkit::redis_url(), &flags).await;
    let console = Console::new(&app);
    (app, console)
}

/// A client of the console that follows no redirect (tests look at them).
pub struct Console {
    pub base: String,
    pub http: reqwest::Client,
    redis_url: String,
    prefix: String,
}

/// A signed-in browser: the cookie's value and the session's CSRF token.
pub struct Signed {
    pub cookie: String,
    pub csrf: String,
}

impl Console {
    pub fn new(app: &TestApp) -> Console {
        Console {
            base: format!("http://{}", app.console_addr.expect("console listening")),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
            redis_url: app.redis_url.clone(),
            prefix: app.prefix.clone(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `POST /login` with `token`.
    pub async fn login(&self, token: &str) -> reqwest::Response {
        self.http
            .post(self.url("/login"))
            .form_body(&[("token", token)])
            .send()
            .await
            .unwrap()
    }

    /// Signs in with [`TOKEN`]; the CSRF token is read where the console keeps it (Redis).
    pub async fn sign_in(&self) -> Signed {
        let resp = self.login(TOKEN).await;
        assert_eq!(resp.status(), 303);
        let set = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
        let cookie = set
            .split(';')
            .next()
            .and_then(|kv| kv.strip_prefix("sluice_console="))
            .expect("the session cookie")
            .to_owned();
        let key = format!(
            "{}:console:session:{}",
            self.prefix,
            hex::encode(Sha256::digest(&cookie))
        );
        let client = redis::Client::open(self.redis_url.as_str()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let csrf: String = conn.get(key).await.expect("the session is in redis");
        Signed { cookie, csrf }
    }

    /// A request with the session's cookie.
    pub fn with(&self, s: &Signed, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .header("cookie", format!("sluice_console={}", s.cookie))
    }
}

/// `application/x-www-form-urlencoded` bodies, as a browser's form sends them.
pub trait FormBody {
    fn form_body(self, fields: &[(&str, &str)]) -> Self;
}

impl FormBody for reqwest::RequestBuilder {
    fn form_body(self, fields: &[(&str, &str)]) -> Self {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        self.header("content-type", "application/x-www-form-urlencoded")
            .body(body)
    }
}
