use super::*;

fn fixture() -> serde_json::Value {
    serde_json::from_str(include_str!(
        "../../../../tests/fixtures/drain/summary.json"
    ))
    .unwrap()
}

/// Readings that reproduce the captured run's one-worker drain (times relative to t0 = 1000).
fn captured_readings() -> Readings {
    let want = &fixture()["drain"]["workers_1"];
    Readings {
        workers: 1,
        backlog: 5000,
        end: End::Done,
        t0: 1000.0,
        stats: DrainStats {
            rows: 5000,
            distinct: 5000,
            first: 1000.1,
            last: 1002.36095,
            p10: 1000.3,
            p90: 1000.3 + 1.83579,
        },
        left_in_queue: 0,
        expositions: vec![include_str!("../../../../tests/fixtures/drain/metrics-w1-0.txt").into()],
        worker_cpu_s: 1.29,
        redis_cpu_s: 0.167,
        rss_max_kib: 22426,
        slow_statements: 0,
        push: serde_json::from_value(want["push"].clone()).unwrap(),
        machine: serde_json::from_value(want["machine"].clone()).unwrap(),
    }
}

#[test]
fn the_figures_of_the_captured_drain() {
    let want: DrainFigures =
        serde_json::from_value(fixture()["drain"]["workers_1"].clone()).unwrap();
    assert_eq!(DrainFigures::of(captured_readings()), want);
}

#[test]
fn a_drain_that_did_not_finish_has_no_whole_rate() {
    let mut r = captured_readings();
    r.end = End::Stalled;
    r.stats.rows = 4000;
    let f = DrainFigures::of(r);
    assert_eq!(f.updates_per_s, 0.0);
    assert_eq!(f.jobs.done_beyond_rows, 1000);
    assert!(f.updates_per_s_middle_80 > 0.0);
}

#[test]
fn no_rows_no_per_update_figures() {
    let mut r = captured_readings();
    r.stats = DrainStats {
        rows: 0,
        distinct: 0,
        first: 0.0,
        last: 0.0,
        p10: 0.0,
        p90: 0.0,
    };
    r.expositions.clear();
    let f = DrainFigures::of(r);
    assert_eq!(f.worker_cpu_ms_per_1k, None);
    assert_eq!(f.mean_insert_batch_rows, None);
    assert_eq!(f.updates_per_s_middle_80, 0.0);
    assert_eq!(serde_json::to_value(&f).unwrap()["end"], "done");
}
