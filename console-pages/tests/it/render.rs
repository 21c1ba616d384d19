//! Structure of each rendered page, read back with CSS selectors.

use scraper::{Html, Selector};
use sluice_console_pages::{
    assets,
    bots::{OneTimeSecret, Subject, render_bots},
    dead_letter::{ConfirmView, render_confirm, render_dead_letter},
    dead_letters::render_dead_letters,
    lanes::{render_lanes, render_lanes_live},
    login::{LoginError, LoginView, render_login},
    query::{Action, ConfirmQuery},
    query::{DeadLetterFilter, DeadLettersQuery},
    workers::render_workers,
};

use crate::fixtures::{self, CSRF, ctx};

fn parse(markup: maud::Markup) -> Html {
    Html::parse_document(&markup.into_string())
}

fn all<'a>(doc: &'a Html, css: &str) -> Vec<scraper::ElementRef<'a>> {
    doc.select(&Selector::parse(css).unwrap()).collect()
}

fn text(doc: &Html, css: &str) -> String {
    all(doc, css)
        .first()
        .unwrap_or_else(|| panic!("no {css}"))
        .text()
        .collect()
}

#[test]
fn login_has_one_password_field_posting_to_login_and_a_fixed_error() {
    let doc = parse(render_login(&LoginView {
        error: Some(LoginError::BadToken),
    }));
    let form = all(&doc, "form[method=post][action='/login']");
    assert_eq!(form.len(), 1);
    assert_eq!(all(&doc, "input[type=password][name=token]").len(), 1);
    assert!(
        all(&doc, "input[name=token][value]").is_empty(),
        "the token is never echoed"
    );
    assert_eq!(text(&doc, "[role=alert]"), "That token was not accepted.");
    assert!(all(&doc, "input[name=csrf_token]").is_empty());
    assert!(all(&doc, "nav").is_empty(), "no nav before signing in");
}

#[test]
fn every_page_links_the_hashed_assets_and_marks_its_nav_entry() {
    let pages = [
        (render_lanes(&ctx(), &fixtures::lanes(7)), "/lanes"),
        (
            render_dead_letters(&ctx(), &fixtures::dead_letters(Default::default())),
            "/dead-letters",
        ),
        (render_bots(&ctx(), &fixtures::bots(), None), "/bots"),
        (render_workers(&ctx(), &fixtures::workers()), "/workers"),
    ];
    for (markup, current) in pages {
        let doc = parse(markup);
        let script = all(&doc, "script[src]");
        assert_eq!(script[0].attr("src"), Some(assets::htmx().path.as_str()));
        assert_eq!(
            all(&doc, "link[rel=stylesheet]")[0].attr("href"),
            Some(assets::stylesheet().path.as_str())
        );
        assert_eq!(all(&doc, "script:not([src])").len(), 0, "no inline script");
        assert_eq!(all(&doc, "[style]").len(), 0, "no inline style");
        let active = all(&doc, "nav a[aria-current=page]");
        assert_eq!(active.len(), 1);
        assert_eq!(active[0].attr("href"), Some(current));
        let signout = all(&doc, "form[action='/logout'] input[name=csrf_token]");
        assert_eq!(signout[0].attr("value"), Some(CSRF));
    }
}

#[test]
fn lanes_show_numbers_per_state_charts_and_a_polling_fragment() {
    let doc = parse(render_lanes(&ctx(), &fixtures::lanes(1_234_567)));
    assert_eq!(
        text(&doc, "tr[data-lane=high] td[data-state=pending]"),
        "1,234,567"
    );
    assert_eq!(text(&doc, "tr[data-lane=normal] td[data-state=dead]"), "12");
    assert_eq!(all(&doc, "#lane-numbers tbody tr").len(), 3);
    // Two charts per lane, each with a line per series.
    assert_eq!(all(&doc, "section.lane-charts svg").len(), 6);
    assert_eq!(all(&doc, "section.lane-charts polyline").len(), 9);
    let live = all(&doc, "#lanes-live")[0];
    assert_eq!(live.attr("hx-get"), Some("/lanes/live"));
    assert_eq!(live.attr("hx-trigger"), Some("every 5s"));
    assert_eq!(live.attr("hx-swap"), Some("outerHTML"));
    assert!(text(&doc, ".admission").contains("limited_chat"));

    let fragment = Html::parse_fragment(&render_lanes_live(&fixtures::lanes(3)).into_string());
    let root: Vec<_> = fragment
        .select(&Selector::parse("#lanes-live").unwrap())
        .collect();
    assert_eq!(root.len(), 1, "the fragment is the element it replaces");
    assert!(
        fragment
            .select(&Selector::parse("nav, head").unwrap())
            .next()
            .is_none()
    );
}

#[test]
fn the_dead_letter_filter_is_a_get_form_echoing_its_values_and_pages_keep_it() {
    let query: DeadLettersQuery = serde_urlencoded::from_str(
        "lane=low&origin=support_bot&reason=timed+out&since=2026-12-03T12:00&until=&cursor=c1",
    )
    .unwrap();
    assert_eq!(query.filter.until, None, "blank is none");
    let mut view = fixtures::dead_letters(query);
    view.rows = fixtures::dead_letter_rows();
    let doc = parse(render_dead_letters(&ctx(), &view));
    let form = all(&doc, "form#dead-letter-filter")[0];
    assert_eq!(form.attr("method"), Some("get"));
    assert_eq!(
        all(&doc, "select[name=lane] option[selected]")[0].attr("value"),
        Some("low")
    );
    assert_eq!(
        all(&doc, "input[name=origin]")[0].attr("value"),
        Some("support_bot")
    );
    assert_eq!(
        all(&doc, "input[name=reason]")[0].attr("value"),
        Some("timed out")
    );
    assert_eq!(
        all(&doc, "input[name=since]")[0].attr("value"),
        Some("2026-12-03T12:00")
    );
    assert_eq!(all(&doc, "#dead-letters tbody tr").len(), 12);
    let next = all(&doc, "a[rel=next]")[0].attr("href").unwrap();
    assert_eq!(
        next,
        "/dead-letters?lane=low&origin=support_bot&reason=timed+out&since=2026-12-03T12%3A00&cursor=1733230000000-01JEX4T11K3Q8ZV5M2N7RB6WCYD"
    );
    let replay = all(&doc, "a[href^='/dead-letters/confirm?action=replay']");
    assert_eq!(replay.len(), 1);
    let confirm: ConfirmQuery =
        serde_urlencoded::from_str(replay[0].attr("href").unwrap().split_once('?').unwrap().1)
            .unwrap();
    assert_eq!(confirm.action, Action::Replay);
    assert_eq!(confirm.filter.origin.as_deref(), Some("support_bot"));
    assert_eq!(
        confirm
            .filter
            .time_range()
            .unwrap()
            .since
            .unwrap()
            .to_rfc3339(),
        "2026-12-03T12:00:00+00:00"
    );
}

#[test]
fn a_bad_time_in_the_filter_is_named() {
    let f = DeadLetterFilter {
        until: Some("yesterday".into()),
        ..Default::default()
    };
    assert_eq!(f.time_range().unwrap_err().0, "until");
}

#[test]
fn one_letter_shows_pretty_payload_attempts_and_links_to_confirmation() {
    let doc = parse(render_dead_letter(&ctx(), &fixtures::dead_letter()));
    let payload = text(&doc, "#payload");
    assert!(
        payload.starts_with("{\n  \"update_id\": 904112330,"),
        "{payload}"
    );
    assert_eq!(all(&doc, "#attempts tbody tr").len(), 8);
    assert_eq!(
        all(&doc, "a#replay")[0].attr("href"),
        Some("/dead-letters/confirm?action=replay&id=01JEX4T00K3Q8ZV5M2N7RB6WCYD")
    );
    assert!(
        all(&doc, "form[method=post][action^='/dead-letters/']").is_empty(),
        "no mutation without the count first"
    );
}

#[test]
fn confirmation_counts_first_then_posts_the_target_with_the_csrf_field() {
    let query = ConfirmQuery {
        action: Action::Purge,
        id: None,
        filter: DeadLetterFilter {
            lane: Some("low".into()),
            until: Some("2026-12-03T14:05:00".into()),
            ..Default::default()
        },
    };
    let doc = parse(render_confirm(
        &ctx(),
        &ConfirmView {
            query: query.clone(),
            count: 1_500,
        },
    ));
    assert_eq!(text(&doc, "#dry-run-count"), "1,500");
    let form = all(&doc, "form#confirm-form")[0];
    assert_eq!(form.attr("action"), Some("/dead-letters/purge"));
    assert_eq!(
        all(&doc, "#confirm-form input[name=csrf_token]")[0].attr("value"),
        Some(CSRF)
    );
    assert_eq!(
        all(&doc, "#confirm-form input[name=lane]")[0].attr("value"),
        Some("low")
    );
    assert_eq!(
        all(&doc, "#confirm-form input[name=until]")[0].attr("value"),
        Some("2026-12-03T14:05:00")
    );
    assert!(all(&doc, "#confirm-form input[name=origin]").is_empty());

    let none = parse(render_confirm(&ctx(), &ConfirmView { query, count: 0 }));
    assert!(
        all(&none, "form#confirm-form").is_empty(),
        "nothing to confirm"
    );
}

#[test]
fn bots_forms_post_with_csrf_and_removal_asks_first() {
    let mut view = fixtures::bots();
    view.confirm_remove = Some(Subject::Bot("alerts_bot".into()));
    let doc = parse(render_bots(&ctx(), &view, None));
    assert_eq!(all(&doc, "#bots tbody tr").len(), 3);
    assert_eq!(all(&doc, "#sources tbody tr").len(), 2);
    for form in all(&doc, "form[method=post]") {
        let csrf = form
            .select(&Selector::parse("input[name=csrf_token]").unwrap())
            .next();
        assert_eq!(
            csrf.and_then(|i| i.attr("value")),
            Some(CSRF),
            "{:?}",
            form.attr("action")
        );
    }
    assert_eq!(
        all(&doc, "tr[data-bot=support_bot] input[name=rate_per_sec]")[0].attr("value"),
        Some("30")
    );
    assert_eq!(
        all(&doc, "tr[data-bot=alerts_bot] input[name=burst]")[0].attr("value"),
        None
    );
    assert_eq!(
        all(
            &doc,
            "tr[data-bot=alerts_bot] a[href='/bots?remove_bot=alerts_bot']"
        )
        .len(),
        1
    );
    let confirm = all(&doc, "#confirm-remove form")[0];
    assert_eq!(confirm.attr("action"), Some("/bots/remove"));
    assert!(all(&doc, "#one-time").is_empty());
}

#[test]
fn a_rotated_secret_is_shown_in_its_box_and_secret_inputs_never_carry_a_value() {
    let secret = OneTimeSecret::new(Subject::Bot("support_bot".into()), "s3cr3t-Zq9".into());
    assert!(
        !format!("{secret:?}").contains("s3cr3t"),
        "Debug is redacted"
    );
    let html = render_bots(&ctx(), &fixtures::bots(), Some(secret)).into_string();
    assert_eq!(html.matches("s3cr3t-Zq9").count(), 1, "once, in its box");
    let doc = Html::parse_document(&html);
    assert_eq!(text(&doc, "#one-time-secret"), "s3cr3t-Zq9");
    for input in all(&doc, "input[type=password]") {
        assert_eq!(input.attr("value"), None);
        assert_eq!(input.attr("autocomplete"), Some("off"));
    }
}

#[test]
fn workers_flag_stale_heartbeats_and_sum_in_flight() {
    let doc = parse(render_workers(&ctx(), &fixtures::workers()));
    assert_eq!(all(&doc, "#workers tbody tr").len(), 6);
    let stale = all(&doc, "tr.stale");
    assert_eq!(stale.len(), 1);
    assert_eq!(
        stale[0].attr("data-worker"),
        Some("sluice-worker-0a4e-normal-1")
    );
    assert!(text(&doc, "p.meta").contains("40 jobs in flight"));
    assert_eq!(
        text(
            &doc,
            "tr[data-worker=sluice-worker-0a4e-normal-1] td:nth-child(5)"
        ),
        "1m 34s ago stale"
    );
}
