//! The HTML report: one chart per kind of data the run collected, notes for the rest, every
//! piece of text from the summary or the verdict escaped, and a page that holds together.
//!
//! Set `SLUICE_REPORT_EXAMPLE=/path/report.html` to keep the full example page for a look.

use std::collections::BTreeMap;

use serde_json::json;
use sluice_loadtests::report;
use sluice_loadtests::summary::{Check, Plan, Requests, Second, Summary};

/// A 120 s run with everything sampled: a 429 episode, some 503s and transport errors, latency
/// gaps, three lanes filling and draining, two processes' RSS, Redis memory and lock waits.
fn full_summary() -> Summary {
    let timeseries = (0..120u32).map(full_second).collect();
    let mut metrics = BTreeMap::new();
    metrics.insert(
        "http_req_duration".to_owned(),
        BTreeMap::from([("p(95)".to_owned(), 41.5), ("avg".to_owned(), 9.25)]),
    );
    metrics.insert(
        "http_req_failed".to_owned(),
        BTreeMap::from([("rate".to_owned(), 0.0042), ("fails".to_owned(), 50.0)]),
    );
    Summary {
        tool: "sluice-load".into(),
        format: 1,
        profile: "steady".into(),
        target: "http://127.0.0.1:8080".into(),
        started_at: "2026-05-01T10:00:00Z".into(),
        duration_s: 120.4,
        plan: Plan {
            shape: "100/s for 120 s".into(),
            arrivals: 12_000,
            duration_s: 120.0,
            resend_share: 0.0,
        },
        requests: Requests {
            total: 12_000,
            by_status: BTreeMap::from([
                ("200".into(), 11_900),
                ("429".into(), 60),
                ("503".into(), 20),
            ]),
            transport_errors: 15,
            timeouts: 5,
            ..Default::default()
        },
        metrics,
        checks: vec![Check {
            name: "status is 2xx".into(),
            passes: 11_900,
            fails: 100,
        }],
        timeseries,
        ledger: Some("ledger.csv".into()),
        bots: vec!["load-1-0".into(), "load-1-1".into()],
        ordering: Some("chat".into()),
        goose_report: Some("goose.html".into()),
        environment: BTreeMap::from([("cores".into(), "2".into())]),
    }
}

fn full_second(t: u32) -> Second {
    let x = f64::from(t);
    let mut by_status = BTreeMap::from([("200".to_owned(), 90 + u64::from(t % 20))]);
    if (40..50).contains(&t) {
        by_status.insert("429".into(), 6);
    }
    if t % 30 == 29 {
        by_status.insert("503".into(), 5);
        by_status.insert("error".into(), 3);
    }
    // Every 17th second answers nothing: a gap in the latency lines.
    let latency = |base: f64| (t % 17 != 16).then(|| base + 4.0 * (x / 9.0).sin().abs());
    let mut queue_depth = BTreeMap::new();
    let fill = if t < 60 { x } else { (120.0 - x).max(0.0) };
    for (lane, weight) in [("high", 0.2), ("normal", 1.0), ("low", 2.5)] {
        queue_depth.insert(format!("{lane}:pending"), (fill * weight).round());
        queue_depth.insert(format!("{lane}:scheduled"), (fill * weight / 4.0).round());
        queue_depth.insert(format!("{lane}:inflight"), 8.0);
        queue_depth.insert(format!("{lane}:dead"), f64::from(t / 60));
    }
    Second {
        t,
        by_status,
        p50_ms: latency(4.0),
        p95_ms: latency(20.0),
        p99_ms: latency(45.0).map(|v| if t == 75 { 180.0 } else { v }),
        queue_depth,
        rss_bytes: BTreeMap::from([
            ("api".into(), 60_000_000 + u64::from(t) * 150_000),
            ("worker".into(), 45_000_000 + u64::from(t % 40) * 200_000),
        ]),
        redis_used_memory: Some(12_000_000 + u64::from(t) * 50_000),
        lock_waits: Some(u64::from(t % 25 == 3)),
    }
}

/// Only what every run has: statuses and latency.
fn bare_summary() -> Summary {
    let mut s = full_summary();
    for second in &mut s.timeseries {
        second.queue_depth.clear();
        second.rss_bytes.clear();
        second.redis_used_memory = None;
        second.lock_waits = None;
    }
    s
}

/// Tags balance (void elements and `/>` aside) and every `<` opens a tag: enough to know that no
/// piece of the page swallowed or broke another.
fn assert_well_formed(html: &str) {
    const VOID: [&str; 6] = ["meta", "br", "hr", "img", "input", "link"];
    let mut open: Vec<String> = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find('<') {
        rest = &rest[at + 1..];
        let end = rest.find('>').expect("a tag that never closes");
        let tag = &rest[..end];
        rest = &rest[end + 1..];
        if tag.starts_with('!') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(
                open.pop().as_deref(),
                Some(name.trim()),
                "mismatched </{name}>"
            );
            continue;
        }
        let name: String = tag
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect();
        assert!(!name.is_empty(), "a bare '<' in text: <{tag}>");
        if !tag.ends_with('/') && !VOID.contains(&name.as_str()) {
            open.push(name);
        }
    }
    assert!(open.is_empty(), "unclosed: {open:?}");
}

/// Whether some SVG `<text>` says exactly `text` (plotters puts it on a line of its own).
fn has_text(html: &str, text: &str) -> bool {
    html.contains(&format!(">\n{text}\n</text>"))
}

fn count(html: &str, needle: &str) -> usize {
    html.matches(needle).count()
}

#[test]
fn a_fully_sampled_run_gets_every_chart() {
    let html = report::render(&full_summary(), None);
    if let Ok(path) = std::env::var("SLUICE_REPORT_EXAMPLE") {
        std::fs::write(path, &html).unwrap();
    }
    assert_well_formed(&html);
    assert_eq!(
        count(&html, "<svg"),
        6,
        "latency, throughput, backlog, states, memory, locks"
    );
    assert_eq!(count(&html, "</svg>"), 6);
    for title in [
        "Latency percentiles",
        "Throughput by status",
        "Queue backlog per lane",
        "Queue depth by state, all lanes",
        "Memory",
        "Postgres lock waits",
    ] {
        assert!(has_text(&html, title), "no chart titled {title}");
    }
    // Axis descriptions and legends are SVG text: no font files are needed to draw them.
    assert!(has_text(&html, "seconds since start"));
    for legend in [
        "p99",
        "2xx",
        "429",
        "503",
        "errors",
        "high",
        "low",
        "api RSS",
        "Redis used_memory",
    ] {
        assert!(has_text(&html, legend), "no legend {legend}");
    }
    assert!(html.contains("100/s for 120 s") && html.contains("http_req_duration"));
    assert!(html.contains("<a href=\"goose.html\">"));
    // Self-contained: nothing to fetch, nothing to run.
    for banned in ["<script", "src=", "<link", "@import", "url("] {
        assert!(!html.contains(banned), "found {banned}");
    }
}

#[test]
fn charts_without_data_become_notes() {
    let html = report::render(&bare_summary(), None);
    assert_well_formed(&html);
    assert_eq!(count(&html, "<svg"), 2, "latency and throughput only");
    assert!(html.contains("<b>Queue depth</b>: the run did not read sluice_queue_depth"));
    assert!(html.contains("<b>Memory</b>: the run did not sample"));
    assert!(html.contains("<b>Postgres lock waits</b>: the run did not sample"));
    // A clean throughput chart has no lines for classes that never happened.
    let mut clean = bare_summary();
    for second in &mut clean.timeseries {
        second.by_status.retain(|k, _| k == "200");
    }
    let html = report::render(&clean, None);
    assert!(has_text(&html, "2xx") && !has_text(&html, "429"));
}

#[test]
fn a_run_without_samples_still_renders() {
    let mut s = full_summary();
    s.timeseries.clear();
    s.metrics.clear();
    s.checks.clear();
    s.goose_report = None;
    let html = report::render(&s, None);
    assert_well_formed(&html);
    assert_eq!(count(&html, "<svg"), 0);
    assert!(html.contains("<b>Latency percentiles</b>: no request was answered"));
    assert!(html.contains("The summary holds no metrics."));
    assert!(!html.contains("goose.html"));
}

#[test]
fn text_from_the_summary_is_escaped() {
    let mut s = full_summary();
    s.profile = "<script>alert('x')</script>".into();
    s.target = "http://h/?a=1&b=\"2\"".into();
    s.checks[0].name = "<img onerror=x>".into();
    s.environment.insert("<b>".into(), "</table>".into());
    s.metrics
        .insert("<i>odd".into(), BTreeMap::from([("<p>".into(), 1.0)]));
    s.requests.by_status.insert("<u>".into(), 1);
    s.goose_report = Some("\"><script>.html".into());
    let html = report::render(&s, None);
    assert_well_formed(&html);
    assert!(!html.to_lowercase().contains("<script"));
    assert!(html.contains("<h1>sluice-load &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;</h1>"));
    assert!(html.contains("http://h/?a=1&amp;b=&quot;2&quot;"));
    assert!(html.contains("&lt;img onerror=x&gt;"));
    // A link that is not a relative path is shown, never followed.
    s.goose_report = Some("javascript:alert(1)".into());
    let html = report::render(&s, None);
    assert!(!html.contains("href=\"javascript"));
}

#[test]
fn the_verdict_comes_first() {
    let verdict = json!({
        "verdict": "FAIL",
        "profile": "steady",
        "checks": [
            {"metric": "http_req_duration", "threshold": "p(95)<300", "status": "PASS", "value": 41.5},
            {"metric": "<db_lock_waits>", "threshold": "count<=2", "status": "FAIL", "value": 3},
            {"metric": "db_deadlocks", "threshold": "count==0", "status": "SKIP", "value": null,
             "reason": "not measured"}
        ],
        "delivery": {"acked": 11900, "lost": 0}
    });
    let html = report::render(&full_summary(), Some(&verdict));
    assert_well_formed(&html);
    let at = |needle: &str| html.find(needle).unwrap_or_else(|| panic!("no {needle}"));
    assert!(at("<h2>Verdict</h2>") < at("<h2>Run</h2>"));
    assert!(html.contains("<span class=\"badge fail\">FAIL</span>"));
    assert!(
        html.contains(
            "<th>status</th><th>metric</th><th>threshold</th><th>value</th><th>reason</th>"
        )
    );
    assert!(html.contains("<td class=\"fail\">FAIL</td><td>&lt;db_lock_waits&gt;</td>"));
    assert!(html.contains("<td>not measured</td>") && html.contains("&quot;acked&quot;: 11900"));
}

#[test]
fn any_verdict_json_renders() {
    let odd = [
        json!(null),
        json!("PASS"),
        json!([1, "<x>"]),
        json!({"verdict": {"nested": true}}),
        json!({"verdict": "PASS", "checks": "none"}),
        json!({"verdict": "MAYBE", "checks": [1, "<two>", {"status": "pass"}, []]}),
        json!({"checks": []}),
    ];
    for v in &odd {
        let html = report::render(&bare_summary(), Some(v));
        assert_well_formed(&html);
        assert!(html.contains("<h2>Verdict</h2>"), "{v}");
        assert!(!html.contains("<two>") && !html.contains("<x>"), "{v}");
    }
}

#[test]
fn write_puts_the_page_on_disk() {
    let path = std::env::temp_dir().join(format!("sluice-report-{}.html", std::process::id()));
    report::write(&full_summary(), &path).unwrap();
    let html = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    let missing = std::env::temp_dir()
        .join("no-such-dir-sluice")
        .join("r.html");
    let err = report::write(&full_summary(), &missing).unwrap_err();
    assert!(format!("{err:#}").contains("writing the HTML report"));
}
