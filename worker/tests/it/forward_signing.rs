//! Every forwarded request is signed, and the receiver's verification snippets in
//! docs/forwarding.md (Python and Rust) accept a real captured request and refuse a forged one,
//! as does sluice's own signed-webhook endpoint (scheme `stripe`, the real `sluice-api`).

use std::{process::Command, time::Duration};

use axum::{http::StatusCode, response::IntoResponse};
use sluice_shared::lanes::Lane;
use sluice_testkit::{TestDb, openssl_hmac, prefix, redis_url, wait_until};

use crate::{
    api::{add_source, spawn_api},
    common::{enqueuer, envelope, spawn_worker},
    target::{Seen, Target},
};

/// The Rust snippet of docs/forwarding.md, compiled here (a test checks the two are the same).
mod snippet {
    include!("forward_verify.rs");
}

const NEW: &str = "whsec-new-0123456789abcdef";
const OLD: &str = "whsec-old-0123456789abcdef";
const DOC: &str = include_str!("../../../docs/forwarding.md");

/// The first fenced block of `lang` in docs/forwarding.md.
fn doc_block(lang: &str) -> &'static str {
    let start = DOC.find(&format!("```{lang}\n")).unwrap() + lang.len() + 4;
    let len = DOC[start..].find("```\n").unwrap();
    &DOC[start..start + len]
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Runs the Python snippet of the docs on one request; returns what `verify` answered.
fn python_verify(secret: &str, header: &str, body: &[u8]) -> bool {
    let dir = std::env::temp_dir().join(format!("sluice-verify-{}", ulid::Ulid::generate()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = format!(
        "{}\nimport sys\nprint(verify(sys.argv[1].encode(), sys.argv[2], open(sys.argv[3], 'rb').read()))\n",
        doc_block("python")
    );
    std::fs::write(dir.join("verify.py"), script).unwrap();
    std::fs::write(dir.join("body"), body).unwrap();
    let out = Command::new("python3")
        .arg(dir.join("verify.py"))
        .args([secret, header])
        .arg(dir.join("body"))
        .output()
        .expect("python3 is on PATH");
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    match stdout.trim() {
        "True" => true,
        "False" => false,
        other => panic!("python printed {other:?}"),
    }
}

fn header_of(seen: &Seen, name: &str) -> String {
    seen.headers[name].to_str().unwrap().to_owned()
}

#[test]
fn the_docs_rust_snippet_is_the_one_compiled_here() {
    assert_eq!(doc_block("rust"), include_str!("forward_verify.rs"));
}

#[tokio::test]
async fn forwarded_requests_are_signed_and_the_documented_checks_accept_them() {
    let db = TestDb::fresh().await.unwrap();
    let (redis, prefix) = (redis_url(), prefix());
    // The first delivery of update 7 fails, so it is delivered again (attempt 1).
    let target = Target::start(|seen| {
        let first = seen.headers["x-sluice-attempt"] == "0";
        if seen.update_id() == Some(7) && first {
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        } else {
            StatusCode::NO_CONTENT.into_response()
        }
    })
    .await;
    let url = format!("{}/telegram", target.base);
    let env = [
        ("SLUICE_HANDLER", "forward"),
        ("SLUICE_FORWARD_URL", url.as_str()),
        ("SLUICE_FORWARD_SECRET", NEW),
        ("SLUICE_FORWARD_SECRET_PREVIOUS", OLD),
        ("SLUICE_RETRY_BASE", "200ms"),
        ("SLUICE_RETRY_MAX", "500ms"),
    ];
    let worker = spawn_worker(&db.url, &redis, &prefix, &env);
    let enq = enqueuer(&redis, &prefix);
    let sent = envelope("signed", 7, Lane::Normal);
    enq.enqueue(&sent).await.unwrap();
    enq.enqueue(&envelope("signed", 8, Lane::Normal))
        .await
        .unwrap();
    assert!(
        wait_until(Duration::from_secs(20), || async {
            target.seen().len() >= 3
        })
        .await,
        "{:?}",
        target.seen()
    );
    let seen = target.seen();
    let of =
        |id: i64| -> Vec<&Seen> { seen.iter().filter(|s| s.update_id() == Some(id)).collect() };
    let (seven, eight) = (of(7), of(8));
    assert_eq!((seven.len(), eight.len()), (2, 1));

    // The delivery id: the same on the retry, another for another update.
    let ids: Vec<String> = [seven[0], seven[1], eight[0]]
        .iter()
        .map(|s| header_of(s, "x-sluice-delivery-id"))
        .collect();
    assert_eq!(ids[0], ids[1], "stable across retries");
    assert_ne!(ids[0], ids[2]);
    assert_eq!(ids[0].len(), 32);

    // The signature, recomputed outside our code (OpenSSL): t=<now>,v1=<new>,v1=<old>.
    let req = seven[1];
    assert_eq!(
        req.body.as_ref(),
        sent.payload.get().as_bytes(),
        "body as queued"
    );
    let header = header_of(req, "x-sluice-signature");
    let t: u64 = header
        .strip_prefix("t=")
        .and_then(|h| h.split(',').next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(unix_now().abs_diff(t) < 60, "{header}");
    let signed = [format!("{t}.").as_bytes(), req.body.as_ref()].concat();
    assert_eq!(
        header,
        format!(
            "t={t},v1={},v1={}",
            openssl_hmac(NEW, &signed),
            openssl_hmac(OLD, &signed)
        )
    );

    // The receiver's side, as documented: either secret verifies the real request; a wrong
    // secret, a changed body or a correctly signed but old timestamp do not.
    let body = req.body.as_ref();
    let tampered = [body, b" "].concat();
    let old_t = t - 3600;
    let stale = format!(
        "t={old_t},v1={}",
        openssl_hmac(NEW, &[format!("{old_t}.").as_bytes(), body].concat())
    );
    let cases: [(&str, &str, &[u8], bool); 5] = [
        (NEW, &header, body, true),
        (OLD, &header, body, true),
        ("wrong-secret-0123456789", &header, body, false),
        (NEW, &header, &tampered, false),
        (NEW, &stale, body, false),
    ];
    for (secret, header, body, expected) in cases {
        let label = format!("{secret} {header} {}", String::from_utf8_lossy(body));
        assert_eq!(
            python_verify(secret, header, body),
            expected,
            "python: {label}"
        );
        assert_eq!(
            snippet::verify(secret.as_bytes(), header, body, unix_now()),
            expected,
            "rust: {label}"
        );
    }

    // The Stripe scheme, as docs/forwarding.md says: sluice's own signed-webhook verifier (a
    // `sluice-api` source of scheme `stripe`) accepts the request under either secret, and not
    // with a changed body.
    add_source(&db.url, "fwd_new", "stripe", NEW, &[]).await;
    add_source(&db.url, "fwd_old", "stripe", OLD, &[]).await;
    let mut api = spawn_api(&db.url, &redis, &format!("{prefix}-api"), &[]).await;
    let client = reqwest::Client::new();
    let post = |source: &str, body: Vec<u8>| {
        let req = client
            .post(format!("{}/webhook/hooks/{source}", api.base))
            .header("Stripe-Signature", &header)
            .body(body);
        async move { req.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(
        post("fwd_new", tampered.clone()).await,
        401,
        "a changed body"
    );
    assert_eq!(
        post("fwd_new", body.to_vec()).await,
        200,
        "the current secret"
    );
    assert_eq!(
        post("fwd_old", body.to_vec()).await,
        200,
        "the previous secret"
    );
    api.kill().await;
    drop(worker);
    sluice_testkit::clear_prefix(&redis, &format!("{prefix}-api")).await;
    sluice_testkit::clear_prefix(&redis, &prefix).await;
    db.drop_db().await;
}
