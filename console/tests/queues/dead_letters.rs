//! Reading dead letters: the list with each filter and its cursor, one letter with its payload
//! (escaped on the page), through the JSON API and the pages.

use serde_json::Value;
use sluice_shared::lanes::Lane;

use crate::support::{From, letter, spawn};

/// 2026-12-03T12:00:00Z.
const BASE: i64 = 1_796_299_200_000;

fn id(i: i64) -> String {
    format!("01KATEST{i:018}")
}

/// Six letters a second apart: two bots, a source, three lanes, three reasons.
async fn fill(c: &crate::support::TestConsole) {
    let letters = [
        (
            From::Bot("alpha", 1),
            Lane::Normal,
            "forward target answered 500",
        ),
        (
            From::Bot("alpha", 2),
            Lane::Normal,
            "forward target answered 500",
        ),
        (
            From::Source("stripe", "evt_1"),
            Lane::Low,
            "permanent: Bad Signature",
        ),
        (From::Bot("alpha", 3), Lane::High, "timeout after 10s"),
        (
            From::Source("stripe", "evt_2"),
            Lane::Low,
            "permanent: bad signature",
        ),
        (From::Bot("beta", 1), Lane::Normal, "timeout after 10s"),
    ];
    let dead = c.dead_letters();
    for (i, (from, lane, reason)) in letters.into_iter().enumerate() {
        let i = i as i64;
        let l = letter(&id(i), from, lane, reason, BASE + i * 1000, r#"{"n":1}"#);
        dead.put(&l).await.unwrap();
    }
}

fn ids(v: &Value) -> Vec<String> {
    v["letters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap().to_owned())
        .collect()
}

fn expect(list: &[i64]) -> Vec<String> {
    list.iter().map(|i| id(*i)).collect()
}

#[tokio::test]
async fn every_filter_narrows_the_list_and_the_cursor_walks_it_newest_first() {
    let c = spawn().await;
    fill(&c).await;

    // Two by two, newest first, to the last page.
    let (mut seen, mut path) = (Vec::new(), "/api/v1/dead-letters?limit=2".to_owned());
    let mut pages = 0;
    loop {
        let (status, v) = c.get_json(&path).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["matching"], 6);
        seen.extend(ids(&v));
        pages += 1;
        match v["next"].as_str() {
            Some(next) => path = format!("/api/v1/dead-letters?limit=2&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(seen, expect(&[5, 4, 3, 2, 1, 0]));
    assert_eq!(pages, 3);

    let cases: [(&str, &[i64], Value); 8] = [
        ("lane=low", &[4, 2], 2.into()),
        ("bot=alpha", &[3, 1, 0], 3.into()),
        ("origin=stripe", &[4, 2], 2.into()),
        ("source=alpha", &[], 0.into()),
        // Case-insensitive, and not counted: a reason is read letter by letter.
        ("reason=BAD%20SIGNATURE", &[4, 2], Value::Null),
        ("lane=normal&reason=timeout", &[5], Value::Null),
        // Since is inclusive, until exclusive; RFC 3339 or the form's UTC fields.
        (
            "since=2026-12-03T12:00:02Z&until=2026-12-03T12:00:05",
            &[4, 3, 2],
            3.into(),
        ),
        ("since=2026-12-03T13:00:00%2B01:00&bot=beta", &[5], 1.into()),
    ];
    for (query, want, matching) in cases {
        let (status, v) = c.get_json(&format!("/api/v1/dead-letters?{query}")).await;
        assert_eq!(status, 200, "{query}: {v}");
        assert_eq!(ids(&v), expect(want), "{query}");
        assert_eq!(v["matching"], matching, "{query}");
    }
    let first = c.get_json("/api/v1/dead-letters?bot=alpha&limit=1").await.1;
    let one = &first["letters"][0];
    assert_eq!(one["lane"], "high");
    assert_eq!(one["origin"]["type"], "bot");
    assert_eq!(one["origin"]["name"], "alpha");
    assert_eq!(one["attempts"], 3);
    assert_eq!(one["dead_at"], "2026-12-03T12:00:03Z");
    assert!(one.get("payload").is_none(), "the list leaves payloads out");

    for bad in [
        "lane=urgent",
        "cursor=!!",
        "since=noon",
        "bot=a&source=b",
        "colour=red",
    ] {
        let (status, v) = c.get_json(&format!("/api/v1/dead-letters?{bad}")).await;
        assert_eq!(status, 400, "{bad}: {v}");
        assert_eq!(v["error"], "bad_request", "{bad}");
    }

    // The page reads the same filter from its form's fields.
    let s = c.sign_in().await;
    let (status, html) = c.page(&s, "/dead-letters?origin=alpha&lane=").await;
    assert_eq!(status, 200);
    for i in [3, 1, 0] {
        assert!(html.contains(&format!("data-id=\"{}\"", id(i))), "{html}");
    }
    for i in [5, 4, 2] {
        assert!(!html.contains(&format!("data-id=\"{}\"", id(i))), "{i}");
    }
    assert!(html.contains("3 matching"), "{html}");
    assert!(html.contains("forward target answered 500"));
    let (status, _) = c.page(&s, "/dead-letters?lane=urgent").await;
    assert_eq!(status, 400);
    c.stop().await;
}

#[tokio::test]
async fn one_letter_shows_its_payload_whole_in_the_api_and_escaped_on_its_page() {
    let c = spawn().await;
    let payload = r#"{"update_id":9,"message":{"text":"<script>alert('x')</script>"}}"#;
    let l = letter(
        &id(9),
        From::Source("stripe", "evt_<b>"),
        Lane::Low,
        "permanent: <i>bad</i> signature",
        BASE,
        payload,
    );
    c.dead_letters().put(&l).await.unwrap();

    let (status, v) = c.get_json(&format!("/api/v1/dead-letters/{}", id(9))).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        v["payload"]["message"]["text"],
        "<script>alert('x')</script>"
    );
    assert_eq!(
        v["origin"],
        serde_json::json!({"type": "source", "name": "stripe", "key": "evt_<b>"})
    );
    assert_eq!(v["reason"], "permanent: <i>bad</i> signature");
    assert_eq!(v["received_at"], "2026-12-03T11:59:55Z");

    let s = c.sign_in().await;
    let (status, html) = c.page(&s, &format!("/dead-letters/{}", id(9))).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("&lt;script&gt;alert('x')&lt;/script&gt;"),
        "{html}"
    );
    assert!(!html.contains("<script>alert"), "the payload is escaped");
    assert!(!html.contains("<i>bad</i>"), "the reason is escaped");
    assert!(html.contains("&lt;i&gt;bad&lt;/i&gt;"));
    assert!(html.contains(&id(9)));
    // Attempts 1 and 2 have no stored error; the third is the one that killed it.
    assert!(html.contains("only the last attempt"), "{html}");

    let (status, v) = c.get_json("/api/v1/dead-letters/01KANOSUCHLETTER").await;
    assert_eq!((status, v["error"].as_str()), (404, Some("not_found")));
    let (status, _) = c.page(&s, "/dead-letters/01KANOSUCHLETTER").await;
    assert_eq!(status, 404);
    c.stop().await;
}
