//! `history export` as JSON lines and CSV.

use chrono::Duration as Ago;
use sluice_testkit::TestDb;

use super::{Row, history_ok, insert};

/// A row whose kind holds every character CSV must quote, and whose text has commas, quotes
/// and an (escaped) line break.
fn awkward<'a>() -> Row<'a> {
    Row {
        kind: "odd,\"kind\"\nsecond line",
        chat: None,
        payload: r#"{"update_id":3,"odd":{"text":"a, \"quoted\"\nword"}}"#.into(),
        ..Row::message("ex", 3, 0, 77, Ago::minutes(30))
    }
}

async fn rows(db: &TestDb) {
    insert(
        &db.pool,
        &[
            Row::message("ex", 1, -100, 7, Ago::minutes(50)),
            Row::message("ex", 2, -200, 8, Ago::minutes(40)),
            awkward(),
            Row::message("ex", 4, -100, 7, Ago::hours(5)),
            Row::message("other", 5, -100, 7, Ago::minutes(20)),
        ],
    )
    .await;
}

#[tokio::test]
async fn jsonl_has_one_object_per_row_and_filters_by_chat_and_time() {
    let db = TestDb::fresh().await.unwrap();
    rows(&db).await;
    let out = history_ok(&db.url, &["export", "--bot", "ex", "--since", "1h"], &[]).await;
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ids: Vec<i64> = lines
        .iter()
        .map(|l| l["update_id"].as_i64().unwrap())
        .collect();
    assert_eq!(
        ids,
        [1, 2, 3],
        "the hour's rows of the bot, in update_id order"
    );
    assert_eq!(lines[0]["bot"], "ex");
    assert_eq!(lines[0]["chat_id"], -100);
    assert_eq!(lines[0]["user_id"], 7);
    assert_eq!(lines[0]["kind"], "message");
    assert_eq!(lines[0]["payload"]["message"]["text"], "hello 1");
    assert_eq!(lines[2]["chat_id"], serde_json::Value::Null);
    assert_eq!(lines[2]["payload"]["odd"]["text"], "a, \"quoted\"\nword");
    let at: chrono::DateTime<chrono::Utc> =
        lines[0]["received_at"].as_str().unwrap().parse().unwrap();
    let stored: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("SELECT received_at FROM updates WHERE update_id = 1")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(at, stored);

    let chat = ["export", "--bot", "ex", "--since", "6h", "--chat", "-100"];
    let out = history_ok(&db.url, &chat, &[]).await;
    let ids: Vec<i64> = out
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["update_id"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert_eq!(ids, [1, 4], "chat -100 over six hours; not the other bot's");
    let until = ["export", "--bot", "ex", "--since", "6h", "--until", "45m"];
    let out = history_ok(&db.url, &until, &[]).await;
    assert_eq!(
        out.lines().count(),
        2,
        "received before 45 minutes ago: 1 and 4\n{out}"
    );
    db.drop_db().await;
}

#[tokio::test]
async fn csv_quotes_commas_quotes_and_line_breaks() {
    let db = TestDb::fresh().await.unwrap();
    rows(&db).await;
    let args = ["export", "--bot", "ex", "--since", "1h", "--format", "csv"];
    let out = history_ok(&db.url, &args, &[]).await;
    assert!(out.contains("\"odd,\"\"kind\"\"\nsecond line\""), "{out}");
    let records = parse_csv(&out);
    assert_eq!(
        records[0],
        [
            "bot",
            "update_id",
            "kind",
            "chat_id",
            "user_id",
            "lane",
            "received_at",
            "payload"
        ]
    );
    assert_eq!(records.len(), 4, "{records:?}");
    let odd = &records[3];
    assert_eq!(
        odd[..6],
        ["ex", "3", "odd,\"kind\"\nsecond line", "", "77", "normal"]
    );
    let payload: serde_json::Value = serde_json::from_str(&odd[7]).unwrap();
    assert_eq!(payload["odd"]["text"], "a, \"quoted\"\nword");
    let first: serde_json::Value = serde_json::from_str(&records[1][7]).unwrap();
    assert_eq!(first["message"]["chat"]["id"], -100);
    db.drop_db().await;
}

/// An RFC 4180 reader (records end with CRLF; quoted fields may hold anything).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let (mut records, mut record, mut field) = (Vec::new(), Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') if chars.peek() == Some(&'\n') => {
                chars.next();
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(field.is_empty() && record.is_empty(), "unterminated record");
    records
}
