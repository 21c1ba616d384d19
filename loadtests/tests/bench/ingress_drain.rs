//! Phase (d)'s figures from its samples, and the backlog's top-up and trimming arithmetic.

use std::collections::BTreeMap;

use sluice_loadtests::bench::ingress::drain_stats::{
    Attempt, DrainEnd, DrainRecord, parse_samples_tsv, samples_tsv,
};
use sluice_loadtests::bench::ingress::{keep_per_lane, top_up_secs};
use sluice_loadtests::bench::redis_probe::CmdStats;

use crate::{assert_json_close, fixture, fixture_json};

/// The old script's drain of 3000 updates: its samples and commandstats give its attempt.
#[test]
fn the_attempt_from_the_samples_is_the_old_scripts() {
    let phase: serde_json::Value = fixture_json("ingress/phase-d.json");
    let want: Attempt = serde_json::from_value(phase["attempt"].clone()).unwrap();
    let before = CmdStats::parse(&fixture("ingress/cmdstats-d.before"));
    let after = CmdStats::parse(&fixture("ingress/cmdstats-d.after"));
    let record = DrainRecord {
        samples: parse_samples_tsv(&fixture("ingress/drain-d.tsv")),
        target: 3000,
        rows0: 0,
        end: DrainEnd::Done,
        worker_cpu_s: want.worker_cpu_s,
        redis_cpu_s: want.redis_cpu_s,
        redis_commands: after.since(&before),
    };
    let got = record.attempt();
    assert_json_close(
        "attempt",
        &serde_json::to_value(&got).unwrap(),
        &phase["attempt"],
        1e-9,
    );
    assert_eq!(
        (got.updates_per_s, got.updates_per_s_middle_80),
        (1074.5, 1317.5)
    );
}

fn record(samples: Vec<(f64, i64)>, end: DrainEnd) -> DrainRecord {
    DrainRecord {
        samples,
        target: 1000,
        rows0: 200,
        end,
        worker_cpu_s: 0.5,
        redis_cpu_s: 0.25,
        redis_commands: BTreeMap::new(),
    }
}

#[test]
fn the_middle_80_percent_is_interpolated_between_samples() {
    // 800 updates to drain from 200 rows on; 10 % (280) is crossed at 1.5 s, 90 % (920) at 4.5 s.
    let r = record(
        vec![
            (0.0, 200),
            (1.0, 240),
            (2.0, 320),
            (4.0, 880),
            (5.0, 960),
            (6.0, 1000),
        ],
        DrainEnd::Done,
    );
    let a = r.attempt();
    assert_eq!((a.backlog, a.rows, a.end), (800, 800, DrainEnd::Done));
    assert_eq!(a.first_row_after_s, 1.0);
    assert_eq!(a.updates_per_s, round1(800.0 / 6.0));
    assert_eq!(a.updates_per_s_middle_80, round1(640.0 / 3.0));
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

#[test]
fn a_stalled_drain_has_no_rate() {
    let a = record(vec![(0.0, 200), (0.5, 200), (31.0, 200)], DrainEnd::Stalled).attempt();
    assert_eq!((a.rows, a.first_row_after_s), (0, -1.0));
    assert_eq!((a.updates_per_s, a.updates_per_s_middle_80), (0.0, 0.0));
    assert_eq!(a.seconds, 31.0);
    let partly = record(vec![(0.0, 200), (1.0, 600), (31.0, 600)], DrainEnd::Timeout).attempt();
    assert_eq!((partly.rows, partly.updates_per_s), (400, 0.0));
    assert_eq!(
        partly.updates_per_s_middle_80, 0.0,
        "90 % was never reached"
    );
}

#[test]
fn samples_survive_their_file() {
    let text = fixture("ingress/drain-d.tsv");
    let samples = parse_samples_tsv(&text);
    assert_eq!(samples.len(), 5);
    assert_eq!(samples[1], (0.62, 1171));
    assert_eq!(samples_tsv(&samples), text);
}

#[test]
fn the_backlog_is_trimmed_in_proportion_to_exactly_its_size() {
    let keep = keep_per_lane([3_000, 10_500, 1_559], 15_559, 3_000);
    assert_eq!(keep.iter().sum::<u64>(), 3_000);
    assert_eq!(keep[0], 3_000 * 3_000 / 15_559);
    assert_eq!(keep[1], 10_500 * 3_000 / 15_559);
    // Nothing to trim: every lane keeps all.
    assert_eq!(keep_per_lane([10, 20, 30], 60, 60), [10, 20, 30]);
}

#[test]
fn a_top_up_posts_long_enough_with_room_to_spare() {
    assert_eq!(top_up_secs(10_000, 5_000), 4);
    assert_eq!(top_up_secs(100_000, 2_000), 59);
    assert_eq!(
        top_up_secs(1_000, 0),
        1_152,
        "no measured rate counts as 1/s"
    );
}
