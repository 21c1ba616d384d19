//! `jsonb::check` agrees with a real Postgres `jsonb` cast on every case below: what one
//! accepts the other accepts, and each refusal is for the same reason. The only disagreements are
//! the two deliberate ones (repeated keys, depth past `MAX_DEPTH`), where check refuses what
//! Postgres would store, never the other way round.
//!
//! Needs a Postgres superuser (to lower `max_stack_depth`): `TEST_DATABASE_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`.

use serde::de::IgnoredAny;
use sluice_shared::jsonb::{JsonbError, MAX_DEPTH, check};
use sqlx::{Connection, PgConnection};

/// Accepted by Postgres and by check.
const STORABLE: &[&str] = &[
    r#"{"update_id":1,"message":{"chat":{"id":-5},"text":"hi \u00e9 \/"}}"#,
    r#"["\\u0000"]"#,
    r#"{"\\u0000":"\\ud800"}"#,
    r#"["\ud83d\ude00","\uD800\uDC00","\uDBFF\uDFFF","x\ud83d\ude00y"]"#,
    r#"{"\ud83d\ude00":1}"#,
    r#"["\u00e9","\uFFFF","\uFFFE","\u0001","\u001f"]"#,
    r#"{"a":{"a":{"a":1}},"b":[{"a":1},{"a":2}],"c":"a"}"#,
    r#"{"":1," ":2,"A":3,"a":4}"#,
    "[1e1000,1e1001,1E+2,1e-1000,1e-1001,1.5e-1000,-0,-0.0,0.00000e5,1e+0000001000]",
    "[1e131071,9.9e131071,-9.9e131071,1e-16383,0e-16383,0e99999999,0e1073741822]",
    "[123456789012345678901234567890.12345678901234567890]",
];

/// Refused by Postgres and by check.
const UNSTORABLE: &[&str] = &[
    r#"["\u0000"]"#,
    r#"["a\u0000"]"#,
    r#"{"\u0000":1}"#,
    r#"{"k\u0000y":1}"#,
    r#"{"update_id":1,"message":{"text":"x\u0000","chat":{"id":1}}}"#,
    r#"["\u0000\ud800"]"#,
    r#"["\ud800"]"#,
    r#"["\udc00"]"#,
    r#"["\ud83d"]"#,
    r#"["\ud83dx"]"#,
    r#"["\ud83d\u0041"]"#,
    r#"["\ud83d\ud83d"]"#,
    r#"["\ude00\ud83d"]"#,
    r#"["\ud83d\\ude00"]"#,
    r#"["\ud800\n"]"#,
    r#"["\ud800\u0000"]"#,
    r#"{"\ud800":1}"#,
    r#"{"update_id":1,"message":{"text":"\udfff"}}"#,
    "[1e1000000]",
    "[1e-1000000]",
    "[1e131072]",
    "[-1e131072]",
    "[1e-16384]",
    "[0e-16384]",
    "[123e-16385]",
    "[0e1073741823]",
    "[0e-1073741822]",
    "[1e99999999999999999999]",
];

/// Refused by check, stored by Postgres: the deliberate differences.
const STRICTER: &[&str] = &[
    r#"{"update_id":204,"message":{"text":"a"},"update_id":205}"#,
    r#"{"a":1,"\u0061":2}"#,
    r#"{"update_id":1,"message":{"chat":{"id":1},"chat":{"id":2}}}"#,
];

fn nested(depth: usize, array: bool) -> String {
    if array {
        format!("{}0{}", "[".repeat(depth), "]".repeat(depth))
    } else {
        format!("{}0{}", r#"{"a":"#.repeat(depth), "}".repeat(depth))
    }
}

/// The cases too long to write out: the numeric and nesting limits right at their edges.
fn generated() -> (Vec<String>, Vec<String>, Vec<String>) {
    let storable = vec![
        format!("[{}]", "1".repeat(131_072)),
        format!("[0.{}]", "0".repeat(16_383)),
        format!("[1{}e-16383]", "0".repeat(16_383)),
        nested(MAX_DEPTH, true),
        nested(MAX_DEPTH, false),
    ];
    let unstorable = vec![
        format!("[{}]", "1".repeat(131_073)),
        format!("[0.{}]", "0".repeat(16_384)),
        format!("[1{}e-16384]", "0".repeat(16_384)),
        nested(20_000, true),
        nested(20_000, false),
    ];
    let stricter = vec![nested(MAX_DEPTH + 1, true), nested(MAX_DEPTH + 1, false)];
    (storable, unstorable, stricter)
}

/// What Postgres says for the reason check gives.
fn postgres_message(e: &JsonbError) -> &'static str {
    match e {
        JsonbError::NulCharacter => "unsupported Unicode escape sequence",
        JsonbError::LoneSurrogate => "invalid input syntax for type json",
        JsonbError::NumberOutOfRange => "value overflows numeric format",
        JsonbError::TooDeep => "stack depth limit exceeded",
        JsonbError::DuplicateKey(_) => "(Postgres keeps the last)",
    }
}

async fn postgres(conn: &mut PgConnection, body: &str) -> Result<(), String> {
    let stored: Result<String, _> = sqlx::query_scalar("SELECT ($1::text::jsonb)::text")
        .bind(body)
        .fetch_one(&mut *conn)
        .await;
    stored.map(drop).map_err(|e| match e {
        sqlx::Error::Database(db) => db.message().to_owned(),
        other => panic!("Postgres did not answer: {other}"),
    })
}

#[tokio::test]
async fn check_agrees_with_postgres_jsonb() {
    let url = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut conn = PgConnection::connect(&url).await.expect("Postgres");
    let encoding: String = sqlx::query_scalar("SHOW server_encoding")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        encoding, "UTF8",
        "escapes of non-ASCII need a UTF8 database"
    );
    // The smallest stack Postgres allows: MAX_DEPTH must fit even there.
    sqlx::query("SET max_stack_depth = '100kB'")
        .execute(&mut conn)
        .await
        .expect("a superuser connection");

    let (storable, unstorable, stricter) = generated();
    let all =
        |fixed: &'static [&str], made: Vec<String>| fixed.iter().map(|s| s.to_string()).chain(made);
    let mut seen = 0;
    for body in all(STORABLE, storable) {
        assert_json(&body);
        let short = &body[..body.len().min(80)];
        assert_eq!(postgres(&mut conn, &body).await, Ok(()), "{short}");
        assert_eq!(check(body.as_bytes()), Ok(()), "{short}");
        seen += 1;
    }
    for body in all(UNSTORABLE, unstorable) {
        assert_json(&body);
        let short = &body[..body.len().min(80)];
        let pg = postgres(&mut conn, &body).await.expect_err(short);
        let ours = check(body.as_bytes()).expect_err(short);
        assert!(
            pg.contains(postgres_message(&ours)),
            "{short}: Postgres said {pg:?}, check {ours:?}"
        );
        seen += 1;
    }
    for body in all(STRICTER, stricter) {
        assert_json(&body);
        let short = &body[..body.len().min(80)];
        assert_eq!(postgres(&mut conn, &body).await, Ok(()), "{short}");
        assert!(
            matches!(
                check(body.as_bytes()),
                Err(JsonbError::DuplicateKey(_) | JsonbError::TooDeep)
            ),
            "{short}"
        );
        seen += 1;
    }
    assert!(seen > 50, "{seen} cases");
}

/// check's precondition: every case is valid JSON (RFC 8259 lets an escape name any code unit).
fn assert_json(body: &str) {
    // IgnoredAny has no recursion limit and lets any escape through: a syntax check only.
    let parsed = serde_json::from_str::<IgnoredAny>(body);
    assert!(parsed.is_ok(), "not JSON: {}", &body[..body.len().min(80)]);
}
