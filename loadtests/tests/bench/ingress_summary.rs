//! The ingress summary: its JSON shape is the old script's, its figures are what the old
//! script's jq computed from the same phase measurements, and its printed form is the same.

use sluice_loadtests::bench::ingress::measure::{Phase, PhaseRun, Readings};
use sluice_loadtests::bench::ingress::print::render;
use sluice_loadtests::bench::ingress::summary::{DrainPhase, Summary};
use sluice_loadtests::bench::ingress::{SummaryInput, assemble};
use sluice_loadtests::bench::wrk::BenchLine;

use crate::{assert_json_close, fixture, fixture_json};

fn old_summary() -> serde_json::Value {
    fixture_json("ingress/summary.json")
}

/// The old run's inputs: its phase files (whose shape `Phase` must read without loss).
fn old_input() -> SummaryInput {
    let old = old_summary();
    let phase = |p: &str| -> Phase { fixture_json(&format!("ingress/phase-{p}.json")) };
    let idle_mb = old["api_rss_mb"]["idle"].as_f64().unwrap();
    SummaryInput {
        timestamp: old["timestamp"].as_str().unwrap().to_owned(),
        queue_prefix: old["queue_prefix"].as_str().unwrap().to_owned(),
        machine: serde_json::from_value(old["machine"].clone()).unwrap(),
        rate_scope: "off".into(),
        shed: "high=off,normal=off,low=off".into(),
        rss_idle_kib: (idle_mb * 1024.0).round() as u64,
        phases: [phase("a"), phase("b"), phase("c"), phase("cref")],
        drain: fixture_json::<DrainPhase>("ingress/phase-d.json"),
    }
}

#[test]
fn the_summary_is_the_old_scripts_key_for_key_and_figure_for_figure() {
    let got = serde_json::to_value(assemble(&old_input())).unwrap();
    assert_json_close("summary", &got, &old_summary(), 1e-9);
}

#[test]
fn the_old_summary_reads_and_writes_back_unchanged() {
    let s: Summary = serde_json::from_value(old_summary()).unwrap();
    assert_json_close(
        "summary",
        &serde_json::to_value(&s).unwrap(),
        &old_summary(),
        0.0,
    );
    assert_eq!(s.ratio_b_over_a, 0.286);
}

#[test]
fn phase_files_keep_their_shape() {
    for p in ["a", "b", "c", "cref"] {
        let name = format!("ingress/phase-{p}.json");
        let phase: Phase = fixture_json(&name);
        let back = serde_json::to_value(&phase).unwrap();
        assert_json_close(&name, &back, &fixture_json(&name), 0.0);
    }
}

#[test]
fn other_cpu_is_what_the_benchmark_did_not_use() {
    let wrk: BenchLine = serde_json::from_value(
        fixture_json::<serde_json::Value>("ingress/phase-b.json")["wrk"].clone(),
    )
    .unwrap();
    let before = Readings {
        process_cpu_s: 10.0,
        redis_cpu_s: 1.0,
        machine_busy_s: 100.0,
        children_cpu_s: 2.0,
        backlog: 500,
        redis_used_memory: 1_000_000,
    };
    let after = Readings {
        process_cpu_s: 12.82,
        redis_cpu_s: 1.35,
        machine_busy_s: 105.9,
        children_cpu_s: 2.343,
        backlog: 7967,
        redis_used_memory: 12_581_000,
    };
    let run = PhaseRun {
        wrk_command: "wrk".into(),
        target_rps: 0,
        wrk,
        busy_percent_before: 3,
        rss_max_kib: 21_924,
        redis_commands: Default::default(),
    };
    let p = Phase::new(run, &before, &after);
    assert_eq!(
        (
            p.process_cpu_s,
            p.redis_cpu_s,
            p.wrk_cpu_s,
            p.machine_busy_cpu_s
        ),
        (2.82, 0.35, 0.343, 5.9)
    );
    assert_eq!(p.other_cpu_s, 2.39);
    assert_eq!(
        (p.jobs_queued, p.redis_used_memory_delta_bytes),
        (7467, 11_581_000)
    );
    assert_eq!(
        p.brief(),
        "2450 req/s  p50 25.04 ms  p99 60.85 ms  non-2xx 0"
    );
}

#[test]
fn figures_without_a_denominator_are_null() {
    let mut input = old_input();
    input.phases[0].wrk.requests = 0;
    input.phases[1].jobs_queued = 0;
    let s = assemble(&input);
    assert_eq!(s.reference.cpu_ms_per_1k_requests, None);
    assert_eq!(s.where_the_time_goes.b.redis_bytes_per_job, None);
    let json = serde_json::to_value(&s).unwrap();
    assert!(json["reference"]["cpu_ms_per_1k_requests"].is_null());
}

/// The printed block of the old run, line for line (Redis calls per request are listed in name
/// order now; the old script's order was awk's hash order, so that line compares as a set).
#[test]
fn the_printed_summary_is_the_old_scripts() {
    let s: Summary = serde_json::from_value(old_summary()).unwrap();
    let stdout = fixture("ingress/stdout.txt");
    let old: Vec<&str> = stdout
        .lines()
        .skip_while(|l| !l.starts_with("== sluice ingress"))
        .take_while(|l| !l.starts_with("==> "))
        .collect();
    let json = old
        .last()
        .unwrap()
        .trim_start_matches("JSON             : ");
    let printed = render(&s, std::path::Path::new(json));
    let new: Vec<&str> = printed.lines().skip(1).collect();
    assert_eq!(new.len(), old.len());
    for (n, o) in new.iter().zip(&old) {
        if o.starts_with("Redis calls/req") {
            let set = |l: &str| {
                let mut v: Vec<String> = l[19..].split(", ").map(str::to_owned).collect();
                v.sort();
                v
            };
            assert_eq!(set(n), set(o));
        } else {
            assert_eq!(n, o);
        }
    }
    assert!(printed.contains("ratio b/a    : 0.286   (target >= 0.25: ok)"));
}
