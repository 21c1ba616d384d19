//! One update followed across both processes: the real `sluice-api` and `sluice-worker`
//! binaries export their spans over OTLP/HTTP to a receiver the test starts, and the update's
//! spans form one trace from the webhook through the queue to the insert and the forward
//! request, whose target receives the same trace in its `traceparent`.

use std::{collections::HashMap, time::Duration};

use axum::response::IntoResponse as _;
use sluice_testkit::{TestDb, prefix, redis_url, wait_until};

use crate::{
    api::{add_bot, spawn_api},
    common::spawn_worker,
    otlp::{Got, Receiver},
    target::{SECRET, Target},
};

/// How long the update waits in the queue before a worker starts: the gap the trace must show.
const QUEUED_FOR: Duration = Duration::from_millis(600);

#[tokio::test]
async fn one_update_is_one_trace_from_the_webhook_to_the_forward_request() {
    let db = TestDb::fresh().await.unwrap();
    add_bot(&db.url, "traced_bot", "tok").await;
    let (redis, prefix) = (redis_url(), prefix());
    let otlp = Receiver::start().await;
    let target = Target::start(|_| "ok".into_response()).await;
    // Batches would wait a minute: only the flush at exit can deliver the spans in time.
    let otel = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", otlp.endpoint.as_str()),
        ("OTEL_BSP_SCHEDULE_DELAY", "60000"),
    ];
    let mut api_env = otel.to_vec();
    api_env.push(("SLUICE_SHUTDOWN_GRACE", "1s"));
    let mut api = spawn_api(&db.url, &redis, &prefix, &api_env).await;
    let answer = reqwest::Client::new()
        .post(format!("{}/webhook/telegram/traced_bot", api.base))
        .header("X-Telegram-Bot-Api-Secret-Token", "tok")
        .body(r#"{"update_id":77,"message":{"message_id":1,"chat":{"id":5,"type":"private"},"date":1764000000,"text":"hi"}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    tokio::time::sleep(QUEUED_FOR).await;

    let url = format!("{}/hook", target.base);
    let mut worker_env = otel.to_vec();
    worker_env.extend([
        ("SLUICE_HANDLER", "forward"),
        ("SLUICE_FORWARD_URL", url.as_str()),
        ("SLUICE_FORWARD_SECRET", SECRET),
    ]);
    let mut worker = spawn_worker(&db.url, &redis, &prefix, &worker_env);
    let forwarded = wait_until(Duration::from_secs(20), || async {
        !target.seen().is_empty()
    })
    .await;
    assert!(forwarded, "the update was not forwarded");
    assert!(
        otlp.spans().is_empty(),
        "spans exported before the exit flush"
    );

    let api_exit = api.stop(Duration::from_secs(15)).await;
    worker.sigterm().await;
    let worker_exit = worker.wait_exit(Duration::from_secs(15)).await;
    assert!(matches!(api_exit, Some(s) if s.success()), "{api_exit:?}");
    assert!(
        matches!(worker_exit, Some(s) if s.success()),
        "{worker_exit:?}"
    );

    let spans = otlp.spans();
    let requests: Vec<&Got> = spans.iter().filter(|s| s.name == "request").collect();
    assert_eq!(requests.len(), 1, "one webhook request: {spans:#?}");
    let request = requests[0];
    assert_eq!(request.service, "sluice-api");
    assert!(request.parent_id.is_empty(), "the request span is the root");
    assert_eq!(request.attributes["route"], "/webhook/telegram/{bot}");
    assert_eq!(request.attributes["update_id"], "77");

    let trace: Vec<&Got> = spans
        .iter()
        .filter(|s| s.trace_id == request.trace_id)
        .collect();
    let by_id: HashMap<&str, &Got> = trace.iter().map(|s| (s.span_id.as_str(), *s)).collect();
    let named = |service: &str, name: &str| {
        trace
            .iter()
            .find(|s| s.service == service && s.name == name)
            .unwrap_or_else(|| panic!("no {service} span {name} in the trace: {trace:#?}"))
    };
    for name in ["verify", "admission", "enqueue"] {
        assert_eq!(
            named("sluice-api", name).parent_id,
            request.span_id,
            "{name}"
        );
    }
    for name in ["job", "capacity", "insert", "handler", "forward"] {
        let span = named("sluice-worker", name);
        assert!(
            reaches(span, &request.span_id, &by_id),
            "{name}'s parents do not reach the api's request span: {trace:#?}"
        );
    }
    let job = named("sluice-worker", "job");
    assert_eq!(
        job.parent_id, request.span_id,
        "the job continues the request"
    );
    assert_eq!(job.attributes["bot"], "traced_bot");
    assert_eq!(job.attributes["update_id"], "77");
    assert_eq!(job.attributes["lane"], "normal");
    assert!(!job.attributes["job_id"].is_empty());

    // The queue wait: from the end of the api's enqueue to the worker's job span.
    let enqueue = named("sluice-api", "enqueue");
    let gap = Duration::from_nanos(job.start_ns.saturating_sub(enqueue.end_ns));
    assert!(
        job.start_ns >= enqueue.end_ns && gap >= QUEUED_FOR,
        "the queue wait is not the gap: {gap:?}"
    );
    let waited: u64 = job.attributes["queue_wait_ms"].parse().unwrap();
    assert!(waited >= QUEUED_FOR.as_millis() as u64, "{waited} ms");

    // The forward request carries the trace on, its parent being the forward span.
    let seen = target.seen();
    let tp = seen[0].headers["traceparent"].to_str().unwrap().to_owned();
    let forward = named("sluice-worker", "forward");
    assert_eq!(
        tp,
        format!("00-{}-{}-01", request.trace_id, forward.span_id),
        "traceparent sent to the target"
    );
    db.drop_db().await;
    sluice_testkit::clear_prefix(&redis, &prefix).await;
}

/// Whether `span`'s chain of parents, within the collected spans, reaches `root`.
fn reaches(span: &Got, root: &str, by_id: &HashMap<&str, &Got>) -> bool {
    let mut at = span;
    for _ in 0..32 {
        if at.parent_id == root {
            return true;
        }
        match by_id.get(at.parent_id.as_str()) {
            Some(parent) => at = parent,
            None => return false,
        }
    }
    false
}

#[tokio::test]
async fn the_worker_exports_build_info() {
    let db = TestDb::fresh().await.unwrap();
    let (redis, prefix) = (redis_url(), prefix());
    let worker = spawn_worker(&db.url, &redis, &prefix, &[]);
    let mut metrics = String::new();
    for _ in 0..200 {
        metrics = worker.metrics().await;
        if metrics.contains("sluice_build_info{") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        metrics.contains("sluice_build_info{"),
        "no sluice_build_info:\n{metrics}"
    );
    let line = metrics
        .lines()
        .find(|l| l.starts_with("sluice_build_info{"))
        .unwrap();
    let revision = format!("revision=\"{}\"", sluice_shared::metrics::REVISION);
    assert!(line.contains(&revision) && line.ends_with(" 1"), "{line}");
    db.drop_db().await;
}
