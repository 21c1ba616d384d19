//! Unauthenticated uploads to the signed-webhook route cannot make the api hold more body bytes
//! than that route's budget, and Telegram (its own budget) keeps being answered meanwhile.

use std::time::Duration;

use futures::StreamExt;
use sluice_api::{signature::Scheme, sources::Source};

use crate::{
    common::{BOT, message, spawn_app_with},
    hooks::secret,
    sign::{add_source, hook_url},
};

const MIB: usize = 1024 * 1024;
const ATTACKERS: usize = 40;

/// A 1 MiB body whose first 900 KiB arrive at once and the rest after `stall`: a slow sender.
fn slow_upload(stall: Duration) -> reqwest::Body {
    let head = vec![b' '; 900 * 1024];
    let tail = vec![b' '; MIB - head.len()];
    let chunks = futures::stream::iter([head])
        .chain(futures::stream::once(async move {
            tokio::time::sleep(stall).await;
            tail
        }))
        .map(Ok::<_, std::io::Error>);
    reqwest::Body::wrap_stream(chunks)
}

#[tokio::test]
async fn unauthenticated_uploads_are_bounded_while_telegram_is_answered() {
    let budget = (4 * MIB).to_string();
    let app = spawn_app_with(
        &sluice_testkit::redis_url(),
        &[
            &format!("--body-budget-bytes={budget}"),
            "--enqueue-timeout=3000ms",
        ],
    )
    .await;
    add_source(&app, Source::new("plain", Scheme::Plain, secret("p"))).await;

    let url = hook_url(&app, "plain");
    let attack: Vec<_> = (0..ATTACKERS)
        .map(|_| {
            let (client, url) = (app.client.clone(), url.clone());
            tokio::spawn(async move {
                let sent = client
                    .post(url)
                    .header("X-Signature", "00".repeat(32))
                    .header("content-length", MIB.to_string())
                    .body(slow_upload(Duration::from_secs(3)))
                    .send()
                    .await;
                match sent {
                    Ok(resp) => {
                        let retry_after = resp.headers().get("retry-after").is_some();
                        let status = resp.status().as_u16();
                        let text = resp.text().await.unwrap_or_default();
                        Some((status, retry_after, text))
                    }
                    // Answered and closed while the client was still sending.
                    Err(_) => None,
                }
            })
        })
        .collect();

    // While the uploads hold the signed route's budget, Telegram updates keep going through.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for id in 1..=50 {
        let resp = app.post_update(BOT, message(id, id, "hi")).await;
        assert_eq!(resp.status(), 200, "update {id} during the attack");
    }

    let mut refused = 0;
    for task in attack {
        match task.await.unwrap() {
            Some((503, true, text)) => {
                assert!(text.contains(r#""error":"retry""#), "{text}");
                refused += 1;
            }
            Some((401, _, _)) | None => {}
            other => panic!("unexpected answer to an unsigned upload: {other:?}"),
        }
    }
    let metrics = app.admin_get("/metrics").await.text().await.unwrap();
    let exhausted = metrics
        .lines()
        .find(|l| {
            l.starts_with("sluice_body_budget_exhausted_total")
                && l.contains(r#"route="/webhook/hooks/{source}""#)
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0);
    // At most 4 bodies of 1 MiB fit the 4 MiB budget; every other upload was refused with 503.
    assert!(
        exhausted >= (ATTACKERS - 4) as f64,
        "only {exhausted} refusals counted ({refused} 503s read back)"
    );
    assert!(refused > 0, "no 503 retry was read back");
    app.stop().await;
}
