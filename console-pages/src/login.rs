//! The sign-in page: one token field. No CSRF field: there is no session yet to ride on, and the
//! session cookie it leads to is `SameSite=Strict`.

use maud::{DOCTYPE, Markup, html};

use crate::{layout, paths};

/// Why the last sign-in did not work. An enum, not a string: the page never echoes what was
/// typed, and an attacker learns nothing the message did not already say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginError {
    /// No token, or not one of the configured ones.
    BadToken,
    /// The session cookie was missing, expired or unknown.
    SessionExpired,
    /// Too many attempts from this client; try again later.
    TooManyAttempts,
}

impl LoginError {
    fn message(self) -> &'static str {
        match self {
            LoginError::BadToken => "That token was not accepted.",
            LoginError::SessionExpired => "Your session has ended. Sign in again.",
            LoginError::TooManyAttempts => "Too many attempts. Wait a minute and try again.",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct LoginView {
    pub error: Option<LoginError>,
}

/// The whole sign-in page.
pub fn render_login(view: &LoginView) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (layout::head("Sign in"))
            body.login {
                main {
                    form.card method="post" action=(paths::LOGIN) {
                        h1 { "sluice console" }
                        @if let Some(error) = view.error {
                            p.flash.error role="alert" { (error.message()) }
                        }
                        label for="token" { "Console token" }
                        input #token type="password" name=(paths::TOKEN_FIELD) required
                            autocomplete="off" autofocus spellcheck="false" maxlength="512";
                        button type="submit" { "Sign in" }
                        p.hint {
                            "A token whose SHA-256 is listed in " code { "SLUICE_CONSOLE_TOKEN_SHA256" } "."
                        }
                    }
                }
            }
        }
    }
}
