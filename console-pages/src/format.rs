//! Counts, ages, rates and timestamps as an operator reads them, always the same way.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// `1234567` → `1,234,567`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The two largest units of a duration: `45s`, `4m 12s`, `2h 05m`, `3d 04h`.
pub fn age(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {:02}s", s / 60, s % 60),
        3600..86_400 => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {:02}h", s / 86_400, s % 86_400 / 3600),
    }
}

/// How long before `now` an instant was; a future instant (clock skew) reads `0s`.
pub fn ago(now: DateTime<Utc>, then: DateTime<Utc>) -> String {
    age((now - then).to_std().unwrap_or_default())
}

/// Per-second rates: `0`, `0.25/s`, `12.5/s`, `1,250/s`. Not finite or negative reads `–`.
pub fn rate(per_sec: f64) -> String {
    if !per_sec.is_finite() || per_sec < 0.0 {
        return "–".to_owned();
    }
    if per_sec == 0.0 {
        "0/s".to_owned()
    } else if per_sec < 10.0 {
        format!("{per_sec:.2}/s")
    } else if per_sec < 1000.0 {
        format!("{per_sec:.1}/s")
    } else {
        format!("{}/s", count(per_sec.round() as u64))
    }
}

/// A chart axis value, short: `0`, `2.5`, `40`, `1,000`, `20k`, `3M`.
pub fn axis(v: f64) -> String {
    match v {
        v if v >= 1e6 => format!("{}M", v / 1e6),
        v if v >= 1e4 => format!("{}k", v / 1e3),
        v if v >= 10.0 || v.fract() == 0.0 => count(v.round() as u64),
        v => format!("{v:.1}"),
    }
}

/// `2026-12-03 13:05:12 UTC`.
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// At most `max` characters of `text`, with `…` when cut (on a character boundary).
pub fn truncate(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(max) {
        None => text.into(),
        Some((at, _)) => format!("{}…", &text[..at]).into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_group_thousands() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1_234_567), "1,234,567");
    }

    #[test]
    fn ages_show_two_units() {
        assert_eq!(age(Duration::from_secs(45)), "45s");
        assert_eq!(age(Duration::from_secs(252)), "4m 12s");
        assert_eq!(age(Duration::from_secs(7500)), "2h 05m");
        assert_eq!(
            age(Duration::from_secs(3 * 86_400 + 4 * 3600 + 7)),
            "3d 04h"
        );
    }

    #[test]
    fn rates_are_bounded_and_readable() {
        assert_eq!(rate(0.0), "0/s");
        assert_eq!(rate(0.25), "0.25/s");
        assert_eq!(rate(12.54), "12.5/s");
        assert_eq!(rate(1250.4), "1,250/s");
        assert_eq!(rate(f64::NAN), "–");
        assert_eq!(rate(-1.0), "–");
    }

    #[test]
    fn axis_labels_are_short() {
        assert_eq!(axis(0.0), "0");
        assert_eq!(axis(2.5), "2.5");
        assert_eq!(axis(200.0), "200");
        assert_eq!(axis(5000.0), "5,000");
        assert_eq!(axis(20_000.0), "20k");
        assert_eq!(axis(2_000_000.0), "2M");
    }

    #[test]
    fn truncation_respects_characters() {
        assert_eq!(truncate("héllo", 10), "héllo");
        assert_eq!(truncate("héllo", 2), "hé…");
    }
}
