//! The console's OpenAPI document served at `/api/v1/openapi.json`: behind the API's guard, the
//! same document the code generates (and docs/console/openapi.json holds). Its schemas against
//! the real answers: [`super::openapi_answers`].

use reqwest::Method;

use super::{TOKEN, spawn_console};

const PATH: &str = "/api/v1/openapi.json";

#[tokio::test]
async fn the_document_is_served_to_a_token_or_a_session_and_refused_without() {
    let (app, c) = spawn_console(&[]).await;
    let anonymous = c.http.get(c.url(PATH)).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let body: serde_json::Value = anonymous.json().await.unwrap();
    assert_eq!(body["error"], "unauthorized");
    let wrong = c.http.get(c.url(PATH)).bearer_auth("nope").send().await;
    assert_eq!(wrong.unwrap().status(), 401);

    let resp = c.http.get(c.url(PATH)).bearer_auth(TOKEN).send().await;
    let resp = resp.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let served: serde_json::Value = resp.json().await.unwrap();
    let generated = serde_json::to_value(sluice_console::openapi::document()).unwrap();
    assert_eq!(served, generated);
    assert!(served["paths"]["/api/v1/dead-letters/{id}"]["get"].is_object());

    let signed = c.sign_in().await;
    let browser = c.with(&signed, Method::GET, PATH).send().await.unwrap();
    assert_eq!(browser.status(), 200);
    app.stop().await;
}
