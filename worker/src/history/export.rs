//! `history export`: stored updates to stdout, a page at a time, so memory stays flat whatever
//! the row count (docs/performance.md has the measurement).
//!
//! jsonl: one object per line, the payload as JSON. csv: RFC 4180 (a header line, CRLF line
//! ends, a field with a comma, quote, CR or LF in double quotes, quotes doubled), the payload as
//! its JSON text in one field. The payload is the stored `jsonb` as Postgres renders it: the
//! same JSON as received, not the same bytes (key order and spacing are Postgres's).

use anyhow::Context;
use chrono::{SecondsFormat, Utc};
use serde::Serialize;
use serde_json::value::RawValue;
use sluice_shared::{db, telemetry};
use tokio::io::{AsyncWriteExt, BufWriter};

use super::{
    args::{ExportArgs, ExportFormat},
    query::{Filter, Pages, StoredUpdate},
};

/// Rows read per query.
const PAGE: i64 = 1000;

const CSV_HEADER: &str = "bot,update_id,kind,chat_id,user_id,lane,received_at,payload\r\n";

#[derive(Serialize)]
struct Line<'a> {
    bot: &'a str,
    update_id: i64,
    kind: &'a str,
    chat_id: Option<i64>,
    user_id: Option<i64>,
    lane: &'a str,
    received_at: String,
    payload: &'a RawValue,
}

pub async fn run(args: ExportArgs) -> anyhow::Result<()> {
    let _telemetry = telemetry::init(&args.telemetry, "sluice-worker")?;
    let pool = db::connect(&args.db, "sluice-worker history").await?;
    let filter = Filter::of(&args.selection, Utc::now());
    let mut pages = Pages::new(pool, filter.clone(), PAGE);
    let mut out = BufWriter::new(tokio::io::stdout());
    let mut buf = Vec::with_capacity(64 * 1024);
    let mut rows = 0u64;
    if args.format == ExportFormat::Csv {
        buf.extend_from_slice(CSV_HEADER.as_bytes());
    }
    while let Some(page) = pages.next().await.context("reading stored updates")? {
        for row in &page {
            match args.format {
                ExportFormat::Jsonl => jsonl(&mut buf, &filter.bot, row)?,
                ExportFormat::Csv => csv(&mut buf, &filter.bot, row),
            }
        }
        rows += page.len() as u64;
        if !write(&mut out, &buf).await? {
            return Ok(());
        }
        buf.clear();
    }
    if write(&mut out, &buf).await? {
        out.flush().await.context("writing to stdout")?;
    }
    eprintln!("exported {rows} update(s)");
    Ok(())
}

/// Writes `bytes`; `false` when the reader went away (`| head`): not an error.
async fn write(out: &mut BufWriter<tokio::io::Stdout>, bytes: &[u8]) -> anyhow::Result<bool> {
    match out.write_all(bytes).await {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(e).context("writing to stdout"),
    }
}

fn received_at(row: &StoredUpdate) -> String {
    row.received_at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn jsonl(buf: &mut Vec<u8>, bot: &str, row: &StoredUpdate) -> anyhow::Result<()> {
    let payload: &RawValue =
        serde_json::from_str(&row.payload).context("a stored payload is not JSON")?;
    let line = Line {
        bot,
        update_id: row.update_id,
        kind: &row.kind,
        chat_id: row.chat_id,
        user_id: row.user_id,
        lane: &row.lane,
        received_at: received_at(row),
        payload,
    };
    serde_json::to_writer(&mut *buf, &line)?;
    buf.push(b'\n');
    Ok(())
}

fn csv(buf: &mut Vec<u8>, bot: &str, row: &StoredUpdate) {
    let opt = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
    let fields = [
        bot,
        &row.update_id.to_string(),
        &row.kind,
        &opt(row.chat_id),
        &opt(row.user_id),
        &row.lane,
        &received_at(row),
        &row.payload,
    ];
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        csv_field(buf, field);
    }
    buf.extend_from_slice(b"\r\n");
}

/// One RFC 4180 field: quoted when it holds a separator, a quote or a line break.
fn csv_field(buf: &mut Vec<u8>, field: &str) {
    if !field.contains([',', '"', '\r', '\n']) {
        buf.extend_from_slice(field.as_bytes());
        return;
    }
    buf.push(b'"');
    buf.extend_from_slice(field.replace('"', "\"\"").as_bytes());
    buf.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(s: &str) -> String {
        let mut buf = Vec::new();
        csv_field(&mut buf, s);
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn csv_fields_are_quoted_only_when_needed() {
        assert_eq!(field("message"), "message");
        assert_eq!(field(""), "");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field(r#"{"text":"hi"}"#), r#""{""text"":""hi""}""#);
        assert_eq!(field("two\nlines\r\n"), "\"two\nlines\r\n\"");
    }
}
