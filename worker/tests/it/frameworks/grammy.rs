//! grammY: `webhookCallback` checks the secret token (401 otherwise) and, with webhook replies
//! on, answers the update with `sendMessage` as JSON in the webhook's response.

use super::{App, replies_by_webhook};

#[tokio::test]
async fn grammy_behind_sluice() {
    replies_by_webhook(App::Node("grammy"), "grammY", "grammy").await;
}
