//! Rolling deploys: jobs queued by an older release (captured from it, `fixtures/jobs/`) decode
//! into today's [`Job`] with every field right, re-encode in today's format and decode again;
//! and a worker of the release before (its decoder, frozen below) reads what today writes.

use serde::Deserialize;
use serde_json::value::RawValue;
use sluice_shared::{
    job::{FORMAT, Job, Origin},
    lanes::Lane,
};

const TELEGRAM_BODY: &str = r#"{"update_id": 900001, "message": {"message_id": 17, "from": {"id": 7123456789, "is_bot": false, "first_name": "Ada"}, "chat": {"id": -1001234567890, "title": "G", "type": "supergroup"}, "date": 1764000000, "text": "h\u00e9llo  1.50"}}"#;
const STRIPE_BODY: &str = r#"{"id":"evt_1Q2w3E", "type" : "invoice.paid","data":{"object":{"customer":"cus_9Zx","amount_due":1.50}}}"#;
const GITHUB_BODY: &str =
    r#"{"action": "opened",  "number":1 , "zen":"Keep it logically awesome."}"#;

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/jobs/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// What each fixture must decode to: (file, origin, kind, lane, received_at_ms, body, attempt).
fn expected() -> Vec<(
    &'static str,
    Origin,
    &'static str,
    Lane,
    i64,
    &'static str,
    u32,
)> {
    let telegram = Origin::Telegram {
        bot: "testbot".into(),
        update_id: 900001,
        chat: Some(-1001234567890),
        user: Some(7123456789),
    };
    let stripe = Origin::Signed {
        source: "stripe".into(),
        key: "evt_1Q2w3E".into(),
        rate_key: Some("cus_9Zx".into()),
    };
    let github = Origin::Signed {
        source: "gh".into(),
        key: "sha256:86f76230c3d1be1ad0a4f66996ba1edf08d1d296a92b3bfc158952eef0f34ea4".into(),
        rate_key: None,
    };
    let (tg_at, st_at, gh_at) = (1796279733521, 1796279733750, 1796279733977);
    vec![
        (
            "v1-telegram.json",
            telegram.clone(),
            "message",
            Lane::Normal,
            tg_at,
            TELEGRAM_BODY,
            0,
        ),
        (
            "v1-telegram-retried.json",
            telegram,
            "message",
            Lane::Normal,
            tg_at,
            TELEGRAM_BODY,
            3,
        ),
        (
            "v1-signed-rate-key.json",
            stripe.clone(),
            "invoice.paid",
            Lane::High,
            st_at,
            STRIPE_BODY,
            0,
        ),
        (
            "v1-signed-rate-key-retried.json",
            stripe,
            "invoice.paid",
            Lane::High,
            st_at,
            STRIPE_BODY,
            1,
        ),
        (
            "v1-signed.json",
            github,
            "pull_request",
            Lane::Low,
            gh_at,
            GITHUB_BODY,
            0,
        ),
    ]
}

fn assert_job(job: &Job, want: &(&str, Origin, &str, Lane, i64, &str, u32)) {
    let (file, origin, kind, lane, at, body, attempt) = want;
    assert_eq!(&job.origin, origin, "{file}");
    assert_eq!(job.kind, *kind, "{file}");
    assert_eq!(job.lane, *lane, "{file}");
    assert_eq!(job.received_at_ms, *at, "{file}");
    assert_eq!(
        job.payload.get(),
        *body,
        "{file}: the payload's bytes, exactly"
    );
    assert_eq!(job.attempt, *attempt, "{file}");
}

#[test]
fn format_1_jobs_decode_with_every_field() {
    for want in expected() {
        let job: Job = serde_json::from_str(&fixture(want.0)).unwrap();
        assert_job(&job, &want);
    }
}

#[test]
fn a_format_1_job_re_encoded_is_format_2_and_decodes_again() {
    for want in expected() {
        let job: Job = serde_json::from_str(&fixture(want.0)).unwrap();
        let again = serde_json::to_string(&job).unwrap();
        assert!(
            again.starts_with(&format!(r#"{{"v":{FORMAT},"origin":"#)),
            "{again}"
        );
        assert!(
            again.contains(want.5),
            "{}: the body verbatim in {again}",
            want.0
        );
        assert_job(&serde_json::from_str(&again).unwrap(), &want);
    }
}

#[test]
fn a_format_1_dead_letter_still_decodes() {
    /// The dead letter's shape (`sluice_shared::dlq::DeadLetter`): the job nested in an object.
    #[derive(Deserialize)]
    struct DeadLetter {
        id: String,
        envelope: Job,
    }
    let letter: DeadLetter = serde_json::from_str(&fixture("v1-dead-letter.json")).unwrap();
    assert_eq!(letter.id, "01KB0000000000000000000000");
    let mut want = expected().remove(0);
    want.6 = 2;
    assert_job(&letter.envelope, &want);
}

/// The decoder of the release before format 2 (`shared/src/job.rs` at `fce9e80`), trimmed to
/// what it checked: a worker of that release must read the jobs a newer api queues.
mod v1 {
    use super::*;

    #[derive(Debug, Default, PartialEq, Eq, Deserialize)]
    #[serde(rename_all = "lowercase")]
    pub enum Origin {
        #[default]
        Telegram,
        Signed,
    }

    #[derive(Deserialize)]
    pub struct Wire {
        #[serde(default)]
        pub origin: Origin,
        pub bot: Option<String>,
        pub update_id: Option<i64>,
        pub chat_id: Option<i64>,
        pub user_id: Option<i64>,
        pub source: Option<String>,
        pub idempotency_key: Option<String>,
        pub rate_key: Option<String>,
        pub kind: String,
        pub lane: Lane,
        pub received_at_ms: i64,
        pub payload: Box<RawValue>,
        #[serde(default)]
        pub attempt: u32,
    }
}

#[test]
fn the_previous_release_reads_format_2() {
    for want in expected() {
        let job: Job = serde_json::from_str(&fixture(want.0)).unwrap();
        let old: v1::Wire = serde_json::from_str(&serde_json::to_string(&job).unwrap()).unwrap();
        match &job.origin {
            Origin::Telegram {
                bot,
                update_id,
                chat,
                user,
            } => {
                assert_eq!(old.origin, v1::Origin::Telegram);
                assert_eq!(old.bot.as_ref(), Some(bot));
                assert_eq!(old.update_id, Some(*update_id));
                assert_eq!((old.chat_id, old.user_id), (*chat, *user));
            }
            Origin::Signed {
                source,
                key,
                rate_key,
            } => {
                assert_eq!(old.origin, v1::Origin::Signed);
                assert_eq!(old.source.as_ref(), Some(source));
                assert_eq!(old.idempotency_key.as_ref(), Some(key));
                assert_eq!(&old.rate_key, rate_key);
            }
        }
        assert_eq!(
            (old.kind.as_str(), old.lane, old.received_at_ms, old.attempt),
            (job.kind.as_str(), job.lane, job.received_at_ms, job.attempt)
        );
        assert_eq!(old.payload.get(), job.payload.get());
    }
}
