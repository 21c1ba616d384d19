//! What the fuzz test sends: Telegram-like updates with random extra fields, unicode, escapes,
//! numbers and nesting; signed deliveries with right and wrong signatures; and plain garbage
//! (bytes, methods, paths, headers, content types).

use axum::http::{HeaderName, HeaderValue, Method};
use proptest::{collection::vec, prelude::*, sample::select};

pub const BOT: &str = "fuzz_bot";
pub const SECRET: &str = "fuzz-secret_1";
pub const SOURCE: &str = "gh";
pub const SOURCE_SECRET: &str = "gh-fuzz-secret";

/// One request, as the router receives it.
#[derive(Debug, Clone)]
pub struct Req {
    pub method: Method,
    pub path: String,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Vec<u8>,
}

/// A JSON value written as text by hand, so that it can hold what serde_json would never write:
/// lone surrogates, `\u0000`, duplicate keys, numbers of any spelling, deep nesting.
#[derive(Debug, Clone)]
pub enum J {
    Raw(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

impl J {
    pub fn write(&self, out: &mut String) {
        match self {
            J::Raw(s) => out.push_str(s),
            J::Arr(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write(out);
                }
                out.push(']');
            }
            J::Obj(fields) => {
                out.push('{');
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(k);
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
        }
    }

    pub fn text(&self) -> String {
        let mut s = String::new();
        self.write(&mut s);
        s
    }
}

/// A JSON string literal (quotes included): unicode text, plus now and then an escape that
/// Postgres's jsonb refuses (`\u0000`, a lone surrogate) or that is merely unusual.
fn string() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        40 => any::<String>().prop_map(|s| {
            let quoted = serde_json::to_string(&s).unwrap();
            quoted[1..quoted.len() - 1].to_owned()
        }),
        1 => select(vec![
            r"\u0000", r"\ud800", r"\udfff", r"\ud83d\ude00", r"\u00e9", r"\n", r#"\""#, r"\\",
            r"\/", r"\u2028", "é", "𝄞", "\u{feff}",
        ])
        .prop_map(str::to_owned),
    ];
    vec(piece, 0..4).prop_map(|p| format!("\"{}\"", p.concat()))
}

/// A JSON number in one of its many spellings.
fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| f.to_string()),
        select(vec![
            "0",
            "-0",
            "1e20",
            "1E+2",
            "-1.5e-7",
            "0.1",
            "9007199254740993",
            "123456789012345678901234567890",
            "18446744073709551615",
            "-9223372036854775808",
        ])
        .prop_map(str::to_owned),
    ]
}

fn scalar() -> impl Strategy<Value = J> {
    prop_oneof![
        select(vec!["null", "true", "false"]).prop_map(|s| J::Raw(s.into())),
        number().prop_map(J::Raw),
        string().prop_map(J::Raw),
    ]
}

/// Any JSON value, a few levels deep, objects with arbitrary (even repeated) keys.
pub fn value() -> impl Strategy<Value = J> {
    scalar().prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(J::Arr),
            vec((string(), inner), 0..6).prop_map(J::Obj),
        ]
    })
}

/// `n` nested arrays around a value: Postgres's jsonb has a stack-depth limit.
fn nested(n: usize) -> J {
    J::Raw(format!("{}1{}", "[".repeat(n), "]".repeat(n)))
}

/// Extra fields, named like Telegram's.
fn extras() -> impl Strategy<Value = Vec<(String, J)>> {
    vec(("\"[a-z_]{1,12}\"", value()), 0..4)
}

/// A Telegram-like update: `update_id` first, one kind (known or not) with chat and sender whose
/// ids may be any number, random extra fields anywhere; rarely deeply nested or a repeated
/// `update_id`.
pub fn update() -> impl Strategy<Value = J> {
    let kind = prop_oneof![
        4 => select(vec![
            "message", "edited_message", "channel_post", "callback_query", "inline_query",
            "poll", "my_chat_member", "message_reaction", "guest_message",
        ])
        .prop_map(str::to_owned),
        1 => "[a-z_]{1,20}",
    ];
    let id = prop_oneof![
        6 => (1i64..1_000_000_000).prop_map(|n| n.to_string()),
        1 => number(),
    ];
    (
        id,
        kind,
        (number(), number(), string()),
        extras(),
        extras(),
        prop_oneof![8 => Just(0usize), 1 => 1usize..100, 1 => 100usize..3000],
        prop_oneof![20 => Just(None), 1 => number().prop_map(Some)],
    )
        .prop_map(
            |(id, kind, (chat, from, text), inner, outer, depth, again)| {
                let mut obj = vec![
                    ("\"message_id\"".to_owned(), J::Raw("1".into())),
                    (
                        "\"chat\"".into(),
                        J::Obj(vec![("\"id\"".into(), J::Raw(chat))]),
                    ),
                    (
                        "\"from\"".into(),
                        J::Obj(vec![("\"id\"".into(), J::Raw(from))]),
                    ),
                    ("\"text\"".into(), J::Raw(text)),
                ];
                obj.extend(inner);
                if depth > 0 {
                    obj.push(("\"deep\"".into(), nested(depth)));
                }
                let mut top = vec![
                    ("\"update_id\"".to_owned(), J::Raw(id)),
                    (format!("\"{kind}\""), J::Obj(obj)),
                ];
                top.extend(outer);
                if let Some(other) = again {
                    top.push(("\"update_id\"".into(), J::Raw(other)));
                }
                J::Obj(top)
            },
        )
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
