//! Where each sealed bot secret lives: the writer (`sluice-api bots`) and the readers (the
//! worker) must name the same place, or the value does not open.

use super::Aad;

/// A bot's Bot API token (`bots.token_sealed`).
pub fn bot_token(id: i64) -> Aad<'static> {
    Aad {
        table: "bots",
        column: "token",
        row: id,
    }
}

/// A bot's Telegram webhook secret token (`bots.secret_sealed`), sent on to its forward target
/// as `X-Telegram-Bot-Api-Secret-Token`.
pub fn bot_secret(id: i64) -> Aad<'static> {
    Aad {
        table: "bots",
        column: "secret",
        row: id,
    }
}
