//! The traffic model has one source, `loadtests/src/traffic`; k6 and wrk read what
//! `sluice-load traffic export` renders from it. These tests fail when either side is edited
//! alone: the checked-in fixtures must be exactly what the model renders now, and the bodies the
//! k6 library (run with node) and the benches' wrk scripts (run with luajit) send must be valid
//! Bot API updates that sluice classifies as the model says, in the model's proportions.

#[path = "traffic/shape.rs"]
mod shape;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use rand::{SeedableRng, rngs::StdRng};
use serde::Deserialize;
use sluice_loadtests::traffic::export::{self, REGENERATE};
use sluice_loadtests::traffic::streams::{self, BEHAVIOURS};
use sluice_loadtests::traffic::{BotCred, Kind, Population, kind};
use sluice_shared::lanes::{Lane, LaneRules};
use sluice_shared::telegram::classify;

fn loadtests_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn checked_in_fixtures_are_what_the_model_renders() {
    let tmp = std::env::temp_dir().join(format!("sluice-traffic-export-{}", std::process::id()));
    std::fs::create_dir_all(tmp.join("k6/lib")).unwrap();
    std::fs::create_dir_all(tmp.join("bench")).unwrap();
    let written = export::write(&tmp).unwrap();
    assert_eq!(written.len(), 2, "{written:?}");
    for path in written {
        let rel = path.strip_prefix(&tmp).unwrap();
        let fresh = std::fs::read_to_string(&path).unwrap();
        let checked_in = std::fs::read_to_string(loadtests_dir().join(rel)).unwrap_or_default();
        assert!(
            fresh == checked_in,
            "loadtests/{} is not what the traffic model renders (edited by hand, or the model \
             changed without it): regenerate it with `{REGENERATE}` and commit the result",
            rel.display()
        );
        assert!(
            fresh.contains("do not edit"),
            "{} has no header",
            rel.display()
        );
    }
    std::fs::remove_dir_all(&tmp).unwrap();
}

#[test]
fn every_kind_goes_where_the_model_says() {
    let pop = export::population();
    let mut rng = StdRng::seed_from_u64(5);
    let mut seen = std::collections::BTreeSet::new();
    for rank in 0..300 {
        let chat = pop.chat(0, rank, &mut rng);
        for (kind, _) in kind::mix(chat) {
            let u = pop.render(0, 77, chat, *kind, export::DATE, &mut rng);
            let found = classify(u.body.as_bytes()).unwrap();
            assert_eq!(found.kind, kind.field(), "{kind:?}");
            assert_eq!(
                (found.chat_id, found.user_id),
                (Some(chat.id()), chat.user())
            );
            let lane = LaneRules::default().lane_for(&found.kind, found.is_command);
            assert_eq!(lane, kind.lane(), "{kind:?} in {chat:?}");
            assert_eq!(shape::problems(&u.body), Vec::<String>::new(), "{}", u.body);
            seen.insert(*kind);
        }
    }
    assert_eq!(seen.len(), Kind::ALL.len(), "kinds never made: {seen:?}");
}

/// One update as the k6 library made it (tests/traffic/k6.mjs).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Sent {
    part: String,
    bot: String,
    kind: String,
    sort: String,
    lane: String,
    chat_id: Option<i64>,
    user_id: Option<i64>,
    behaviour: Option<String>,
    body: String,
}

#[test]
fn the_k6_library_sends_the_models_updates() {
    let model = loadtests_dir().join(export::JSON_PATH);
    let expected = model_kind_shares();
    for seed in [1, 2, 3] {
        let out = tool_output(
            "nodejs",
            Command::new("node")
                .arg(loadtests_dir().join("tests/traffic/k6.mjs"))
                .arg(&model)
                .arg(seed.to_string())
                .arg("3000"),
        );
        let sent: Vec<Sent> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        for s in &sent {
            agrees_with_model(s);
        }
        let part = |name: &'static str| sent.iter().filter(move |s| s.part == name);
        let sorts = shares(part("mixed").map(|s| s.sort.clone()));
        close_to(
            &sorts,
            &expected,
            0.05,
            &format!("k6 mixed kinds, seed {seed}"),
        );
        let lanes = shares(part("mixed").map(|s| s.lane.clone()));
        close_to(&lanes, &model_lane_shares(), 0.05, "k6 lanes");
        let bots = shares(part("mixed").map(|s| s.bot.clone()));
        let top = bots.get("load-test-0").copied().unwrap_or(0.0);
        assert!(
            (top - top_bot_share(50)).abs() < 0.03,
            "k6's busiest bot gets {top:.3}, the model's {:.3}",
            top_bot_share(50)
        );
        for (i, s) in part("quiet").enumerate() {
            assert_eq!(s.chat_id, Some(streams::quiet_chat(i as u32).id()));
            assert_eq!(s.sort, streams::QUIET_KIND.name());
        }
        for s in part("flooding") {
            assert_eq!(s.chat_id, Some(streams::FLOOD_CHAT.id()));
            assert_eq!(s.sort, streams::FLOOD_KIND.name());
        }
        let behaviours = shares(part("people").map(|s| s.behaviour.clone().unwrap()));
        let model: BTreeMap<String, f64> = BEHAVIOURS
            .iter()
            .map(|(b, pct)| (b.name().to_owned(), f64::from(*pct) / 100.0))
            .collect();
        close_to(&behaviours, &model, 0.06, "k6 users' behaviours");
    }
}

/// The k6 library's account of an update agrees with the model and with sluice's classification
/// of its body.
fn agrees_with_model(s: &Sent) {
    let kind = Kind::ALL
        .into_iter()
        .find(|k| k.name() == s.sort)
        .unwrap_or_else(|| panic!("{} is no kind of the model", s.sort));
    let found = classify(s.body.as_bytes()).unwrap_or_else(|e| panic!("{e}: {}", s.body));
    assert_eq!(found.kind, s.kind, "{}", s.body);
    assert_eq!(found.kind, kind.field(), "{}", s.body);
    assert_eq!(s.lane, kind.lane().as_str());
    let lane = LaneRules::default().lane_for(&found.kind, found.is_command);
    assert_eq!(lane, kind.lane(), "{}", s.body);
    assert_eq!((found.chat_id, found.user_id), (s.chat_id, s.user_id));
    assert_eq!(shape::problems(&s.body), Vec::<String>::new(), "{}", s.body);
}

#[test]
fn the_wrk_scripts_send_the_models_updates() {
    let expected_lanes = model_lane_shares();
    let mut expected_fields: BTreeMap<String, f64> = BTreeMap::new();
    for (kind, share) in model_kind_shares() {
        let kind = Kind::ALL.into_iter().find(|k| k.name() == kind).unwrap();
        *expected_fields.entry(kind.field().to_owned()).or_default() += share;
    }
    for script in ["bench/ingress/update.lua", "bench/admission/update.lua"] {
        for seed in [1, 2] {
            let out = tool_output(
                "luajit",
                Command::new("luajit")
                    .arg(loadtests_dir().join("tests/traffic/wrk.lua"))
                    .arg(loadtests_dir().join(script))
                    .arg("3000")
                    .arg(seed.to_string())
                    .env("BENCH_SECRET", "test"),
            );
            let mut ids = std::collections::HashSet::new();
            let (mut fields, mut lanes) = (Vec::new(), Vec::new());
            for body in out.lines() {
                let found = classify(body.as_bytes()).unwrap_or_else(|e| panic!("{e}: {body}"));
                assert!(
                    ids.insert(found.update_id),
                    "{script} repeated an update_id"
                );
                assert_eq!(shape::problems(body), Vec::<String>::new(), "{body}");
                let lane = LaneRules::default().lane_for(&found.kind, found.is_command);
                lanes.push(lane.as_str().to_owned());
                fields.push(found.kind);
            }
            assert_eq!(ids.len(), 3000, "{script}");
            let what = format!("{script}, seed {seed}");
            close_to(&shares(fields), &expected_fields, 0.05, &what);
            close_to(&shares(lanes), &expected_lanes, 0.05, &what);
        }
    }
}

/// The model's own proportions of kinds: a large sample of the export's population.
fn model_kind_shares() -> BTreeMap<String, f64> {
    let pop = export::population();
    let mut rng = StdRng::seed_from_u64(99);
    shares((0..100_000).map(|_| {
        let chat = pop.pick_chat(0, &mut rng);
        Population::pick_kind(chat, &mut rng).name().to_owned()
    }))
}

fn model_lane_shares() -> BTreeMap<String, f64> {
    let mut lanes: BTreeMap<String, f64> = Lane::ALL
        .iter()
        .map(|l| (l.as_str().to_owned(), 0.0))
        .collect();
    for (kind, share) in model_kind_shares() {
        let kind = Kind::ALL.into_iter().find(|k| k.name() == kind).unwrap();
        *lanes.get_mut(kind.lane().as_str()).unwrap() += share;
    }
    lanes
}

/// The busiest bot's share of the model's traffic over `n` bots.
fn top_bot_share(n: usize) -> f64 {
    let bots = (0..n)
        .map(|i| BotCred {
            name: format!("b{i}"),
            secret: "s".into(),
        })
        .collect();
    let pop = Population::new(bots, 10, &mut StdRng::seed_from_u64(3));
    let mut rng = StdRng::seed_from_u64(4);
    let draws = 100_000;
    (0..draws).filter(|_| pop.pick_bot(&mut rng) == 0).count() as f64 / draws as f64
}

fn shares(items: impl IntoIterator<Item = String>) -> BTreeMap<String, f64> {
    let mut counts: BTreeMap<String, f64> = BTreeMap::new();
    let mut total = 0.0;
    for item in items {
        *counts.entry(item).or_default() += 1.0;
        total += 1.0;
    }
    counts.values_mut().for_each(|c| *c /= total);
    counts
}

/// Every share within `tolerance` (absolute) of the expected one, and nothing unexpected.
fn close_to(
    got: &BTreeMap<String, f64>,
    expected: &BTreeMap<String, f64>,
    tolerance: f64,
    what: &str,
) {
    for (key, share) in got {
        assert!(
            expected.contains_key(key),
            "{what}: {key} is not in the model"
        );
        let want = expected[key];
        assert!(
            (share - want).abs() <= tolerance,
            "{what}: {key} is {share:.3} of the traffic, the model's {want:.3}\n got {got:?}\n model {expected:?}"
        );
    }
    for (key, want) in expected {
        assert!(
            *want < tolerance || got.contains_key(key),
            "{what}: {key} ({want:.3} in the model) never sent"
        );
    }
}

/// The standard output of a tool the test needs (node, luajit: scripts/test installs both).
fn tool_output(package: &str, command: &mut Command) -> String {
    let name = command.get_program().to_string_lossy().into_owned();
    let out = command.output().unwrap_or_else(|e| {
        panic!("{name} is needed for this test ({e}); scripts/test installs it (apt-get install {package})")
    });
    assert!(
        out.status.success(),
        "{name} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}
