use proptest::prelude::*;

use super::*;

fn outcome(body: &[u8]) -> String {
    match classify(body) {
        Ok(c) => {
            let (id, kind, cmd) = (c.update_id, c.kind, c.is_command);
            format!("{id} {kind} {:?} {:?} {cmd}", c.chat_id, c.user_id)
        }
        Err(ClassifyError::InvalidJson(why)) => format!("InvalidJson: {why}"),
        Err(e) => format!("{e:?}"),
    }
}

/// Each case is "body => the start of its outcome", so that a table keeps one case a line.
fn check(cases: &[&str]) {
    for case in cases {
        let (body, want) = case.rsplit_once(" => ").unwrap();
        let got = outcome(body.as_bytes());
        assert!(got.starts_with(want), "{body}: got {got:?}, want {want:?}");
    }
}

#[test]
fn rejects_what_is_no_update() {
    check(&[
        " => InvalidJson: EOF while parsing",
        " \r\n => InvalidJson",
        "not json => InvalidJson: expected ident",
        "{ => InvalidJson",
        r#"{"update_id": => InvalidJson"#,
        r#"{"update_id":1,} => InvalidJson: trailing comma"#,
        r#"{"update_id":1} x => InvalidJson: trailing characters"#,
        "[1, => InvalidJson",
        "[1,2] => NotObject",
        "[] => NotObject",
        r#" [{"update_id":1}] => NotObject"#,
        "42 => NotObject",
        r#""update" => NotObject"#,
        "null => NotObject",
        "{} => MissingUpdateId",
        r#"{"message":{"chat":{"id":1}}} => MissingUpdateId"#,
        r#"{"update_id":"12","poll":{}} => BadUpdateId"#,
        r#"{"update_id":1.5} => BadUpdateId"#,
        r#"{"update_id":12.0} => BadUpdateId"#,
        r#"{"update_id":1e3} => BadUpdateId"#,
        r#"{"update_id":9223372036854775808} => BadUpdateId"#,
        r#"{"update_id":-9223372036854775809} => BadUpdateId"#,
        r#"{"update_id":null} => BadUpdateId"#,
        r#"{"update_id":[1]} => BadUpdateId"#,
    ]);
    for body in [
        &b"{\"update_id\":1,\"a\":\"\xff\"}"[..],
        b"{\"update_id\":1,\"x\":[{\"t\":\"\xc3\"}]}",
    ] {
        assert!(outcome(body).starts_with("InvalidJson"), "{body:?}");
    }
}

#[test]
fn classifies_odd_but_valid_updates() {
    check(&[
        r#"{"update_id":7} => 7 unknown None None false"#,
        r#"{"update_id":9223372036854775807} => 9223372036854775807 unknown"#,
        r#" {"update_id":-3 } => -3 unknown"#,
        r#"{"update\u005fid":7,"f\u00fcr":{}} => 7 für None None false"#,
        r#"{"update_id":1,"mess\u0061ge":{"chat":{"id":-5},"from":{"id":9}}} => 1 message Some(-5) Some(9)"#,
        r#"{"update_id":1,"message":{"text":"\/st\u0061rt \u00e9"}} => 1 message None None true"#,
        // Several kinds never come together; the first known one wins, else the first key.
        r#"{"x":{},"update_id":1,"y":1,"poll_answer":{"user":{"id":3}},"poll":{}} => 1 poll_answer None Some(3)"#,
        r#"{"update_id":1,"zeta":{"chat":{"id":1}},"alpha":2} => 1 zeta Some(1) None false"#,
        r#"{"update_id":1,"update_id":"x","poll":{}} => 1 poll"#,
        r#"{"update_id":1,"message":5} => 1 message None None false"#,
        r#"{"update_id":1,"message":{"chat":{"id":"x"},"from":{"id":2}}} => 1 message None Some(2)"#,
        r#"{"update_id":1,"message":{"chat":{"id":1},"chat":{"id":2}}} => 1 message None None"#,
        r#"{"update_id":1,"message":{"chat":null,"from":{"id":null},"text":null}} => 1 message None None false"#,
    ]);
}

#[test]
fn an_update_without_a_usable_chat_says_why() {
    let fallback = |body: &str| {
        let c = classify(body.as_bytes()).unwrap();
        (c.chat_id, c.user_id, c.fallback.map(Fallback::as_str))
    };
    let m = |inner: &str| format!(r#"{{"update_id":1,"message":{inner}}}"#);
    let g = |inner: &str| format!(r#"{{"update_id":1,"guest_message":{inner}}}"#);
    let cases = [
        (
            m(r#"{"chat":{"id":-5},"from":{"id":9}}"#),
            (Some(-5), Some(9), None),
        ),
        (
            m(r#"{"chat":{"id":1e20},"from":{"id":9}}"#),
            (None, Some(9), Some("bad_chat_id")),
        ),
        (
            m(r#"{"chat":{"id":"-5"},"from":{"id":9}}"#),
            (None, Some(9), Some("bad_chat_id")),
        ),
        (
            m(r#"{"chat":{"title":"x"},"from":{"id":9}}"#),
            (None, Some(9), Some("bad_chat_id")),
        ),
        (
            m(r#"{"chat":7,"text":5,"from":{"id":9}}"#),
            (None, Some(9), Some("bad_chat_id")),
        ),
        (
            m(r#"{"chat":{"id":18446744073709551615}}"#),
            (None, None, Some("bad_chat_id")),
        ),
        (m(r#"{"from":{"id":9}}"#), (None, Some(9), Some("no_chat"))),
        (m("5"), (None, None, Some("no_chat"))),
        (
            g(r#"{"chat":{"id":-5},"from":{"id":9}}"#),
            (Some(-5), Some(9), None),
        ),
        (
            g(r#"{"chat":{"id":1e20},"from":{"id":9}}"#),
            (None, Some(9), Some("bad_chat_id")),
        ),
        (
            g(r#"{"user":{"id":9}}"#),
            (None, Some(9), Some("unknown_kind")),
        ),
        (g("[]"), (None, None, Some("unknown_kind"))),
        (
            r#"{"update_id":1,"inline_query":{"from":{"id":9}}}"#.into(),
            (None, Some(9), None),
        ),
        (
            r#"{"update_id":1,"poll":{"id":"p"}}"#.into(),
            (None, None, None),
        ),
    ];
    for (body, want) in cases {
        assert_eq!(fallback(&body), want, "{body}");
    }
}

#[test]
fn a_command_is_a_slash_and_a_letter_opening_the_text() {
    let outcome_of = |text: &str| {
        let text = serde_json::to_string(text).unwrap();
        outcome(format!(r#"{{"update_id":1,"message":{{"text":{text}}}}}"#).as_bytes())
    };
    for text in ["/start", "/help@MyBot arg", "/Z"] {
        assert!(outcome_of(text).ends_with("true"), "{text}");
    }
    for text in ["", "/", "/1", "/ a", " /a", "hi /a", "//a", "／a"] {
        assert!(outcome_of(text).ends_with("false"), "{text}");
    }
    check(&[
        r#"{"update_id":1,"channel_post":{"caption":"/start"}} => 1 channel_post None None false"#,
        r#"{"update_id":1,"callback_query":{"data":"/a","text":"/a"}} => 1 callback_query None None false"#,
        r#"{"update_id":1,"future":{"text":"/start"}} => 1 future None None false"#,
    ]);
}

#[test]
fn deep_nesting_is_skipped_or_an_error_never_a_crash() {
    let deep =
        |open: &str, close: &str| format!("{}0{}", open.repeat(100_000), close.repeat(100_000));
    let body = format!(r#"{{"update_id":1,"message":{}}}"#, deep("[", "]"));
    assert_eq!(outcome(body.as_bytes()), "1 message None None false");
    let body = format!(
        r#"{{"update_id":1,"message":{{"chat":{}}}}}"#,
        deep("{\"a\":", "}")
    );
    assert_eq!(outcome(body.as_bytes()), "1 message None None false");
    assert_eq!(outcome(deep("[", "]").as_bytes()), "NotObject");
}

fn near_update() -> impl Strategy<Value = String> {
    let kinds: Vec<_> = "message callback_query chat_boost poll_answer x"
        .split(' ')
        .collect();
    let part = "[{}\\[\\]\":,0-9a-z_ .eE+\\-\\\\/]{0,40}";
    let id = "-?[0-9]{1,20}(\\.[0-9])?";
    (proptest::sample::select(kinds), id, part, part).prop_map(|(kind, id, a, b)| {
        format!(r#"{{"update_id":{id},"{kind}":{{"chat":{{"id":{a}}},"from":{b}}}}}"#)
    })
}

proptest! {
    #[test]
    fn never_panics_on_bytes(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = classify(&body);
    }

    #[test]
    fn never_panics_on_jsonish_text(body in "[{}\\[\\]\":,0-9a-z_ .eE+\\-\\\\/\u{e9}]{0,256}") {
        let _ = classify(body.as_bytes());
    }

    #[test]
    fn never_panics_on_near_updates(body in near_update()) {
        let _ = classify(body.as_bytes());
    }
}
