//! The one parser of duration settings: humantime values ("250ms", "30s", "1h 30m", "14d"),
//! with each setting's bounds given where the setting is declared.
//!
//! A bare number is refused, except `0`: "30" meant seconds or milliseconds depending on the
//! setting's name, and a value read in the wrong unit runs silently a thousand times off. The
//! environment variables that took a bare number before are still read for one release
//! ([`super::renamed`]).

use std::{fmt::Display, time::Duration};

use humantime::DurationError;

/// Parses a duration with its unit: `ns`, `us`, `ms`, `s`, `m`, `h`, `d`, `w` (and their long
/// forms), several parts added up ("1h 30m"), decimals ("1.5s"); or `0`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if !s.is_empty() && s != "0" && s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("a duration needs a unit, e.g. {s}s or {s}ms"));
    }
    humantime::parse_duration(s).map_err(|e| match e {
        DurationError::NumberOverflow => "too long (or finer than a nanosecond)".to_owned(),
        DurationError::UnknownUnit { unit, value, .. } if unit.is_empty() => {
            format!("{value} needs a unit, e.g. {value}s or {value}ms")
        }
        DurationError::UnknownUnit { unit, .. } => {
            format!("unknown unit '{unit}' (use ms, s, m, h or d, e.g. 500ms, 30s, 5m, 14d)")
        }
        DurationError::Empty => "empty: write a duration like 30s".to_owned(),
        _ => "not a duration like 500ms, 30s, 5m or 14d".to_owned(),
    })
}

/// The value parser of a duration setting that must be at least `min` (`Duration::ZERO` where
/// zero makes sense). clap names the setting in the error: "invalid value '0s' for
/// '--enqueue-timeout <SLUICE_ENQUEUE_TIMEOUT>': must be at least 1ms".
pub fn duration_at_least(min: Duration) -> impl DurationParser {
    duration_between(min, Duration::MAX)
}

/// [`duration_at_least`] with a maximum too.
pub fn duration_between(min: Duration, max: Duration) -> impl DurationParser {
    move |s: &str| {
        let d = parse_duration(s)?;
        if d < min {
            return Err(format!("must be at least {}", show(min)));
        }
        if d > max {
            return Err(format!("must be at most {}", show(max)));
        }
        Ok(d)
    }
}

/// What clap needs of a value parser.
pub trait DurationParser:
    Fn(&str) -> Result<Duration, String> + Clone + Send + Sync + 'static
{
}
impl<F: Fn(&str) -> Result<Duration, String> + Clone + Send + Sync + 'static> DurationParser for F {}

/// A duration as settings are written ("250ms", "1m 30s"), for messages and logs.
pub fn show(d: Duration) -> impl Display {
    humantime::format_duration(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn units() {
        let ok = |s: &str| parse_duration(s).unwrap();
        assert_eq!(ok("250ms"), Duration::from_millis(250));
        assert_eq!(ok("30s"), Duration::from_secs(30));
        assert_eq!(ok("5m"), Duration::from_secs(300));
        assert_eq!(ok("25h"), Duration::from_secs(90_000));
        assert_eq!(ok("14d"), Duration::from_secs(14 * 86_400));
        assert_eq!(ok("1w"), Duration::from_secs(7 * 86_400));
        assert_eq!(ok("1h 30m"), Duration::from_secs(5400));
        assert_eq!(ok("1.5s"), Duration::from_millis(1500));
        assert_eq!(ok(" 2s "), Duration::from_secs(2));
        assert_eq!(ok("0"), Duration::ZERO);
        assert_eq!(ok("0s"), Duration::ZERO);
    }

    #[test]
    fn a_bare_number_is_refused_with_the_fix() {
        assert_eq!(
            parse_duration("30").unwrap_err(),
            "a duration needs a unit, e.g. 30s or 30ms"
        );
        // A trailing number without a unit too.
        assert!(parse_duration("1h 30").unwrap_err().contains("30s or 30ms"));
    }

    #[test]
    fn malformed_values_are_refused_in_words() {
        assert!(parse_duration("7y2").is_err());
        assert!(
            parse_duration("5 parsecs")
                .unwrap_err()
                .contains("unknown unit 'parsecs'")
        );
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("").unwrap_err().contains("empty"));
    }

    #[test]
    fn overflow_is_an_error_not_a_panic() {
        assert!(
            parse_duration("18446744073709551615d")
                .unwrap_err()
                .contains("too long")
        );
        assert!(parse_duration("99999999999999999999999s").is_err());
        assert!(parse_duration("18446744073709551615s 1s").is_err());
    }

    #[test]
    fn minimums_and_maximums() {
        let p = duration_at_least(MS);
        assert_eq!(p("0").unwrap_err(), "must be at least 1ms");
        assert_eq!(p("0s").unwrap_err(), "must be at least 1ms");
        assert_eq!(p("500us").unwrap_err(), "must be at least 1ms");
        assert_eq!(p("1ms").unwrap(), MS);
        assert_eq!(
            duration_at_least(Duration::ZERO)("0").unwrap(),
            Duration::ZERO
        );
        let p = duration_between(MS, Duration::from_secs(60));
        assert_eq!(p("1m").unwrap(), Duration::from_secs(60));
        assert_eq!(p("61s").unwrap_err(), "must be at most 1m");
        assert_eq!(
            p("60"),
            Err("a duration needs a unit, e.g. 60s or 60ms".into())
        );
    }

    #[test]
    fn clap_names_the_setting_and_the_bound() {
        use clap::Parser;
        #[derive(Parser, Debug)]
        struct T {
            #[arg(long = "enqueue-timeout", value_name = "SLUICE_ENQUEUE_TIMEOUT",
                  default_value = "250ms", value_parser = duration_between(MS, Duration::from_secs(60)))]
            timeout: Duration,
        }
        assert_eq!(
            T::try_parse_from(["t"]).unwrap().timeout,
            Duration::from_millis(250)
        );
        let e = T::try_parse_from(["t", "--enqueue-timeout=0s"]).unwrap_err();
        assert_eq!(
            super::super::one_line(&e),
            "error: invalid value '0s' for '--enqueue-timeout <SLUICE_ENQUEUE_TIMEOUT>': \
             must be at least 1ms"
        );
    }

    #[test]
    fn show_writes_what_the_parser_reads() {
        for d in [MS, Duration::from_secs(30), Duration::from_secs(90_000)] {
            assert_eq!(parse_duration(&show(d).to_string()).unwrap(), d);
        }
        assert_eq!(show(Duration::from_millis(250)).to_string(), "250ms");
    }
}
