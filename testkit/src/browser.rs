//! A real browser for tests: headless Chromium driven over WebDriver (fantoccini) through
//! Debian's `chromedriver`, on a free port, ended (Chromium included) when dropped.
//!
//! Every wait is bounded; a step that fails says which selector it was waiting for.

mod chromedriver;

use std::{path::Path, time::Duration};

use anyhow::{Context, bail};
use fantoccini::{Client, ClientBuilder, Locator, wd::WebDriverCompatibleCommand};
use serde_json::{Value, json};

use chromedriver::Chromedriver;

/// The window the pages are rendered and captured at: a laptop's screen.
pub const WIDTH: u32 = 1366;
pub const HEIGHT: u32 = 900;

/// A headless Chromium session.
pub struct Browser {
    client: Client,
    /// Declared after `client`: dropped last, it kills chromedriver and Chromium.
    driver: Chromedriver,
}

/// A browser console message (`console.error`, a failed load, a CSP violation, a script error).
#[derive(Debug, Clone)]
pub struct ConsoleMessage {
    pub level: String,
    pub message: String,
}

impl Browser {
    /// Starts chromedriver and opens a headless session at [`WIDTH`]×[`HEIGHT`].
    pub async fn start() -> anyhow::Result<Browser> {
        let driver = Chromedriver::start().await?;
        let profile = driver.scratch.join("profile");
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium_binary(),
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                    "--no-first-run", "--disable-extensions", "--hide-scrollbars", "--lang=en-US",
                    "--force-device-scale-factor=1", "--disable-background-networking",
                    format!("--window-size={WIDTH},{HEIGHT}"),
                    format!("--user-data-dir={}", profile.display()),
                ],
            },
            "goog:loggingPrefs": { "browser": "ALL" },
        });
        let Value::Object(caps) = caps else {
            unreachable!()
        };
        let connect = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&driver.url())
            .await;
        // Chromium's first start on a busy two-core machine takes seconds; the connect above is
        // bounded by chromedriver's own start-up timeout (60 s).
        let client = match connect {
            Ok(c) => c,
            Err(e) => bail!("no WebDriver session: {e}\n{}", driver.log_tail()),
        };
        Ok(Browser { client, driver })
    }

    /// The fantoccini client, for what the helpers below do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Navigates to `url` and waits for the load to finish.
    pub async fn open(&self, url: &str) -> anyhow::Result<()> {
        self.client
            .goto(url)
            .await
            .with_context(|| format!("opening {url}"))
    }

    pub async fn current_url(&self) -> anyhow::Result<String> {
        Ok(self.client.current_url().await?.to_string())
    }

    /// Waits up to `timeout` for an element matching `css`.
    pub async fn wait_for(
        &self,
        css: &str,
        timeout: Duration,
    ) -> anyhow::Result<fantoccini::elements::Element> {
        self.client
            .wait()
            .at_most(timeout)
            .every(Duration::from_millis(100))
            .for_element(Locator::Css(css))
            .await
            .with_context(|| format!("waiting {timeout:?} for {css}"))
    }

    /// Waits up to `timeout` until the text of `css` satisfies `ready`; returns that text.
    pub async fn wait_for_text(
        &self,
        css: &str,
        timeout: Duration,
        ready: impl Fn(&str) -> bool,
    ) -> anyhow::Result<String> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut last = None;
        while tokio::time::Instant::now() < deadline {
            if let Ok(t) = self.text(css).await {
                if ready(&t) {
                    return Ok(t);
                }
                last = Some(t);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("waited {timeout:?} for the text of {css}; last seen: {last:?}")
    }

    /// The visible text of the first element matching `css`.
    pub async fn text(&self, css: &str) -> anyhow::Result<String> {
        let el = self
            .client
            .find(Locator::Css(css))
            .await
            .with_context(|| format!("no {css}"))?;
        Ok(el.text().await?)
    }

    /// An attribute of the first element matching `css`.
    pub async fn attr(&self, css: &str, name: &str) -> anyhow::Result<Option<String>> {
        let el = self
            .client
            .find(Locator::Css(css))
            .await
            .with_context(|| format!("no {css}"))?;
        Ok(el.attr(name).await?)
    }

    /// How many elements match `css`.
    pub async fn count(&self, css: &str) -> anyhow::Result<usize> {
        Ok(self.client.find_all(Locator::Css(css)).await?.len())
    }

    /// Fills the fields of the form matching `form_css` (by field name) and submits it with its
    /// submit button, as a person would: text is typed key by key; selects and date inputs,
    /// which take no typing reliably, get their value set.
    pub async fn fill_and_submit(
        &self,
        form_css: &str,
        fields: &[(&str, &str)],
    ) -> anyhow::Result<()> {
        let form = self
            .client
            .form(Locator::Css(form_css))
            .await
            .with_context(|| format!("no form {form_css}"))?;
        for (name, value) in fields {
            let css = format!("{form_css} [name='{name}']");
            let input = self
                .client
                .find(Locator::Css(&css))
                .await
                .with_context(|| format!("no field {css}"))?;
            let typed = matches!(input.tag_name().await?.as_str(), "input" | "textarea")
                && matches!(
                    input.attr("type").await?.as_deref(),
                    None | Some("text" | "search" | "password" | "number" | "email" | "url")
                );
            if typed {
                input.clear().await?;
                input.send_keys(value).await?;
            } else {
                form.set_by_name(name, value).await?;
            }
        }
        form.submit()
            .await
            .with_context(|| format!("submitting {form_css}"))
    }

    /// Clicks the first element matching `css`.
    pub async fn click(&self, css: &str) -> anyhow::Result<()> {
        let el = self
            .client
            .find(Locator::Css(css))
            .await
            .with_context(|| format!("no {css}"))?;
        Ok(el.click().await?)
    }

    /// The browser console's messages since the last call (chromedriver's log endpoint).
    pub async fn console(&self) -> anyhow::Result<Vec<ConsoleMessage>> {
        let entries = self
            .client
            .issue_cmd(BrowserLog)
            .await
            .context("reading the browser log")?;
        Ok(entries
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| ConsoleMessage {
                level: e["level"].as_str().unwrap_or_default().to_owned(),
                message: e["message"].as_str().unwrap_or_default().to_owned(),
            })
            .collect())
    }

    /// Console messages at level `SEVERE` (errors) since the last call.
    pub async fn console_errors(&self) -> anyhow::Result<Vec<String>> {
        Ok(self
            .console()
            .await?
            .into_iter()
            .filter(|m| m.level == "SEVERE")
            .map(|m| m.message)
            .collect())
    }

    /// Saves a PNG of the whole page (the window is made as tall as the page, at most 4000 px,
    /// then put back).
    pub async fn screenshot(&self, path: &Path) -> anyhow::Result<()> {
        // Window and viewport differ by the browser's own frame, even headless.
        let sizes = self
            .client
            .execute(
                "return [document.documentElement.scrollHeight, window.outerHeight - window.innerHeight]",
                vec![],
            )
            .await?;
        let page = sizes[0]
            .as_u64()
            .unwrap_or(u64::from(HEIGHT))
            .clamp(u64::from(HEIGHT), 4000);
        let frame = sizes[1].as_u64().unwrap_or(0).min(400);
        self.client
            .set_window_size(WIDTH, (page + frame) as u32)
            .await?;
        let png = self.client.screenshot().await;
        self.client.set_window_size(WIDTH, HEIGHT).await?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, png?).with_context(|| format!("writing {}", path.display()))
    }

    /// Ends the session (Chromium exits), then chromedriver.
    pub async fn close(self) -> anyhow::Result<()> {
        let Browser { client, driver } = self;
        let closed = client.close().await;
        drop(driver);
        Ok(closed?)
    }
}

fn chromium_binary() -> &'static str {
    // Debian's package; chromedriver would look for "google-chrome" first.
    "/usr/bin/chromium"
}

/// chromedriver's (non-W3C) `POST /session/{id}/se/log`: the browser console since last read.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"browser"}"#.to_owned()))
    }
}
