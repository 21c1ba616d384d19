//! The console API's OpenAPI 3.1 document, derived by utoipa from the handlers' `#[utoipa::path]`
//! and their answer types, served at `GET /api/v1/openapi.json` and committed as
//! `docs/console/openapi.json` (a test keeps the two equal, and another that every API route of
//! [`crate::router::route_table`] is in it).
//!
//! The guard's answers (401, 429, 403 for a cookie's change without its CSRF header, 503) are
//! added to every operation here, from the method, rather than repeated on each handler.
//!
//! The `///` comments of the handlers, their answer and body types and their fields are the
//! document's summaries and descriptions: they are written for the API's users.

use std::sync::LazyLock;

use axum::{
    http::header,
    response::{IntoResponse, Response},
};
use utoipa::{
    Modify, OpenApi,
    openapi::{
        ContentBuilder, Ref, RefOr, ResponseBuilder,
        path::Operation,
        security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme},
    },
};

use crate::{
    auth::COOKIE,
    error::ErrorBody,
    routes::{admission, bots, dead_letters, lanes, workers},
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "sluice console API",
        // The API's version, as in its paths, not the crate's: the document changes with the API.
        version = "1",
        description = "The operator console's JSON API: lanes, admission, dead letters, workers, \
            bots and sources. A client authenticates with `Authorization: Bearer <console token>`; a \
            browser signed in at `/login` sends its session cookie instead, and then every \
            change (POST, PUT, DELETE) also needs the session's CSRF token in `X-CSRF-Token`. \
            Repeated wrong tokens from one address are refused for a while (429).",
    ),
    paths(
        lanes::api,
        admission::api,
        dead_letters::list,
        dead_letters::get,
        dead_letters::replay,
        dead_letters::purge,
        workers::api,
        bots::list_bots,
        bots::add_bot,
        bots::rotate_bot,
        bots::bot_limits,
        bots::remove_bot,
        bots::list_sources,
        bots::add_source,
        bots::rotate_source,
        bots::remove_source,
        serve,
    ),
    components(schemas(ErrorBody)),
    modifiers(&Guard),
    security(("bearer" = []), ("session" = [])),
)]
pub struct ApiDoc;

/// The document as served and committed.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The document as JSON, pretty-printed and newline-terminated like the committed file.
pub fn json() -> String {
    let mut s = document()
        .to_pretty_json()
        .expect("the document serializes");
    s.push('\n');
    s
}

static JSON: LazyLock<String> = LazyLock::new(json);

/// This document.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    operation_id = "openapi",
    tag = "meta",
    responses((status = 200, description = "This document", content_type = "application/json"))
)]
pub async fn serve() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], JSON.as_str()).into_response()
}

/// The security schemes, and the guard's refusals on every operation.
struct Guard;

const REFUSALS: [(&str, &str, &str); 4] = [
    (
        "401",
        "Unauthorized",
        "No bearer token or session cookie, or a token that is not accepted",
    ),
    (
        "403",
        "Csrf",
        "A change made with the session cookie without the session's `X-CSRF-Token`",
    ),
    (
        "429",
        "TooManyAttempts",
        "Too many wrong tokens from this address; wait a minute",
    ),
    (
        "503",
        "Unavailable",
        "Redis or Postgres did not answer; try again",
    ),
];

impl Modify for Guard {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        let cookie = ApiKeyValue::with_description(
            COOKIE,
            "A browser's session (sign in at `/login`); a change also needs `X-CSRF-Token`.",
        );
        components.add_security_scheme("session", SecurityScheme::ApiKey(ApiKey::Cookie(cookie)));
        for (_, name, description) in REFUSALS {
            let body = ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build();
            let response = ResponseBuilder::new()
                .description(description)
                .content("application/json", body)
                .build();
            components
                .responses
                .insert(name.to_owned(), RefOr::T(response));
        }
        for item in doc.paths.paths.values_mut() {
            let reads = [&mut item.get];
            let changes = [&mut item.post, &mut item.put, &mut item.delete];
            reads
                .into_iter()
                .flatten()
                .for_each(|op| refusals(op, false));
            changes
                .into_iter()
                .flatten()
                .for_each(|op| refusals(op, true));
        }
    }
}

fn refusals(op: &mut Operation, changes: bool) {
    for (status, name, _) in REFUSALS {
        if status == "403" && !changes {
            continue;
        }
        op.responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
    }
}
