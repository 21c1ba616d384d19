//! The signature header parsers: pure and total — any bytes give a value or a reason, never a
//! panic (fuzzed below with proptest).

/// An HMAC-SHA256 value as it travels in a header (64 hex digits, either case).
pub use sluice_shared::mac::Mac;

/// Why a header could not be read; shown to the sender in the 401's `detail`.
pub type Malformed = &'static str;

/// A Stripe header carries one timestamp and one `v1` per active secret; more than this many is
/// not a rotation but an attempt to make us compare a lot.
pub const MAX_STRIPE_SIGNATURES: usize = 16;

/// `X-Hub-Signature-256: sha256=<hex>`.
pub fn parse_github(raw: &[u8]) -> Result<Mac, Malformed> {
    let hex = text(raw)?
        .strip_prefix("sha256=")
        .ok_or("expected sha256=<64 hex digits>")?;
    parse_mac(hex)
}

/// `X-Signature: <hex>`.
pub fn parse_plain(raw: &[u8]) -> Result<Mac, Malformed> {
    parse_mac(text(raw)?)
}

/// A parsed `Stripe-Signature` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripeHeader {
    /// The signing time in Unix seconds.
    pub t: i64,
    /// `t` exactly as sent: it is part of the signed payload `"<t>.<body>"`, so it must not be
    /// re-formatted (a leading zero would change the signature).
    pub t_text: String,
    /// Every well-formed `v1` value, in header order.
    pub v1: Vec<Mac>,
}

/// `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>...]`.
///
/// Like Stripe's own libraries, items of other schemes (`v0`, a future `v2`) and `v1` values
/// that are not 64 hex digits are skipped; a header without a timestamp or without any usable
/// `v1` is malformed.
pub fn parse_stripe(raw: &[u8]) -> Result<StripeHeader, Malformed> {
    let mut t = None;
    let mut v1 = Vec::new();
    for item in text(raw)?.split(',') {
        let Some((key, value)) = item.trim().split_once('=') else {
            continue;
        };
        match key {
            "t" if t.is_some() => return Err("more than one timestamp (t=)"),
            "t" => t = Some(parse_timestamp(value)?),
            "v1" => {
                if let Ok(mac) = parse_mac(value) {
                    if v1.len() == MAX_STRIPE_SIGNATURES {
                        return Err("too many v1 signatures");
                    }
                    v1.push(mac);
                }
            }
            _ => {}
        }
    }
    let (t, t_text) = t.ok_or("no timestamp (t=)")?;
    if v1.is_empty() {
        return Err("no v1 signature of 64 hex digits");
    }
    Ok(StripeHeader { t, t_text, v1 })
}

/// Header bytes as text, surrounding whitespace ignored.
fn text(raw: &[u8]) -> Result<&str, Malformed> {
    std::str::from_utf8(raw)
        .map(str::trim)
        .map_err(|_| "not ASCII text")
}

fn parse_mac(hex: &str) -> Result<Mac, Malformed> {
    let mut mac = [0u8; 32];
    hex::decode_to_slice(hex.trim(), &mut mac).map_err(|_| "expected 64 hex digits")?;
    Ok(mac)
}

/// Unix seconds as plain digits (no sign, no spaces inside), small enough for an `i64`.
fn parse_timestamp(value: &str) -> Result<(i64, String), Malformed> {
    let value = value.trim();
    if value.is_empty() || value.len() > 18 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err("the timestamp (t=) is not Unix seconds");
    }
    let t = value
        .parse::<i64>()
        .map_err(|_| "the timestamp (t=) is not Unix seconds")?;
    Ok((t, value.to_owned()))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn stripe_header(t: &str, macs: &[Mac]) -> String {
        let mut h = format!("t={t}");
        for m in macs {
            h.push_str(&format!(",v1={}", hex::encode(m)));
        }
        h
    }

    #[test]
    fn reads_the_documented_shapes() {
        let mac = [0xabu8; 32];
        let hex = hex::encode(mac);
        assert_eq!(parse_github(format!("sha256={hex}").as_bytes()), Ok(mac));
        assert_eq!(parse_plain(hex.to_uppercase().as_bytes()), Ok(mac));
        let h = format!("t=1492774577, v1={hex},v0=6ffbb59b,v1=nothex");
        let parsed = parse_stripe(h.as_bytes()).unwrap();
        assert_eq!(
            (parsed.t, parsed.t_text.as_str()),
            (1492774577, "1492774577")
        );
        assert_eq!(parsed.v1, vec![mac]);
    }

    #[test]
    fn refuses_what_is_not_a_signature() {
        let hex = hex::encode([1u8; 32]);
        assert!(parse_github(hex.as_bytes()).is_err(), "prefix required");
        assert!(parse_github(b"sha1=abc").is_err());
        assert!(parse_plain(&hex.as_bytes()[1..]).is_err(), "63 digits");
        assert!(parse_plain(b"\xff\xfe").is_err());
        assert!(
            parse_stripe(format!("v1={hex}").as_bytes()).is_err(),
            "no t"
        );
        assert!(parse_stripe(b"t=1").is_err(), "no v1");
        assert!(parse_stripe(format!("t=-1,v1={hex}").as_bytes()).is_err());
        assert!(parse_stripe(format!("t=1,t=2,v1={hex}").as_bytes()).is_err());
        let many = stripe_header("1", &[[7u8; 32]; MAX_STRIPE_SIGNATURES + 1]);
        assert!(parse_stripe(many.as_bytes()).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn no_input_makes_a_parser_panic(raw in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse_github(&raw);
            let _ = parse_plain(&raw);
            let _ = parse_stripe(&raw);
        }

        #[test]
        fn no_header_like_text_makes_a_parser_panic(
            raw in "[ tv01=,a-fA-F0-9sh\\-+]{0,200}",
        ) {
            let _ = parse_github(raw.as_bytes());
            let _ = parse_plain(raw.as_bytes());
            let _ = parse_stripe(raw.as_bytes());
        }

        #[test]
        fn github_and_plain_round_trip(mac in any::<[u8; 32]>(), upper in any::<bool>()) {
            let hex = if upper { hex::encode_upper(mac) } else { hex::encode(mac) };
            prop_assert_eq!(parse_github(format!("sha256={hex}").as_bytes()), Ok(mac));
            prop_assert_eq!(parse_plain(format!(" {hex} ").as_bytes()), Ok(mac));
        }

        #[test]
        fn stripe_round_trips(
            t in 0i64..=999_999_999_999_999_999,
            macs in proptest::collection::vec(any::<[u8; 32]>(), 1..=MAX_STRIPE_SIGNATURES),
        ) {
            let parsed = parse_stripe(stripe_header(&t.to_string(), &macs).as_bytes()).unwrap();
            prop_assert_eq!(parsed.t, t);
            prop_assert_eq!(parsed.t_text, t.to_string());
            prop_assert_eq!(parsed.v1, macs);
        }

        #[test]
        fn no_unicode_text_makes_a_parser_panic(raw in any::<String>()) {
            let _ = parse_github(raw.as_bytes());
            let _ = parse_plain(raw.as_bytes());
            let _ = parse_stripe(raw.as_bytes());
        }

        /// Items in any order, spaces around them, other schemes and broken `v1`s mixed in:
        /// the timestamp and exactly the well-formed `v1`s, in order, come out.
        #[test]
        fn stripe_round_trips_through_noise(
            t in 0i64..=999_999_999_999_999_999,
            macs in proptest::collection::vec(any::<[u8; 32]>(), 1..=MAX_STRIPE_SIGNATURES),
            noise in proptest::collection::vec(
                prop_oneof![
                    "v0=[0-9a-f]{0,64}",
                    "v1=[0-9a-f]{0,63}",
                    "v1=[g-z]{64}",
                    "[a-su-z][a-z0-9]{0,3}=[ -+\\--~]{0,20}",
                    "[ -+\\--<>-~]{0,10}",
                ],
                0..6,
            ),
            t_at in any::<prop::sample::Index>(),
            pad in proptest::collection::vec(" {0,2}", 32),
        ) {
            let mut items: Vec<String> = macs.iter().map(|m| format!("v1={}", hex::encode(m))).collect();
            for (i, n) in noise.iter().enumerate() {
                // Spread the noise between the signatures without reordering those.
                items.insert((i * 7) % (items.len() + 1), n.clone());
            }
            items.insert(t_at.index(items.len() + 1), format!("t={t}"));
            let header: Vec<String> = items
                .iter()
                .enumerate()
                .map(|(i, it)| format!("{}{it}{}", pad[i % 32], pad[(i + 1) % 32]))
                .collect();
            let parsed = parse_stripe(header.join(",").as_bytes()).unwrap();
            prop_assert_eq!(parsed.t, t);
            prop_assert_eq!(parsed.v1, macs);
        }

        #[test]
        fn stripe_keeps_the_timestamp_text_as_sent(zeros in 1usize..5, t in 0u32..) {
            let text = format!("{}{t}", "0".repeat(zeros));
            let parsed = parse_stripe(stripe_header(&text, &[[9u8; 32]]).as_bytes()).unwrap();
            prop_assert_eq!(parsed.t, i64::from(t));
            prop_assert_eq!(parsed.t_text, text);
        }
    }
}
