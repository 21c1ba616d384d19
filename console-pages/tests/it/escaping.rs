//! Every string a view model carries is escaped: a page filled with `<script>` and quote-breaking
//! values still has only our own script and no event-handler attribute, and shows the text as is.

use scraper::{Html, Selector};
use sluice_console_pages::{
    Flash, FlashKind, PageContext,
    bots::{OneTimeSecret, Subject, render_bots},
    dead_letter::{ConfirmView, render_confirm, render_dead_letter},
    dead_letters::{Origin, render_dead_letters},
    lanes::render_lanes,
    query::{Action, ConfirmQuery},
    query::{DeadLetterFilter, DeadLettersQuery},
    workers::render_workers,
};

use crate::fixtures::{self, HOSTILE, ctx};

fn hostile_filter() -> DeadLetterFilter {
    let h = || Some(HOSTILE.to_owned());
    DeadLetterFilter {
        lane: h(),
        origin: h(),
        reason: h(),
        since: h(),
        until: h(),
    }
}

fn hostile_ctx() -> PageContext {
    PageContext {
        flash: Some(Flash {
            kind: FlashKind::Error,
            text: HOSTILE.into(),
        }),
        ..ctx()
    }
}

/// Only our one `<script src>`, no attribute a value could have opened, and `HOSTILE` visible.
fn assert_inert(page: &str, html: String) {
    assert!(!html.contains("<script>alert"), "{page}: raw script");
    assert!(
        !html.contains("\" onmouseover=\"alert"),
        "{page}: attribute broken out of"
    );
    let doc = Html::parse_document(&html);
    let scripts: Vec<_> = doc.select(&Selector::parse("script").unwrap()).collect();
    assert_eq!(scripts.len(), 1, "{page}");
    assert!(scripts[0].attr("src").unwrap().starts_with("/assets/htmx-"));
    for el in doc.select(&Selector::parse("*").unwrap()) {
        for (name, _) in el.value().attrs() {
            assert!(!name.starts_with("on"), "{page}: event attribute {name}");
        }
    }
    let text: String = doc.root_element().text().collect();
    assert!(
        text.contains(r#"<script>alert("x")</script>"#),
        "{page}: the text is shown as text"
    );
}

#[test]
fn lanes_escape_lane_names_and_admission_keys() {
    let mut view = fixtures::lanes(1);
    view.lanes[0].name = HOSTILE.into();
    let adm = view.admission.as_mut().unwrap();
    adm.decisions[0].outcome = HOSTILE.into();
    adm.most_limited[0].key = HOSTILE.into();
    assert_inert("lanes", render_lanes(&hostile_ctx(), &view).into_string());
}

#[test]
fn dead_letters_escape_filter_values_rows_and_links() {
    let mut view = fixtures::dead_letters(DeadLettersQuery {
        filter: hostile_filter(),
        cursor: Some(HOSTILE.into()),
    });
    view.lanes.push(HOSTILE.into());
    view.next_cursor = Some(HOSTILE.into());
    view.rows = fixtures::dead_letter_rows();
    let row = &mut view.rows[0];
    row.id = HOSTILE.into();
    row.reason = HOSTILE.into();
    row.kind = HOSTILE.into();
    row.origin = Origin::Source {
        name: HOSTILE.into(),
        key: HOSTILE.into(),
    };
    let html = render_dead_letters(&hostile_ctx(), &view).into_string();
    assert!(
        html.contains("/dead-letters/%3Cscript%3Ealert"),
        "the id is percent-encoded in its link"
    );
    assert_inert("dead letters", html);
}

#[test]
fn one_letter_escapes_its_payload_reason_and_attempts() {
    let mut view = fixtures::dead_letter();
    view.id = HOSTILE.into();
    view.reason = HOSTILE.into();
    view.payload = format!("{{\"text\": {}}}", serde_json::to_string(HOSTILE).unwrap());
    view.attempts[0].error = HOSTILE.into();
    view.origin = Origin::Bot {
        name: HOSTILE.into(),
        update_id: 1,
    };
    assert_inert(
        "dead letter",
        render_dead_letter(&hostile_ctx(), &view).into_string(),
    );
    view.payload = HOSTILE.into();
    assert_inert(
        "dead letter, not JSON",
        render_dead_letter(&hostile_ctx(), &view).into_string(),
    );
}

#[test]
fn confirmation_escapes_hidden_fields() {
    for id in [None, Some(HOSTILE.to_owned())] {
        let query = ConfirmQuery {
            action: Action::Replay,
            id,
            filter: hostile_filter(),
        };
        let html = render_confirm(&hostile_ctx(), &ConfirmView { query, count: 3 }).into_string();
        let doc = Html::parse_document(&html);
        let lane = doc
            .select(&Selector::parse("#confirm-form input[name=lane]").unwrap())
            .next()
            .unwrap();
        assert_eq!(
            lane.attr("value"),
            Some(HOSTILE),
            "the value survives the round trip"
        );
        assert_inert("confirm", html);
    }
}

#[test]
fn bots_escape_names_and_the_secret() {
    let mut view = fixtures::bots();
    view.bots[0].name = HOSTILE.into();
    view.sources[0].name = HOSTILE.into();
    view.sources[0].scheme = HOSTILE.into();
    view.confirm_remove = Some(Subject::Source(HOSTILE.into()));
    let secret = OneTimeSecret::new(Subject::Bot(HOSTILE.into()), HOSTILE.into());
    let html = render_bots(&hostile_ctx(), &view, Some(secret)).into_string();
    assert!(html.contains("/bots?remove_bot=%3Cscript%3Ealert"));
    assert_inert("bots", html);
}

#[test]
fn workers_escape_names_and_hosts() {
    let mut view = fixtures::workers();
    view.workers[0].name = HOSTILE.into();
    view.workers[0].host = HOSTILE.into();
    view.workers[0].lane = HOSTILE.into();
    assert_inert(
        "workers",
        render_workers(&hostile_ctx(), &view).into_string(),
    );
}
