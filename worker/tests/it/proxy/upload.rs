//! Uploads through the proxy are streamed: a 20 MB `sendDocument` reaches the stand-in while the
//! worker's peak memory stays far below 20 MB above where it was; the body's bound holds; a file
//! before `chat_id` is read through only while small.

use bytes::Bytes;
use futures::{StreamExt, stream};
use sluice_testkit::{bots::test_token, telegram_stand_in::StandInLimits};

use super::Setup;

const MB: usize = 1 << 20;
const BOUNDARY: &str = "proxy-test-boundary-7d1f";

fn text_part(name: &str, value: &str) -> Bytes {
    Bytes::from(format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
    ))
}

fn file_head(name: &str) -> Bytes {
    Bytes::from(format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"f.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    ))
}

/// `len` bytes of a file in 256 KiB chunks, generated as they are sent.
fn file_bytes(len: usize) -> impl futures::Stream<Item = Bytes> {
    let chunk = 256 << 10;
    stream::iter((0..len.div_ceil(chunk)).map(move |i| {
        let n = chunk.min(len - i * chunk);
        Bytes::from(vec![(i % 251) as u8; n])
    }))
}

/// A multipart body: `parts` in order (each ending in CRLF), then the closing delimiter,
/// streamed (chunked).
fn body(parts: Vec<futures::stream::BoxStream<'static, Bytes>>) -> reqwest::Body {
    let end = stream::iter([Bytes::from(format!("--{BOUNDARY}--\r\n"))]);
    let all = stream::iter(parts)
        .flatten()
        .chain(end)
        .map(Ok::<_, std::io::Error>);
    reqwest::Body::wrap_stream(all)
}

fn once(b: Bytes) -> futures::stream::BoxStream<'static, Bytes> {
    stream::iter([b]).boxed()
}

/// Resident and peak resident memory of `pid`, in bytes.
fn memory(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb = |key: &str| -> u64 {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            .unwrap()
    };
    (kb("VmRSS:") * 1024, kb("VmHWM:") * 1024)
}

async fn send(url: &str, body: reqwest::Body) -> Option<u16> {
    reqwest::Client::new()
        .post(url)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body)
        .send()
        .await
        .ok()
        .map(|r| r.status().as_u16())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_20_mb_upload_is_streamed_and_bounded() {
    let s = Setup::new(1, StandInLimits::default()).await;
    let p = s
        .worker(&[("SLUICE_BOTAPI_PROXY_MAX_BODY", "30000000")])
        .await;
    let url = format!("{}/bot{}/sendDocument", p.url, test_token(1));

    // Warm up the connections and the limiter's scripts, then measure.
    let small = vec![
        once(text_part("chat_id", "55")),
        once(file_head("document")),
        file_bytes(1024).boxed(),
        once(Bytes::from_static(b"\r\n")),
    ];
    assert_eq!(send(&url, body(small)).await, Some(200));
    let (rss_before, _) = memory(p.worker.pid());
    let upload = vec![
        once(text_part("chat_id", "56")),
        once(text_part("caption", "twenty megabytes")),
        once(file_head("document")),
        file_bytes(20 * MB).boxed(),
        once(Bytes::from_static(b"\r\n")),
    ];
    assert_eq!(send(&url, body(upload)).await, Some(200));
    let (rss_after, peak) = memory(p.worker.pid());
    println!(
        "worker RSS before the 20 MB upload {:.1} MB, after {:.1} MB, peak {:.1} MB",
        rss_before as f64 / MB as f64,
        rss_after as f64 / MB as f64,
        peak as f64 / MB as f64
    );
    assert!(
        peak < rss_before + 10 * MB as u64,
        "the worker's peak memory grew by {} MB: the upload was buffered",
        (peak - rss_before) / MB as u64
    );
    let chats: Vec<_> = s
        .calls_of(1)
        .into_iter()
        .map(|c| (c.chat, c.status))
        .collect();
    assert_eq!(
        chats,
        vec![(Some("55".into()), 200), (Some("56".into()), 200)]
    );

    // A small file before chat_id is read through; a large one is refused, never sent.
    let small_first = vec![
        once(file_head("document")),
        file_bytes(1024).boxed(),
        once(Bytes::from_static(b"\r\n")),
        once(text_part("chat_id", "57")),
    ];
    assert_eq!(send(&url, body(small_first)).await, Some(200));
    let large_first = vec![
        once(file_head("document")),
        file_bytes(2 * MB).boxed(),
        once(Bytes::from_static(b"\r\n")),
        once(text_part("chat_id", "58")),
    ];
    let refused = send(&url, body(large_first)).await;
    assert!(matches!(refused, Some(400) | None), "{refused:?}");

    // Over SLUICE_BOTAPI_PROXY_MAX_BODY, chunked: cut, and 413 if the client still listens.
    let too_large = vec![
        once(text_part("chat_id", "59")),
        once(file_head("document")),
        file_bytes(31 * MB).boxed(),
        once(Bytes::from_static(b"\r\n")),
    ];
    let cut = send(&url, body(too_large)).await;
    assert!(matches!(cut, Some(413) | None), "{cut:?}");
    let chats: Vec<_> = s.calls_of(1).into_iter().filter_map(|c| c.chat).collect();
    assert_eq!(
        chats,
        vec!["55", "56", "57"],
        "refused uploads never reach Telegram"
    );
    let metrics = p.worker.metrics().await;
    let refused = "sluice_botapi_proxy_refused_total";
    assert_eq!(
        super::metric(&metrics, refused, &[r#"reason="too_large""#]),
        1.0
    );
    assert_eq!(
        super::metric(&metrics, refused, &[r#"reason="bad_request""#]),
        1.0
    );
}
