//! The console's router: every route with its guard, recorded in one table
//! ([`route_table`]) so that tests can walk them all, and the headers every answer carries.

use axum::{
    Router,
    extract::Request,
    handler::Handler,
    http::{HeaderValue, Method, header},
    middleware::{self, Next},
    response::{IntoResponse, Redirect, Response},
    routing::{MethodFilter, on},
};
use sluice_console_pages::{layout::CONTENT_SECURITY_POLICY, paths};

use crate::{
    Console,
    auth::{self, Auth},
    error::ConsoleError,
    openapi,
    routes::{
        Access, RouteInfo, admission, assets, bots, bots_page, dead_letter_pages, dead_letters,
        lanes, login, workers,
    },
};

/// Routes grouped by their guard, and the list of them all.
struct Routes {
    public: Router<Console>,
    pages: Router<Console>,
    api: Router<Console>,
    table: Vec<RouteInfo>,
}

impl Routes {
    fn new() -> Routes {
        Routes {
            public: Router::new(),
            pages: Router::new(),
            api: Router::new(),
            table: Vec::new(),
        }
    }

    fn add<H, T>(mut self, access: Access, method: Method, path: &str, handler: H) -> Routes
    where
        H: Handler<T, Console>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone()).expect("a standard method");
        let group = match access {
            Access::Public => &mut self.public,
            Access::Page => &mut self.pages,
            Access::Api => &mut self.api,
        };
        *group = std::mem::take(group).route(path, on(filter, handler));
        self.table.push(RouteInfo {
            method,
            path: path.to_owned(),
            access,
        });
        self
    }
}

/// Every route of the console.
fn routes() -> Routes {
    use Access::*;
    Routes::new()
        .add(Public, Method::GET, paths::LOGIN, login::form)
        .add(Public, Method::POST, paths::LOGIN, login::submit)
        .add(Public, Method::GET, "/assets/{*file}", assets::get)
        .add(Page, Method::GET, "/", root)
        .add(Page, Method::POST, paths::LOGOUT, login::logout)
        .add(Page, Method::GET, paths::LANES, lanes::page)
        .add(Page, Method::GET, paths::LANES_LIVE, lanes::live)
        .add(Api, Method::GET, "/api/v1/lanes", lanes::api)
        .add(Api, Method::GET, "/api/v1/admission", admission::api)
        .add(
            Page,
            Method::GET,
            paths::DEAD_LETTERS,
            dead_letter_pages::list,
        )
        .add(
            Page,
            Method::GET,
            paths::DEAD_LETTERS_CONFIRM,
            dead_letter_pages::confirm,
        )
        .add(
            Page,
            Method::GET,
            "/dead-letters/{id}",
            dead_letter_pages::letter,
        )
        .add(
            Page,
            Method::POST,
            paths::DEAD_LETTERS_REPLAY,
            dead_letter_pages::replay,
        )
        .add(
            Page,
            Method::POST,
            paths::DEAD_LETTERS_PURGE,
            dead_letter_pages::purge,
        )
        .add(Api, Method::GET, "/api/v1/dead-letters", dead_letters::list)
        .add(
            Api,
            Method::GET,
            "/api/v1/dead-letters/{id}",
            dead_letters::get,
        )
        .add(
            Api,
            Method::POST,
            "/api/v1/dead-letters/replay",
            dead_letters::replay,
        )
        .add(
            Api,
            Method::POST,
            "/api/v1/dead-letters/purge",
            dead_letters::purge,
        )
        .add(Page, Method::GET, paths::WORKERS, workers::page)
        .add(Api, Method::GET, "/api/v1/workers", workers::api)
        .add(Page, Method::GET, paths::BOTS, bots_page::page)
        .add(Page, Method::POST, paths::BOTS_ADD, bots_page::add_bot)
        .add(
            Page,
            Method::POST,
            paths::BOTS_ROTATE,
            bots_page::rotate_bot,
        )
        .add(
            Page,
            Method::POST,
            paths::BOTS_LIMITS,
            bots_page::bot_limits,
        )
        .add(
            Page,
            Method::POST,
            paths::BOTS_REMOVE,
            bots_page::remove_bot,
        )
        .add(
            Page,
            Method::POST,
            paths::SOURCES_ADD,
            bots_page::add_source,
        )
        .add(
            Page,
            Method::POST,
            paths::SOURCES_ROTATE,
            bots_page::rotate_source,
        )
        .add(
            Page,
            Method::POST,
            paths::SOURCES_REMOVE,
            bots_page::remove_source,
        )
        .add(Api, Method::GET, "/api/v1/bots", bots::list_bots)
        .add(Api, Method::POST, "/api/v1/bots", bots::add_bot)
        .add(
            Api,
            Method::POST,
            "/api/v1/bots/{name}/rotate",
            bots::rotate_bot,
        )
        .add(
            Api,
            Method::PUT,
            "/api/v1/bots/{name}/limits",
            bots::bot_limits,
        )
        .add(Api, Method::DELETE, "/api/v1/bots/{name}", bots::remove_bot)
        .add(Api, Method::GET, "/api/v1/sources", bots::list_sources)
        .add(Api, Method::POST, "/api/v1/sources", bots::add_source)
        .add(
            Api,
            Method::POST,
            "/api/v1/sources/{name}/rotate",
            bots::rotate_source,
        )
        .add(
            Api,
            Method::DELETE,
            "/api/v1/sources/{name}",
            bots::remove_source,
        )
        .add(Api, Method::GET, "/api/v1/openapi.json", openapi::serve)
}

/// The routes and who may reach them, for tests and docs.
pub fn route_table() -> Vec<RouteInfo> {
    routes().table
}

/// The console's router with its guards and headers.
pub fn app(console: Console) -> Router {
    let Routes {
        public,
        mut pages,
        mut api,
        table,
    } = routes();
    let auth = Auth::clone(&console.auth);
    // Guards are route layers: an unknown path is a plain 404, not a sign-in prompt. (axum
    // refuses a route layer on a group without routes.)
    let has = |access| table.iter().any(|r| r.access == access);
    if has(Access::Page) {
        pages = pages.route_layer(middleware::from_fn_with_state(
            auth.clone(),
            auth::page_guard,
        ));
    }
    if has(Access::Api) {
        api = api.route_layer(middleware::from_fn_with_state(auth, auth::api_guard));
    }
    Router::new()
        .merge(public)
        .merge(pages)
        .merge(api)
        .fallback(|| async { ConsoleError::NotFound })
        .method_not_allowed_fallback(|| async {
            (
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "method not allowed",
            )
        })
        .with_state(console)
        .layer(middleware::from_fn(headers))
}

async fn root() -> Redirect {
    Redirect::to(paths::LANES)
}

/// Every answer: the pages' CSP, no sniffing, no referrer, no framing; and not cached unless the
/// handler said otherwise (the assets do): counts go stale, and a one-time secret must not stay
/// in a cache.
async fn headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await.into_response();
    let h = resp.headers_mut();
    let fixed = [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ];
    for (name, value) in fixed {
        h.insert(name, HeaderValue::from_static(value));
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}
