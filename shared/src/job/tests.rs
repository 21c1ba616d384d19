use super::*;

const RAW: &str = r#"{ "id":"evt_1","type" : "invoice.paid","n":1.50 }"#;

fn event() -> Job {
    Job {
        origin: Origin::Signed {
            source: "stripe".into(),
            key: "evt_1".into(),
            rate_key: Some("cus_9".into()),
        },
        kind: "invoice.paid".into(),
        lane: Lane::High,
        received_at_ms: 7,
        payload: RawValue::from_string(RAW.to_owned()).unwrap(),
        attempt: 0,
        traceparent: None,
    }
}

fn update(raw: &str) -> Job {
    Job {
        origin: Origin::Telegram {
            bot: "b".into(),
            update_id: 1,
            chat: Some(-1001234567890),
            user: None,
        },
        kind: "message".into(),
        lane: Lane::Normal,
        received_at_ms: 0,
        payload: RawValue::from_string(raw.to_owned()).unwrap(),
        attempt: 2,
        traceparent: None,
    }
}

#[test]
fn a_telegram_job_is_written_in_format_2_with_its_raw_bytes() {
    // Odd spacing, key order and number spelling must come out exactly as they went in.
    let raw = r#"{ "update_id":1,"message" : {"text":"h\u00e9","n":1.50,"z":0,"a":1} }"#;
    let json = serde_json::to_string(&update(raw)).unwrap();
    assert_eq!(
        json,
        format!(
            r#"{{"v":2,"origin":"telegram","bot":"b","update_id":1,"chat_id":-1001234567890,"user_id":null,"kind":"message","lane":"normal","received_at_ms":0,"payload":{raw},"attempt":2}}"#
        )
    );
    let back: Job = serde_json::from_str(&json).unwrap();
    assert_eq!(back.payload.get(), raw);
    assert_eq!(back.origin, update(raw).origin);
    assert_eq!(back.attempt, 2);
}

#[test]
fn a_trace_context_is_written_only_when_there_is_one_and_read_back() {
    let tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let job = Job {
        traceparent: Some(tp.to_owned()),
        ..update("{}")
    };
    let json = serde_json::to_string(&job).unwrap();
    assert!(
        json.ends_with(&format!(r#""attempt":2,"traceparent":"{tp}"}}"#)),
        "{json}"
    );
    let back: Job = serde_json::from_str(&json).unwrap();
    assert_eq!(back.traceparent.as_deref(), Some(tp));
    // Without one the key is left out, so the JSON is the format every release reads.
    let plain = serde_json::to_string(&update("{}")).unwrap();
    assert!(!plain.contains("traceparent"), "{plain}");
    let back: Job = serde_json::from_str(&plain).unwrap();
    assert_eq!(back.traceparent, None);
}

#[test]
fn a_signed_event_round_trips_with_its_raw_bytes() {
    let json = serde_json::to_string(&event()).unwrap();
    assert!(
        json.starts_with(
            r#"{"v":2,"origin":"signed","source":"stripe","idempotency_key":"evt_1","rate_key":"cus_9","#
        ),
        "{json}"
    );
    let back: Job = serde_json::from_str(&json).unwrap();
    assert_eq!(back.payload.get(), RAW);
    assert_eq!(back.origin, event().origin);
    assert_eq!((back.lane, back.received_at_ms), (Lane::High, 7));
    assert_eq!(back.dedup_key(), "src:stripe:evt_1");
    assert_eq!(back.describe(), "stripe/evt_1");
}

#[test]
fn a_job_missing_its_key_fields_is_an_error_not_a_default() {
    for bad in [
        // No bot (format 1, Telegram by default).
        r#"{"update_id":5,"kind":"m","lane":"low","received_at_ms":1,"payload":{}}"#,
        // No idempotency key.
        r#"{"origin":"signed","source":"s","kind":"m","lane":"low","received_at_ms":1,"payload":{}}"#,
        // Format 2 always names its origin.
        r#"{"v":2,"bot":"b","update_id":5,"kind":"m","lane":"low","received_at_ms":1,"payload":{}}"#,
    ] {
        assert!(serde_json::from_str::<Job>(bad).is_err(), "{bad}");
    }
}

#[test]
fn a_job_of_a_newer_format_is_refused_by_name() {
    let newer = r#"{"v":3,"origin":"telegram","bot":"b","update_id":5,"kind":"m","lane":"low","received_at_ms":1,"payload":{}}"#;
    let err = serde_json::from_str::<Job>(newer).unwrap_err().to_string();
    assert!(err.contains("job format 3"), "{err}");
}

#[test]
fn keys_are_namespaced_per_origin() {
    assert_eq!(update("{}").origin.dedup_key(), "tg:b:1");
    assert_eq!(signed_key("testbot", "1"), "src:testbot:1");
    assert_ne!(signed_key("testbot", "1"), telegram_key("testbot", 1));
}
