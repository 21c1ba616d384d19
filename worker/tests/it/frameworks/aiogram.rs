//! aiogram: `SimpleRequestHandler` checks the secret token (401 otherwise) and, with the method
//! returned from the handler, answers the update with it as `multipart/form-data`.

use super::{App, replies_by_webhook};

#[tokio::test]
async fn aiogram_behind_sluice() {
    replies_by_webhook(App::Python("aiogram"), "aiogram", "aiogram").await;
}
