//! The console's OpenAPI document against the answers the API really gives: every operation
//! called, each answer's status documented and its body valid under the documented schema (a
//! JSON Schema 2020-12 validator, the dialect of OpenAPI 3.1).

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{Value, json, value::RawValue};
use sluice_shared::{
    dlq::{DeadLetter, DeadLetters},
    job::{Job, Origin},
    lanes::Lane,
};

use super::{Console, KEY, spawn_console};
use crate::common::{BOT, message};

const PATH: &str = "/api/v1/openapi.json";

/// Every API operation called for real, its answers (success and the refusals it can provoke
/// here) checked against the schema the document gives them; and every documented operation
/// must have had its success answer checked, so a new route needs a call here too.
#[tokio::test]
async fn every_operations_real_answers_match_the_documents_schemas() {
    let (app, c) = spawn_console(&[KEY]).await;
    for id in 0..2 {
        let resp = app.post_update(BOT, message(7000 + id, 42, "hi")).await;
        assert_eq!(resp.status(), 200);
    }
    let mut d = Documented::new(c);
    let none = None;
    d.call(
        Method::GET,
        "/api/v1/lanes",
        "/api/v1/lanes",
        none.clone(),
        200,
    )
    .await;
    d.call(
        Method::GET,
        "/api/v1/admission",
        "/api/v1/admission",
        none.clone(),
        200,
    )
    .await;
    d.call(
        Method::GET,
        "/api/v1/workers",
        "/api/v1/workers",
        none.clone(),
        200,
    )
    .await;
    d.call(Method::GET, PATH, PATH, none.clone(), 200).await;

    let list = "/api/v1/dead-letters";
    bury(&app).await;
    d.call(Method::GET, list, list, none.clone(), 200).await;
    d.call(
        Method::GET,
        one_path(),
        "/api/v1/dead-letters/doc-bot-letter",
        none.clone(),
        200,
    )
    .await;
    d.call(
        Method::GET,
        list,
        "/api/v1/dead-letters?lane=nope",
        none.clone(),
        400,
    )
    .await;
    let one = "/api/v1/dead-letters/{id}";
    d.call(
        Method::GET,
        one,
        "/api/v1/dead-letters/01JNOPE",
        none.clone(),
        404,
    )
    .await;
    for act in ["replay", "purge"] {
        let path = format!("/api/v1/dead-letters/{act}");
        let count = json!({"all": true, "dry_run": true});
        d.call(Method::POST, &path, &path, Some(count), 200).await;
        let ids = json!({"ids": ["01JNOPE"]});
        d.call(Method::POST, &path, &path, Some(ids), 200).await;
        d.call(Method::POST, &path, &path, Some(json!({})), 400)
            .await;
    }

    let (bots, bot) = ("/api/v1/bots", "/api/v1/bots/{name}");
    let add = json!({"name": "doc-bot"});
    d.call(Method::POST, bots, bots, Some(add.clone()), 201)
        .await;
    d.call(Method::POST, bots, bots, Some(add), 409).await;
    d.call(Method::POST, bots, bots, Some(json!({"nom": 1})), 400)
        .await;
    d.call(Method::GET, bots, bots, none.clone(), 200).await;
    let rotate = "/api/v1/bots/{name}/rotate";
    d.call(
        Method::POST,
        rotate,
        "/api/v1/bots/doc-bot/rotate",
        none.clone(),
        200,
    )
    .await;
    d.call(
        Method::POST,
        rotate,
        "/api/v1/bots/nobody/rotate",
        none.clone(),
        404,
    )
    .await;
    let (limits, at) = ("/api/v1/bots/{name}/limits", "/api/v1/bots/doc-bot/limits");
    let both = json!({"rate_per_sec": 5.0, "burst": 10});
    d.call(Method::PUT, limits, at, Some(both), 200).await;
    let half = json!({"rate_per_sec": 5.0, "burst": null});
    d.call(Method::PUT, limits, at, Some(half), 400).await;
    d.call(
        Method::DELETE,
        bot,
        "/api/v1/bots/doc-bot",
        none.clone(),
        204,
    )
    .await;
    d.call(
        Method::DELETE,
        bot,
        "/api/v1/bots/doc-bot",
        none.clone(),
        404,
    )
    .await;

    let (sources, source) = ("/api/v1/sources", "/api/v1/sources/{name}");
    let add = json!({"name": "doc-src", "scheme": "github"});
    d.call(Method::POST, sources, sources, Some(add.clone()), 201)
        .await;
    d.call(Method::POST, sources, sources, Some(add), 409).await;
    let bad = json!({"name": "other", "scheme": "carrier-pigeon"});
    d.call(Method::POST, sources, sources, Some(bad), 400).await;
    d.call(Method::GET, sources, sources, none.clone(), 200)
        .await;
    let rotate = "/api/v1/sources/{name}/rotate";
    d.call(
        Method::POST,
        rotate,
        "/api/v1/sources/doc-src/rotate",
        none.clone(),
        200,
    )
    .await;
    d.call(
        Method::POST,
        rotate,
        "/api/v1/sources/nobody/rotate",
        none.clone(),
        404,
    )
    .await;
    d.call(
        Method::DELETE,
        source,
        "/api/v1/sources/doc-src",
        none.clone(),
        204,
    )
    .await;
    d.call(Method::DELETE, source, "/api/v1/sources/doc-src", none, 404)
        .await;

    // The guard's refusals: no credentials, and a cookie's change without its CSRF header.
    let resp = d.c.http.get(d.c.url("/api/v1/lanes")).send().await.unwrap();
    d.check("get", "/api/v1/lanes", resp).await;
    let signed = d.c.sign_in().await;
    let resp =
        d.c.with(&signed, Method::POST, bots)
            .json(&json!({"name": "x"}));
    let resp = resp.send().await.unwrap();
    assert_eq!(resp.status(), 403);
    d.check("post", bots, resp).await;

    let operations: BTreeSet<(String, String)> = d.doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            let methods = item.as_object().unwrap().keys();
            methods.map(|m| (m.clone(), path.clone()))
        })
        .collect();
    let unchecked: Vec<_> = operations.difference(&d.succeeded).collect();
    assert!(
        unchecked.is_empty(),
        "no success answer checked for {unchecked:?}"
    );
    app.stop().await;
}

fn one_path() -> &'static str {
    "/api/v1/dead-letters/{id}"
}

/// A dead letter from a bot and one from a source, put where the worker puts them.
async fn bury(app: &crate::common::TestApp) {
    let client = redis::Client::open(app.redis_url.as_str()).unwrap();
    let redis = client.get_connection_manager().await.unwrap();
    let letters = DeadLetters::new(redis, &app.prefix);
    let origins = [
        Origin::Telegram {
            bot: BOT.to_owned(),
            update_id: 7,
            chat: Some(42),
            user: None,
        },
        Origin::Signed {
            source: "gh".to_owned(),
            key: "delivery-1".to_owned(),
            rate_key: None,
        },
    ];
    let now = chrono::Utc::now().timestamp_millis();
    for (origin, id) in origins
        .into_iter()
        .zip(["doc-bot-letter", "doc-source-letter"])
    {
        let letter = DeadLetter {
            id: id.to_owned(),
            reason: "forward: 500".to_owned(),
            dead_at_ms: now,
            envelope: Job {
                origin,
                kind: "message".to_owned(),
                lane: Lane::Normal,
                received_at_ms: now - 5_000,
                payload: RawValue::from_string(r#"{"update_id":7}"#.to_owned()).unwrap(),
                attempt: 2,
                traceparent: None,
            },
        };
        letters.put(&letter).await.unwrap();
    }
}

/// A bearer client that checks each answer against the document.
struct Documented {
    c: Console,
    doc: Value,
    /// Operations whose 2xx answer was checked.
    succeeded: BTreeSet<(String, String)>,
}

impl Documented {
    fn new(c: Console) -> Documented {
        let doc = serde_json::to_value(sluice_console::openapi::document()).unwrap();
        Documented {
            c,
            doc,
            succeeded: BTreeSet::new(),
        }
    }

    /// `method path` (an instance of `template`) with `body`, expecting `status`.
    async fn call(
        &mut self,
        method: Method,
        template: &str,
        path: &str,
        body: Option<Value>,
        status: u16,
    ) {
        let resp = self.c.api(method.clone(), path, body).await;
        assert_eq!(resp.status(), status, "{method} {path}");
        let method = method.as_str().to_lowercase();
        if resp.status().is_success() {
            self.succeeded.insert((method.clone(), template.to_owned()));
        }
        self.check(&method, template, resp).await;
    }

    /// The answer's status is documented for the operation, and its body fits the schema.
    async fn check(&self, method: &str, template: &str, resp: reqwest::Response) {
        let status = resp.status().as_u16();
        let what = format!("{method} {template} {status}");
        let mut documented = &self.doc["paths"][template][method]["responses"][status.to_string()];
        if let Some(r) = documented["$ref"].as_str() {
            let name = r.rsplit('/').next().unwrap();
            documented = &self.doc["components"]["responses"][name];
        }
        assert!(documented.is_object(), "{what} is not documented");
        let text = resp.text().await.unwrap();
        let content = &documented["content"]["application/json"];
        let Some(schema) = content["schema"].as_object() else {
            assert!(
                content.is_object() || text.is_empty(),
                "{what}: a body not documented"
            );
            return;
        };
        // The schema's $refs point into the document's components: give it them.
        let mut schema = Value::Object(schema.clone());
        schema["components"] = self.doc["components"].clone();
        let validator = jsonschema::draft202012::new(&schema).unwrap();
        let body: Value = serde_json::from_str(&text).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&body)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{what}: {errors:?} in {text}");
    }
}
