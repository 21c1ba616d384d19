//! Whether Postgres `jsonb` will store a body: its input rules, checked at ingress so that no
//! body is acknowledged that the worker could never insert.
//!
//! Postgres refuses some valid JSON: `\u0000` in any string, a `\u` escape that is half of a
//! UTF-16 surrogate pair, a number `numeric` cannot hold, and nesting deeper than its stack
//! allows. Two rules here are stricter than Postgres, on purpose:
//! - a key repeated in one object is refused (jsonb keeps the last silently, while a reader of
//!   the raw bytes, our classifier included, may take the first: the row would disagree with
//!   itself);
//! - nesting stops at [`MAX_DEPTH`], far inside what Postgres accepts with its smallest stack.
//!
//! `shared/tests/jsonb_matches_postgres.rs` feeds the same cases to a real `jsonb` cast.

use std::borrow::Cow;

/// The deepest nesting accepted, counting arrays and objects. It is the deepest serde_json
/// parses into a `Value` (its recursion limit is 128), and Postgres 15 accepts 623 nested
/// objects even with `max_stack_depth` at its minimum (100kB); no Telegram update nests past 10.
pub const MAX_DEPTH: usize = 127;

/// `numeric`'s storage limits: digits after the point (display scale, 14 bits), and the weight
/// of the leading base-10000 digit (an `int16`).
const MAX_DSCALE: i64 = 0x3FFF;
const MAX_WEIGHT: i64 = i16::MAX as i64;
/// Postgres 15 refuses `|exponent| >= INT_MAX / 2` outright (16 and later only `>`); the
/// stricter bound only matters for a zero such as `0e1073741823`.
const MAX_EXPONENT: i64 = (i32::MAX / 2) as i64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonbError {
    #[error("a string contains \\u0000, which jsonb cannot store")]
    NulCharacter,
    #[error("a \\u escape is half of a UTF-16 surrogate pair, which jsonb refuses")]
    LoneSurrogate,
    #[error("a number is too large or too precise for Postgres numeric")]
    NumberOutOfRange,
    #[error("nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
    #[error("an object repeats the key {0:?}")]
    DuplicateKey(String),
}

/// Checks a body that is already known to be valid JSON (the caller parsed it). For bytes that
/// are not JSON the answer means nothing, but it never panics. One pass, no recursion.
pub fn check(raw: &[u8]) -> Result<(), JsonbError> {
    let mut open: Vec<Frame> = Vec::new();
    // Keys of every open object, innermost last: an object's keys are pushed after its parent's
    // and dropped when it closes, before the parent can push more.
    let mut keys: Vec<Cow<'_, [u8]>> = Vec::new();
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        i += 1;
        match b {
            b'{' | b'[' => {
                open.push(match b {
                    b'{' => Frame::Object {
                        keys_from: keys.len(),
                        want_key: true,
                    },
                    _ => Frame::Array,
                });
                if open.len() > MAX_DEPTH {
                    return Err(JsonbError::TooDeep);
                }
            }
            b'}' | b']' => {
                if let Some(Frame::Object { keys_from, .. }) = open.pop() {
                    if let Some(own) = keys.get_mut(keys_from..) {
                        distinct(own)?;
                    }
                    keys.truncate(keys_from);
                }
            }
            b',' | b':' => {
                if let Some(Frame::Object { want_key, .. }) = open.last_mut() {
                    *want_key = b == b',';
                }
            }
            b'"' => {
                let start = i;
                let (end, escaped) = string(raw, start)?;
                i = end + 1;
                if let Some(Frame::Object { want_key, .. }) = open.last_mut()
                    && *want_key
                {
                    *want_key = false;
                    keys.push(key(raw, start, end, escaped));
                }
            }
            b'-' | b'0'..=b'9' => {
                let start = i - 1;
                while raw
                    .get(i)
                    .is_some_and(|c| matches!(c, b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-'))
                {
                    i += 1;
                }
                if !numeric_fits(&raw[start..i]) {
                    return Err(JsonbError::NumberOutOfRange);
                }
            }
            // Whitespace and the letters of true, false, null.
            _ => {}
        }
    }
    Ok(())
}

enum Frame {
    Array,
    Object { keys_from: usize, want_key: bool },
}

/// Scans a string whose contents start at `from`; returns the index of its closing quote and
/// whether it holds escapes. Surrogates follow Postgres's JSON lexer: a high one must be followed
/// at once by a `\u` low one, and a low one must follow a high one.
fn string(raw: &[u8], from: usize) -> Result<(usize, bool), JsonbError> {
    let (mut i, mut escaped, mut high_pending) = (from, false, false);
    while let Some(&b) = raw.get(i) {
        let unit = match (b, raw.get(i + 1)) {
            (b'\\', Some(b'u')) => hex4(raw.get(i + 2..i + 6)),
            _ => None,
        };
        match (b, unit) {
            (b'\\', Some(unit)) => {
                i += 6;
                escaped = true;
                let low = (0xDC00..=0xDFFF).contains(&unit);
                if high_pending != low {
                    return Err(JsonbError::LoneSurrogate);
                }
                high_pending = (0xD800..=0xDBFF).contains(&unit);
                if unit == 0 {
                    return Err(JsonbError::NulCharacter);
                }
                continue;
            }
            _ if high_pending => return Err(JsonbError::LoneSurrogate),
            (b'\\', _) => {
                i += 2;
                escaped = true;
                continue;
            }
            (b'"', _) => return Ok((i, escaped)),
            _ => i += 1,
        }
    }
    Ok((raw.len(), escaped))
}

fn hex4(digits: Option<&[u8]>) -> Option<u32> {
    let text = std::str::from_utf8(digits?).ok()?;
    u32::from_str_radix(text, 16).ok()
}

/// A key as jsonb compares it: its bytes once escapes are decoded.
fn key(raw: &[u8], start: usize, end: usize, escaped: bool) -> Cow<'_, [u8]> {
    let text = &raw[start..end.min(raw.len())];
    if !escaped {
        return Cow::Borrowed(text);
    }
    // Lone surrogates were refused above, so the decode fails only for bytes that are no JSON.
    let quoted = &raw[start - 1..(end + 1).min(raw.len())];
    match serde_json::from_slice::<String>(quoted) {
        Ok(s) => Cow::Owned(s.into_bytes()),
        Err(_) => Cow::Borrowed(text),
    }
}

/// Sorting is O(n log n) in the keys of one object: a pairwise scan would let a 1 MiB object of
/// short keys cost seconds.
fn distinct(keys: &mut [Cow<'_, [u8]>]) -> Result<(), JsonbError> {
    if keys.len() < 2 {
        return Ok(());
    }
    keys.sort_unstable();
    match keys.windows(2).find(|w| w[0] == w[1]) {
        Some(w) => {
            let mut name = String::from_utf8_lossy(&w[0]).into_owned();
            if name.len() > 64 {
                let cut = (0..=64).rev().find(|&n| name.is_char_boundary(n));
                name.truncate(cut.unwrap_or(0));
            }
            Err(JsonbError::DuplicateKey(name))
        }
        None => Ok(()),
    }
}

/// What `numeric_in` accepts: the exponent within bounds, at most [`MAX_DSCALE`] digits after
/// the point once the exponent is applied, and the leading base-10000 digit's weight within
/// an `int16` (about 131 072 decimal digits before the point).
fn numeric_fits(number: &[u8]) -> bool {
    let number = number.strip_prefix(b"-").unwrap_or(number);
    let (mantissa, exponent) = match number.iter().position(|c| matches!(c, b'e' | b'E')) {
        Some(e) => (&number[..e], exponent(&number[e + 1..])),
        None => (number, 0),
    };
    if exponent.abs() >= MAX_EXPONENT {
        return false;
    }
    let (int, frac) = match mantissa.iter().position(|&c| c == b'.') {
        Some(p) => (&mantissa[..p], &mantissa[p + 1..]),
        None => (mantissa, &[][..]),
    };
    if (frac.len() as i64 - exponent).max(0) > MAX_DSCALE {
        return false;
    }
    let digits = int.iter().chain(frac);
    let Some(first) = digits.clone().position(|&c| c != b'0') else {
        return true; // zero
    };
    // The decimal power of the leading non-zero digit.
    let power = int.len() as i64 - 1 - first as i64 + exponent;
    power.div_euclid(4) <= MAX_WEIGHT
}

/// The exponent's value, saturated well past [`MAX_EXPONENT`] so that it cannot overflow.
fn exponent(text: &[u8]) -> i64 {
    let (negative, digits) = match text.first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let value = digits.iter().fold(0i64, |n, d| {
        (n * 10 + i64::from(d.wrapping_sub(b'0') % 10)).min(MAX_EXPONENT * 4)
    });
    if negative { -value } else { value }
}

#[cfg(test)]
mod tests;
