//! What the fuzz test sends: Telegram-like updates with random extra fields, unicode, escapes,
//! numbers and nesting; signed deliveries with right and wrong signatures; and plain garbage
//! (bytes, methods, paths, headers, content types).

use proptest::{collection::vec, prelude::*, sample::select};
use reqwest::{
    Method,
    header::{HeaderName, HeaderValue},
};

use super::json::{update, value};

pub const BOT: &str = "fuzz_bot";
pub const SECRET: &str = "fuzz-secret_1";
pub const SOURCE: &str = "gh";
pub const SOURCE_SECRET: &str = "gh-fuzz-secret";

/// One request, as a client sends it.
#[derive(Debug, Clone)]
pub struct Req {
    pub method: Method,
    pub path: String,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Vec<u8>,
}

/// Bytes a header value may hold (visible ASCII, tab, obs-text).
fn header_value() -> impl Strategy<Value = HeaderValue> {
    vec(prop_oneof![0x20u8..0x7f, Just(b'\t'), 0x80u8..=0xff], 0..80)
        .prop_map(|b| HeaderValue::from_bytes(&b).expect("valid header bytes"))
}

fn header_name() -> impl Strategy<Value = HeaderName> {
    prop_oneof![
        select(vec![
            "content-type",
            "content-length",
            "x-telegram-bot-api-secret-token",
            "x-hub-signature-256",
            "x-signature",
            "stripe-signature",
            "x-github-event",
            "transfer-encoding",
            "expect",
            "accept",
        ])
        .prop_map(HeaderName::from_static),
        "[a-z0-9-]{1,30}".prop_map(|n| HeaderName::from_bytes(n.as_bytes()).unwrap()),
    ]
}

fn headers() -> impl Strategy<Value = Vec<(HeaderName, HeaderValue)>> {
    vec((header_name(), header_value()), 0..6)
}

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        4 => select(vec![
            Method::POST, Method::GET, Method::PUT, Method::DELETE, Method::HEAD,
            Method::OPTIONS, Method::PATCH, Method::TRACE,
        ]),
        1 => "[A-Za-z0-9!#$%&'*+.^_|~-]{1,40}".prop_map(|m| Method::from_bytes(m.as_bytes()).unwrap()),
    ]
}

/// A path: the real routes with odd names, percent-escapes and extra segments, or anything.
fn path() -> impl Strategy<Value = String> {
    let segment = "([A-Za-z0-9._~!$&'()*+,;=:@-]|%[0-9A-Fa-f]{2}){0,40}";
    prop_oneof![
        (select(vec!["telegram", "hooks"]), segment).prop_map(|(r, s)| format!("/webhook/{r}/{s}")),
        Just(format!("/webhook/telegram/{BOT}/extra")),
        vec(segment, 0..5).prop_map(|s| format!("/{}", s.join("/"))),
    ]
}

fn garbage() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        vec(any::<u8>(), 0..600),
        value().prop_map(|j| j.text().into_bytes()),
    ]
}

fn json_header(ct: bool) -> Vec<(HeaderName, HeaderValue)> {
    if ct {
        vec![(
            HeaderName::from_static("content-type"),
            HeaderValue::from_static("application/json"),
        )]
    } else {
        Vec::new()
    }
}

/// Telegram deliveries: mostly authentic (the right secret, a generated update), sometimes with
/// the wrong secret, extra random headers or a garbage body.
fn telegram() -> impl Strategy<Value = Req> {
    let body = prop_oneof![8 => update().prop_map(|j| j.text().into_bytes()), 1 => garbage()];
    let secret = prop_oneof![
        8 => Just(Some(HeaderValue::from_static(SECRET))),
        1 => Just(None),
        1 => header_value().prop_map(Some),
    ];
    (
        body,
        secret,
        any::<bool>(),
        prop_oneof![4 => Just(Vec::new()), 1 => headers()],
    )
        .prop_map(|(body, secret, ct, extra)| {
            let mut headers = json_header(ct);
            if let Some(s) = secret {
                headers.push((
                    HeaderName::from_static("x-telegram-bot-api-secret-token"),
                    s,
                ));
            }
            headers.extend(extra);
            Req {
                method: Method::POST,
                path: format!("/webhook/telegram/{BOT}"),
                headers,
                body,
            }
        })
}

/// Signed deliveries to the GitHub-scheme source: a right signature over the exact bytes, or a
/// random or malformed header.
fn signed() -> impl Strategy<Value = Req> {
    let body = prop_oneof![4 => value().prop_map(|j| j.text().into_bytes()), 1 => garbage()];
    let how = prop_oneof![
        6 => Just(None),
        1 => header_value().prop_map(Some),
        1 => "sha256=[0-9a-fA-F]{0,70}".prop_map(|s| Some(HeaderValue::from_str(&s).unwrap())),
    ];
    (body, how, any::<bool>()).prop_map(|(body, how, ct)| {
        let sig = how.unwrap_or_else(|| {
            let mac = sluice_testkit::openssl_hmac(SOURCE_SECRET, &body);
            HeaderValue::from_str(&format!("sha256={mac}")).unwrap()
        });
        let mut headers = json_header(ct);
        headers.push((HeaderName::from_static("x-hub-signature-256"), sig));
        Req {
            method: Method::POST,
            path: format!("/webhook/hooks/{SOURCE}"),
            headers,
            body,
        }
    })
}

/// Anything at all.
fn wild() -> impl Strategy<Value = Req> {
    (method(), path(), headers(), garbage()).prop_map(|(method, path, headers, body)| Req {
        method,
        path,
        headers,
        body,
    })
}

pub fn request() -> impl Strategy<Value = Req> {
    prop_oneof![6 => telegram(), 2 => signed(), 2 => wild()]
}
