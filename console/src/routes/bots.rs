//! The bots and sources API under `/api/v1`: list (never a secret, token or sealed value), add
//! and rotate (the new secret in that one answer), a bot's limits, remove. All through
//! [`crate::service::bots`], as the pages ([`super::bots_page`]) are.

use axum::{
    Json,
    extract::{Path, State, rejection::JsonRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sluice_shared::{
    registry::{bots::Listed as BotListed, sources::manage::Listed as SourceListed},
    secret::Secret,
};

use crate::{
    Console,
    error::{ConsoleError, ErrorBody},
    service::bots as service,
};

/// One bot as the API lists it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct BotAnswer {
    #[serde(flatten)]
    #[schema(value_type = BotListedDoc)]
    pub bot: BotListed,
    pub updated_at: DateTime<Utc>,
    /// Whether a Bot API token is on file.
    pub has_token: bool,
    pub webhook_path: String,
}

impl From<BotListed> for BotAnswer {
    fn from(bot: BotListed) -> BotAnswer {
        BotAnswer {
            updated_at: bot.updated_at,
            has_token: bot.has_token,
            webhook_path: format!("/webhook/telegram/{}", bot.name),
            bot,
        }
    }
}

/// One source as the API lists it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SourceAnswer {
    #[serde(flatten)]
    #[schema(value_type = SourceListedDoc)]
    pub source: SourceListed,
    pub created_at: DateTime<Utc>,
    pub webhook_path: String,
}

/// The answer to an add or a rotation: the only time the secret is shown.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SecretAnswer {
    pub name: String,
    /// The webhook secret (a bot's `secret_token`) or the signing secret (a source's).
    pub secret: String,
    /// Where the bot or source posts its webhooks, on the api's listener.
    pub webhook_path: String,
}

fn secret_answer(status: StatusCode, name: String, secret: Secret, path: &str) -> Response {
    let webhook_path = format!("{path}/{name}");
    let secret = secret.expose().to_owned();
    let body = SecretAnswer {
        name,
        secret,
        webhook_path,
    };
    (status, Json(body)).into_response()
}

/// A body that is not this route's JSON; serde's text is not echoed (it can quote a value).
fn body<T>(parsed: Result<Json<T>, JsonRejection>) -> Result<T, ConsoleError> {
    parsed.map(|Json(t)| t).map_err(|e| {
        ConsoleError::BadRequest(format!(
            "the body is not this route's JSON ({})",
            e.status()
        ))
    })
}

/// Every bot, by name; never a secret or token.
#[utoipa::path(
    get,
    path = "/api/v1/bots",
    operation_id = "list_bots",
    tag = "bots",
    responses((status = 200, description = "Every bot", body = Vec<BotAnswer>))
)]
pub async fn list_bots(State(c): State<Console>) -> Result<Json<Vec<BotAnswer>>, ConsoleError> {
    let all = service::list_bots(&c.db).await?;
    Ok(Json(all.into_iter().map(BotAnswer::from).collect()))
}

/// `POST /api/v1/bots`.
// No `Debug`: the token must not reach a log. (A `//` note: `///` would be in the OpenAPI
// document.)
#[derive(Deserialize, utoipa::ToSchema)]
pub struct AddBot {
    pub name: String,
    /// The bot's Bot API token, for sending; stored sealed.
    #[serde(default)]
    pub token: Option<String>,
}

/// Registers a bot with a fresh webhook secret, shown in this answer only.
#[utoipa::path(
    post,
    path = "/api/v1/bots",
    operation_id = "add_bot",
    tag = "bots",
    request_body = AddBot,
    responses(
        (status = 201, description = "Added; the secret is not shown again", body = SecretAnswer),
        (status = 400, description = "Not this route's JSON, or a bad name or token", body = ErrorBody),
        (status = 409, description = "A bot has this name", body = ErrorBody),
    )
)]
pub async fn add_bot(
    State(c): State<Console>,
    parsed: Result<Json<AddBot>, JsonRejection>,
) -> Result<Response, ConsoleError> {
    let AddBot { name, token } = body(parsed)?;
    let token = token.as_deref().map(Secret::unchecked);
    let secret = service::add_bot(&c.db, &c.keys, &name, token).await?;
    Ok(secret_answer(
        StatusCode::CREATED,
        name,
        secret,
        "/webhook/telegram",
    ))
}

/// Gives a bot a new webhook secret, shown in this answer only; the old one is refused once
/// the api's registry reloads.
#[utoipa::path(
    post,
    path = "/api/v1/bots/{name}/rotate",
    operation_id = "rotate_bot",
    tag = "bots",
    params(("name" = String, Path, description = "The bot's name")),
    responses(
        (status = 200, description = "Rotated; the secret is not shown again", body = SecretAnswer),
        (status = 404, description = "No bot has this name", body = ErrorBody),
    )
)]
pub async fn rotate_bot(
    State(c): State<Console>,
    Path(name): Path<String>,
) -> Result<Response, ConsoleError> {
    let secret = service::rotate_bot(&c.db, &c.keys, &name).await?;
    Ok(secret_answer(
        StatusCode::OK,
        name,
        secret,
        "/webhook/telegram",
    ))
}

/// `PUT /api/v1/bots/{name}/limits`: both, or both `null` for the api's defaults.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct BotLimitsBody {
    pub rate_per_sec: Option<f64>,
    pub burst: Option<u32>,
}

/// Sets a bot's own rate and burst, or with both `null` gives it the api's defaults back.
#[utoipa::path(
    put,
    path = "/api/v1/bots/{name}/limits",
    operation_id = "set_bot_limits",
    tag = "bots",
    params(("name" = String, Path, description = "The bot's name")),
    request_body = BotLimitsBody,
    responses(
        (status = 200, description = "The bot as it is now", body = BotAnswer),
        (status = 400, description = "Not this route's JSON, one of the pair only, or a bad value", body = ErrorBody),
        (status = 404, description = "No bot has this name", body = ErrorBody),
    )
)]
pub async fn bot_limits(
    State(c): State<Console>,
    Path(name): Path<String>,
    parsed: Result<Json<BotLimitsBody>, JsonRejection>,
) -> Result<Json<BotAnswer>, ConsoleError> {
    let limits = match body(parsed)? {
        BotLimitsBody {
            rate_per_sec: Some(rate),
            burst: Some(burst),
        } => Some((rate, burst)),
        BotLimitsBody {
            rate_per_sec: None,
            burst: None,
        } => None,
        _ => return Err(ConsoleError::BadRequest(BOTH.into())),
    };
    service::set_bot_limits(&c.db, &c.keys, &name, limits).await?;
    let all = service::list_bots(&c.db).await?;
    let bot = all.into_iter().find(|b| b.name == name);
    Ok(Json(bot.ok_or(ConsoleError::NotFound)?.into()))
}

/// A limit is set as a pair: a rate without a burst (or the reverse) is refused.
pub const BOTH: &str = "give rate_per_sec and burst together, or neither for the defaults";

/// Removes a bot: its webhooks are refused from the api's next registry reload.
#[utoipa::path(
    delete,
    path = "/api/v1/bots/{name}",
    operation_id = "remove_bot",
    tag = "bots",
    params(("name" = String, Path, description = "The bot's name")),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No bot has this name", body = ErrorBody),
    )
)]
pub async fn remove_bot(
    State(c): State<Console>,
    Path(name): Path<String>,
) -> Result<StatusCode, ConsoleError> {
    service::remove_bot(&c.db, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every usable source, by name; never a secret.
#[utoipa::path(
    get,
    path = "/api/v1/sources",
    operation_id = "list_sources",
    tag = "sources",
    responses((status = 200, description = "Every source", body = Vec<SourceAnswer>))
)]
pub async fn list_sources(
    State(c): State<Console>,
) -> Result<Json<Vec<SourceAnswer>>, ConsoleError> {
    let all = service::list_sources(&c.db, &c.keys).await?;
    let answers = all.into_iter().map(|(source, created_at)| SourceAnswer {
        webhook_path: format!("/webhook/hooks/{}", source.name),
        source,
        created_at,
    });
    Ok(Json(answers.collect()))
}

/// `POST /api/v1/sources`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct AddSource {
    pub name: String,
    /// `github`, `stripe` or `plain`.
    pub scheme: String,
    /// `high`, `normal` (the default) or `low`.
    #[serde(default = "normal")]
    #[schema(default = "normal")]
    pub lane: String,
}

fn normal() -> String {
    "normal".to_owned()
}

/// Registers a source with a fresh signing secret, shown in this answer only.
#[utoipa::path(
    post,
    path = "/api/v1/sources",
    operation_id = "add_source",
    tag = "sources",
    request_body = AddSource,
    responses(
        (status = 201, description = "Added; the secret is not shown again", body = SecretAnswer),
        (status = 400, description = "Not this route's JSON, or a bad name, scheme or lane", body = ErrorBody),
        (status = 409, description = "A source has this name", body = ErrorBody),
    )
)]
pub async fn add_source(
    State(c): State<Console>,
    parsed: Result<Json<AddSource>, JsonRejection>,
) -> Result<Response, ConsoleError> {
    let AddSource { name, scheme, lane } = body(parsed)?;
    let secret = service::add_source(&c.db, &c.keys, &name, &scheme, &lane).await?;
    Ok(secret_answer(
        StatusCode::CREATED,
        name,
        secret,
        "/webhook/hooks",
    ))
}

/// Replaces a source's signing secret with a fresh one, shown in this answer only; only the new
/// one is accepted from then on.
#[utoipa::path(
    post,
    path = "/api/v1/sources/{name}/rotate",
    operation_id = "rotate_source",
    tag = "sources",
    params(("name" = String, Path, description = "The source's name")),
    responses(
        (status = 200, description = "Rotated; the secret is not shown again", body = SecretAnswer),
        (status = 404, description = "No source has this name", body = ErrorBody),
        (status = 409, description = "The source is sealed under a key the api does not hold", body = ErrorBody),
    )
)]
pub async fn rotate_source(
    State(c): State<Console>,
    Path(name): Path<String>,
) -> Result<Response, ConsoleError> {
    let secret = service::rotate_source(&c.db, &c.keys, &name).await?;
    Ok(secret_answer(
        StatusCode::OK,
        name,
        secret,
        "/webhook/hooks",
    ))
}

/// Removes a source.
#[utoipa::path(
    delete,
    path = "/api/v1/sources/{name}",
    operation_id = "remove_source",
    tag = "sources",
    params(("name" = String, Path, description = "The source's name")),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No source has this name", body = ErrorBody),
    )
)]
pub async fn remove_source(
    State(c): State<Console>,
    Path(name): Path<String>,
) -> Result<StatusCode, ConsoleError> {
    service::remove_source(&c.db, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

// The documented shapes of the registry's listings (they live in `sluice-shared`, which has no
// utoipa): here beside the answers that embed them.

/// `sluice_shared::registry::bots::Listed` as the API answers it (flattened into
/// [`BotAnswer`]); console/tests/openapi.rs checks its fields against the real one's.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct BotListedDoc {
    name: String,
    created_at: chrono::DateTime<chrono::Utc>,
    /// The bot's own rate limit (updates per second); `null` for the api's default.
    rate_per_sec: Option<f64>,
    /// The bot's own burst; `null` for the api's default.
    burst: Option<i32>,
    /// The bot's own forward target, shown by its origin only.
    forward_url: Option<String>,
    /// Whether its webhook secret is sent on as `X-Telegram-Bot-Api-Secret-Token`.
    forward_secret: bool,
}

/// `sluice_shared::registry::sources::manage::Listed` as the API answers it (flattened into
/// [`SourceAnswer`]); console/tests/openapi.rs checks its fields against the real one's.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct SourceListedDoc {
    name: String,
    /// `github`, `stripe` or `plain`.
    scheme: String,
    /// `high`, `normal` or `low`.
    lane: String,
    /// Where the provider's event id is; without it the body's SHA-256 is used.
    idempotency: Option<String>,
    /// Where the event type is; without it the kind is `event`.
    kind: Option<String>,
    /// Where the admission-control bucket key is (a JSON pointer).
    rate_key: Option<String>,
    /// Stripe only: how far a signature's timestamp may be from now, in seconds.
    tolerance_s: u64,
    /// A next secret is accepted besides the current one (a rotation in progress).
    next_secret_pending: bool,
}
