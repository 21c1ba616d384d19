//! Reading wrk's output: the ingress script's @@bench line and wrk's own summary.

use sluice_loadtests::bench::knobs::WrkDuration;
use sluice_loadtests::bench::wrk::{
    BenchLine, HumanSummary, Wrk, WrkOutputError, WrkRun, latency_ms,
};

use crate::{fixture, fixture_json};

#[test]
fn the_bench_line_is_the_phase_jsons_wrk_figures() {
    let line = BenchLine::parse(&fixture("ingress/wrk-b.txt")).unwrap();
    let phase: serde_json::Value = fixture_json("ingress/phase-b.json");
    let want: BenchLine = serde_json::from_value(phase["wrk"].clone()).unwrap();
    assert_eq!(line, want);
    assert_eq!(line.requests, 7420);
    assert_eq!(line.lat_us.p99, 60847);
    assert_eq!(line.ok(), 7420);
    assert_eq!(line.socket_errors.total(), 0);
}

#[test]
fn a_run_without_the_bench_line_is_an_error() {
    let text = fixture("admission/wrk-off-1.txt");
    assert_eq!(BenchLine::parse(&text), Err(WrkOutputError::NoBenchLine));
    let broken = "Running 1s test\n@@bench {\"requests\":12}\n";
    assert!(matches!(
        BenchLine::parse(broken),
        Err(WrkOutputError::BadBenchLine(_))
    ));
}

#[test]
fn wrks_own_summary_gives_rate_percentiles_and_non_2xx() {
    let s = HumanSummary::parse(&fixture("admission/wrk-off-1.txt")).unwrap();
    assert_eq!(
        s,
        HumanSummary {
            rps: "2432.24".into(),
            p50: "25.24ms".into(),
            p99: "49.58ms".into(),
            non_2xx: 0
        }
    );
    assert_eq!(s.rps_value(), 2432.24);
}

#[test]
fn non_2xx_answers_and_microsecond_latencies_are_read() {
    let text = "  Latency Distribution\n     50%  850.12us\n     75%    1.20ms\n     99%    1.02s \n\
        3012 requests in 1.00s, 450.12KB read\n  Socket errors: connect 0, read 3, write 0, timeout 0\n\
        \x20 Non-2xx or 3xx responses: 12\nRequests/sec:   3011.50\n";
    let s = HumanSummary::parse(text).unwrap();
    assert_eq!(
        (s.p50.as_str(), s.p99.as_str(), s.non_2xx),
        ("850.12us", "1.02s", 12)
    );
    assert_eq!(s.rps, "3011.50");
}

#[test]
fn a_summary_without_its_figures_names_what_is_missing() {
    let no_rate = "  Latency Distribution\n     50%  1ms\n     99%  2ms\n";
    assert_eq!(
        HumanSummary::parse(no_rate),
        Err(WrkOutputError::Missing("Requests/sec:"))
    );
    let no_latency = "Requests/sec:   3011.50\n";
    assert_eq!(
        HumanSummary::parse(no_latency),
        Err(WrkOutputError::Missing("50%"))
    );
    let bad = "Requests/sec: fast\n     50%  1ms\n     99%  2ms\n";
    assert_eq!(
        HumanSummary::parse(bad),
        Err(WrkOutputError::BadNumber("fast".into()))
    );
}

#[test]
fn latencies_in_every_unit_wrk_prints() {
    let close = |text: &str, ms: f64| {
        let got = latency_ms(text).unwrap();
        assert!((got - ms).abs() < 1e-9, "{text}: {got}");
    };
    close("850.12us", 0.85012);
    close("2.31ms", 2.31);
    close("1.02s", 1020.0);
    close("1.50m", 90_000.0);
    close("7", 7.0);
    assert_eq!(
        latency_ms("soon"),
        Err(WrkOutputError::BadLatency("soon".into()))
    );
}

#[test]
fn the_command_line_names_the_script_as_run_in_its_folder() {
    let wrk = Wrk {
        threads: 2,
        connections: 64,
        script: "/repo/loadtests/bench/ingress/update.lua".into(),
    };
    let run = WrkRun {
        url: "http://127.0.0.1:18081/webhook/telegram/bench".into(),
        duration: "15s".parse::<WrkDuration>().unwrap(),
        latency: true,
        env: vec![],
    };
    assert_eq!(
        wrk.command_line(&run),
        "wrk -t2 -c64 -d15s --latency -s update.lua http://127.0.0.1:18081/webhook/telegram/bench"
    );
    let quiet = WrkRun {
        latency: false,
        duration: WrkDuration::from_secs(2),
        ..run
    };
    assert_eq!(
        wrk.command_line(&quiet),
        "wrk -t2 -c64 -d2s -s update.lua http://127.0.0.1:18081/webhook/telegram/bench"
    );
}
