//! JSON bodies written by hand: Telegram-like updates and any value, including what serde_json
//! would never write (lone surrogates, `\u0000`, repeated keys, odd numbers, deep nesting).

use proptest::{collection::vec, prelude::*, sample::select};

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
