//! The gate's verdict at the top of the report. Its JSON is read without a fixed schema: the
//! known parts (`verdict`, `checks`) get a badge and a table, anything else is shown as it is, so
//! a gate that grows fields (delivery counts, ...) never breaks the report.

use std::fmt::Write as _;

use serde_json::Value;

use super::{escape, num};

/// Check fields shown first, in this order; any other fields follow.
const CHECK_COLUMNS: [&str; 4] = ["status", "metric", "threshold", "value"];

pub(super) fn section(page: &mut String, verdict: &Value) {
    page.push_str("<h2>Verdict</h2>\n");
    let Value::Object(fields) = verdict else {
        let _ = writeln!(page, "<pre>{}</pre>", escape(&pretty(verdict)));
        return;
    };
    if let Some(v) = fields.get("verdict") {
        let text = text(v);
        let class = match text.to_ascii_lowercase().as_str() {
            "pass" => "pass",
            "fail" => "fail",
            _ => "other",
        };
        let _ = writeln!(
            page,
            "<p><span class=\"badge {class}\">{}</span></p>",
            escape(&text)
        );
    }
    match fields.get("checks") {
        Some(Value::Array(checks)) => checks_table(page, checks),
        Some(other) => others_table(page, [("checks", other)]),
        None => {}
    }
    others_table(
        page,
        fields
            .iter()
            .filter(|(k, _)| *k != "verdict" && *k != "checks")
            .map(|(k, v)| (k.as_str(), v)),
    );
}

fn checks_table(page: &mut String, checks: &[Value]) {
    if checks.is_empty() {
        page.push_str("<p class=\"note\">The verdict lists no checks.</p>\n");
        return;
    }
    let mut columns: Vec<&str> = Vec::new();
    for key in checks
        .iter()
        .filter_map(Value::as_object)
        .flat_map(|o| o.keys())
    {
        if !columns.contains(&key.as_str()) {
            columns.push(key);
        }
    }
    columns.sort_by_key(|c| {
        CHECK_COLUMNS
            .iter()
            .position(|k| k == c)
            .unwrap_or(usize::MAX)
    });
    let width = columns.len().max(1);
    page.push_str("<table>\n<tr>");
    for c in &columns {
        let _ = write!(page, "<th>{}</th>", escape(c));
    }
    page.push_str("</tr>\n");
    for check in checks {
        let Value::Object(check) = check else {
            let _ = writeln!(
                page,
                "<tr><td colspan=\"{width}\">{}</td></tr>",
                escape(&text(check))
            );
            continue;
        };
        page.push_str("<tr>");
        for c in &columns {
            let cell = check.get(*c).map(text).unwrap_or_default();
            let class = match (*c, cell.to_ascii_lowercase().as_str()) {
                ("status", "pass") => " class=\"pass\"",
                ("status", "fail") => " class=\"fail\"",
                ("status", "skip") => " class=\"skip\"",
                _ => "",
            };
            let _ = write!(page, "<td{class}>{}</td>", escape(&cell));
        }
        page.push_str("</tr>\n");
    }
    page.push_str("</table>\n");
}

fn others_table<'a>(page: &mut String, fields: impl IntoIterator<Item = (&'a str, &'a Value)>) {
    let mut rows = fields.into_iter().peekable();
    if rows.peek().is_none() {
        return;
    }
    page.push_str("<table>\n");
    for (key, value) in rows {
        let cell = match value {
            Value::Object(_) | Value::Array(_) => format!("<pre>{}</pre>", escape(&pretty(value))),
            _ => escape(&text(value)),
        };
        let _ = writeln!(page, "<tr><th>{}</th><td>{cell}</td></tr>", escape(key));
    }
    page.push_str("</table>\n");
}

/// A JSON value as one line of text: strings unquoted, numbers formatted like the rest of the page.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => num(f),
            _ => n.to_string(),
        },
        Value::Null => "–".into(),
        other => other.to_string(),
    }
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}
