//! python-telegram-bot: its tornado webhook server checks the secret token (403 otherwise) and
//! its handler answers with its own `sendMessage` call (PTB has no webhook replies).

use super::{App, BAD, Behind, GOOD};

#[tokio::test]
async fn python_telegram_bot_behind_sluice() {
    let run = Behind::start(App::Python("ptb")).await;
    assert_eq!(
        run.direct_with_wrong_secret().await,
        403,
        "PTB refuses itself"
    );

    run.post("good", GOOD, 1, "ptbping1").await;
    let reached = sluice_testkit::wait_until(std::time::Duration::from_secs(60), || async {
        run.sent("ptbping1") == 1
    })
    .await;
    assert!(reached, "PTB's handler answered: {:?}", run.standin.calls());

    run.post("bad", BAD, 2, "ptbping2").await;
    let list = run.refused().await;
    assert!(
        list.contains("forward target answered 403 Forbidden"),
        "{list}"
    );
    assert_eq!(run.sent("ptbping2"), 0, "PTB never ran its handler for it");
    assert_eq!(run.replies("sendMessage").await, 0.0);
    run.no_secret_leaked(&list).await;
    run.stop().await;
}
