use super::*;
use crate::job::Origin;

#[test]
fn a_dead_letter_of_the_previous_format_still_decodes() {
    // Captured from the release before job format 2 (see the fixtures' README): replaying
    // it after a deploy must find the same job.
    let old = include_str!("../../tests/fixtures/jobs/v1-dead-letter.json");
    let letter: DeadLetter = serde_json::from_str(old).unwrap();
    assert_eq!(letter.id, "01KB0000000000000000000000");
    assert_eq!(letter.dead_at_ms, 1_796_279_800_000);
    let job = &letter.envelope;
    assert!(matches!(
        &job.origin,
        Origin::Telegram { bot, update_id: 900001, chat: Some(-1001234567890), user: Some(7123456789) }
            if bot == "testbot"
    ));
    assert_eq!((job.lane, job.attempt), (Lane::Normal, 2));
    assert!(
        job.payload
            .get()
            .starts_with(r#"{"update_id": 900001, "message""#)
    );
    assert_eq!(
        letter.meta(),
        "bot:testbot\npermanent: forward target answered 422 unprocessable entity"
    );
    // Written back (a retry, a replay) in today's format, and read again.
    let again: DeadLetter = serde_json::from_str(&serde_json::to_string(&letter).unwrap()).unwrap();
    assert_eq!(again.envelope.origin, job.origin);
    assert_eq!(again.envelope.payload.get(), job.payload.get());
}
