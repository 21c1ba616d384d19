use std::collections::BTreeMap;

use super::figures::*;

fn fixture() -> serde_json::Value {
    serde_json::from_str(include_str!(
        "../../../../tests/fixtures/drain/summary.json"
    ))
    .unwrap()
}

fn from<T: serde::de::DeserializeOwned>(v: &serde_json::Value) -> T {
    serde_json::from_value(v.clone()).unwrap()
}

/// The captured run's raw readings: its samples and wrk output, and the Redis figures it read.
fn captured_readings() -> Readings {
    let e = &fixture()["endurance"];
    let info = &e["info_memory"];
    let info: Three<BTreeMap<String, u64>> = Three {
        before: from(&info["before"]),
        after: from(&info["after"]),
        dropped: from(&info["after_dropping_idempotency_keys"]),
    };
    Readings {
        command: from(&e["command"]),
        redis: "private".into(),
        scrape: true,
        slow_statements: 0,
        samples: Sample::parse_tsv(include_str!(
            "../../../../tests/fixtures/drain/endurance.tsv"
        )),
        wrk: WrkLine::find(include_str!(
            "../../../../tests/fixtures/drain/wrk-endurance.txt"
        ))
        .unwrap(),
        rows: 1004,
        used_memory: Three {
            before: info.before["used_memory"],
            after: info.after["used_memory"],
            dropped: info.dropped["used_memory"],
        },
        dbsize: Three {
            before: 7,
            after: 2015,
            dropped: 1011,
        },
        info_memory: info,
        keys_before: from(&e["keys_before"]),
        keys_left: from(&e["keys_left_after_dropping_idempotency_keys"]),
        idempotency_keys: 1004,
        key_bytes: 168,
        ttl_left_s: 89970,
        bookkeeping: from(&e["finished_job_bookkeeping_left"]),
        machine: from(&e["machine"]),
    }
}

#[test]
fn the_figures_of_the_captured_run() {
    let want: EnduranceFigures = from(&fixture()["endurance"]);
    assert_eq!(EnduranceFigures::of(captured_readings()), want);
}

#[test]
fn samples_round_trip_through_the_tsv() {
    let text = include_str!("../../../../tests/fixtures/drain/endurance.tsv");
    let samples = Sample::parse_tsv(text);
    assert_eq!(samples.len(), 6);
    assert_eq!(samples[2].used_memory, 2296144);
    let again: Vec<Sample> = Sample::parse_tsv(&format!(
        "{TSV_HEADER}\n{}",
        samples
            .iter()
            .map(Sample::tsv)
            .collect::<Vec<_>>()
            .join("\n")
    ));
    assert_eq!(again, samples);
}

#[test]
fn no_accepted_update_no_growth_per_update() {
    let mut r = captured_readings();
    r.wrk.non_2xx_3xx = r.wrk.requests;
    r.rows = 0;
    let f = EnduranceFigures::of(r);
    assert_eq!(
        (f.accepted, f.lost, f.growth_bytes_per_update),
        (0, 0, None)
    );
}

#[test]
fn wrk_output_without_the_bench_line_has_no_summary() {
    assert!(WrkLine::find("Running 20s test @ http://x\n").is_none());
}
