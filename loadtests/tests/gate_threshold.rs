//! Threshold syntax, slo.toml loading, and the committed k6 thresholds.

use std::path::{Path, PathBuf};

use sluice_loadtests::gate::{self, Op, Slo, SloError, Threshold};

fn manifest(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

#[test]
fn parses_every_operator_and_statistic() {
    let cases = [
        ("p(95)<300", "p(95)", Op::Lt, 300.0),
        ("rate<0.01", "rate", Op::Lt, 0.01),
        ("count<=2", "count", Op::Le, 2.0),
        ("value==0", "value", Op::Eq, 0.0),
        ("count===0", "count", Op::StrictEq, 0.0),
        ("ratio<0.25", "ratio", Op::Lt, 0.25),
        ("rate>0.99", "rate", Op::Gt, 0.99),
        ("avg>=1.5", "avg", Op::Ge, 1.5),
        ("med!=-3", "med", Op::Ne, -3.0),
        ("  p(99.9) < 1e3 ", "p(99.9)", Op::Lt, 1000.0),
        ("p( 95 )<300", "p(95)", Op::Lt, 300.0),
    ];
    for (text, stat, op, limit) in cases {
        let t: Threshold = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(
            (t.stat.as_str(), t.op, t.limit),
            (stat, op, limit),
            "{text}"
        );
        assert_eq!(t.text, text.trim());
    }
}

#[test]
fn operators_compare_as_written() {
    let t = |s: &str| s.parse::<Threshold>().unwrap();
    assert!(t("p(95)<300").holds(299.9));
    assert!(!t("p(95)<300").holds(300.0));
    assert!(t("count<=2").holds(2.0));
    assert!(!t("count<=2").holds(3.0));
    assert!(t("rate>0.5").holds(0.51));
    assert!(!t("rate>0.5").holds(0.5));
    assert!(t("count>=1").holds(1.0));
    assert!(t("count==0").holds(0.0));
    assert!(!t("count==0").holds(1.0));
    assert!(t("count===0").holds(0.0));
    assert!(t("count!=0").holds(1.0));
    assert!(!t("count!=0").holds(0.0));
}

#[test]
fn rejects_bad_syntax() {
    for bad in [
        "",
        "p(95)",
        "p(95)300",
        "p(95)=300",
        "<300",
        "p(95)<",
        "p(95)<300ms",
        "p(95)<<300",
        "p(abc)<300",
        "p(101)<300",
        "p(95<300",
        "rate < NaN",
        "rate<inf",
        "ra te<0.01",
        "rate-x<1",
        "p95<300",
        "latency<3",
    ] {
        let got = bad.parse::<Threshold>();
        assert!(got.is_err(), "{bad:?} parsed as {got:?}");
    }
    let e = "p(95)=300".parse::<Threshold>().unwrap_err();
    assert!(e.to_string().contains("p(95)=300"), "{e}");
}

#[test]
fn percentile_keys_match_k6_names() {
    let t: Threshold = "p(95.0)<300".parse().unwrap();
    assert!(t.stat_keys().contains(&"p(95)".to_string()));
    let t: Threshold = "p(50)<10".parse().unwrap();
    assert!(t.stat_keys().contains(&"med".to_string()));
}

#[test]
fn the_committed_slo_file_has_every_profile() {
    let slo = Slo::load(&manifest("slo.toml")).unwrap();
    let profiles: Vec<&str> = slo.profiles.keys().map(String::as_str).collect();
    assert_eq!(
        profiles,
        [
            "burst",
            "duplicate",
            "endurance",
            "flood",
            "peak",
            "ramp",
            "replies",
            "steady",
            "users"
        ]
    );
    let steady = slo.rules("steady").unwrap();
    let texts: Vec<String> = steady
        .iter()
        .map(|r| format!("{} {}", r.metric, r.threshold))
        .collect();
    assert_eq!(
        texts,
        [
            "db_deadlocks count==0",
            "db_lock_waits count<=2",
            "http_req_duration p(95)<300",
            "http_req_failed rate<0.01",
            "ordering_violations count==0"
        ]
    );
    assert!(matches!(
        slo.rules("nope"),
        Err(SloError::UnknownProfile { .. })
    ));
}

#[test]
fn slo_errors_name_the_profile_and_metric() {
    let p = Path::new("x.toml");
    let e = Slo::parse(p, "[steady]\nhttp_req_duration = [\"p(95)=300\"]\n").unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, SloError::Threshold { .. }), "{msg}");
    assert!(msg.contains("[steady] http_req_duration"), "{msg}");
    let e = Slo::parse(p, "[steady]\nhttp_req_duration = \"p(95)<300\"\n").unwrap_err();
    assert!(matches!(e, SloError::Toml { .. }), "{e}");
    let e = Slo::parse(p, "not toml at all [").unwrap_err();
    assert!(matches!(e, SloError::Toml { .. }), "{e}");
    assert!(matches!(
        Slo::load(Path::new("/nonexistent/slo.toml")),
        Err(SloError::Read { .. })
    ));
}

#[test]
fn k6_gets_only_the_metrics_k6_has() {
    let v = gate::k6_thresholds(&manifest("slo.toml")).unwrap();
    assert_eq!(
        v["steady"]["http_req_duration"],
        serde_json::json!(["p(95)<300"])
    );
    assert_eq!(
        v["burst"]["http_req_failed"],
        serde_json::json!(["rate<0.015"])
    );
    assert_eq!(v["flood"]["flood_limited"], serde_json::json!(["rate>0.5"]));
    assert_eq!(v["users"]["checks"], serde_json::json!(["rate>0.99"]));
    assert!(v["steady"].get("db_lock_waits").is_none());
    assert!(v["endurance"].get("api_rss_growth").is_none());
    // replies: only http_req_failed is k6's; the rest are read from the stand-in's record.
    assert_eq!(
        v["replies"],
        serde_json::json!({"http_req_failed": ["rate<0.01"]})
    );
    assert_eq!(v.as_object().unwrap().len(), 9);
}

/// `loadtests/k6/thresholds.json` is generated: `sluice-load slo k6 > loadtests/k6/thresholds.json`
/// (or run this test with `BLESS=1`).
#[test]
fn the_committed_k6_thresholds_match_slo_toml() {
    let expected = gate::k6_thresholds_json(&manifest("slo.toml")).unwrap();
    if std::env::var_os("BLESS").is_some() {
        std::fs::write(manifest("k6/thresholds.json"), &expected).unwrap();
    }
    let committed = std::fs::read_to_string(manifest("k6/thresholds.json")).unwrap();
    assert_eq!(
        committed, expected,
        "loadtests/k6/thresholds.json is stale: run `sluice-load slo k6 > loadtests/k6/thresholds.json`"
    );
}

/// The CLI structs the lead flattens into `sluice-load`: valid clap definitions, with the
/// documented flags.
#[test]
fn command_line_arguments() {
    use clap::{CommandFactory, Parser};
    use sluice_loadtests::dbsnap::DbSnapshotArgs;
    use sluice_loadtests::gate::{GateArgs, SloArgs, SloCommand};

    #[derive(Parser)]
    enum Cli {
        Gate(GateArgs),
        Slo(SloArgs),
        DbSnapshot(DbSnapshotArgs),
    }
    Cli::command().debug_assert();

    let Cli::Gate(g) = Cli::try_parse_from([
        "sluice-load",
        "gate",
        "--profile",
        "steady",
        "--summary",
        "out/summary.json",
        "--db-before",
        "b.json",
        "--db-after",
        "a.json",
        "--drain-timeout",
        "2m",
        "--no-verify",
    ])
    .unwrap() else {
        panic!("not gate");
    };
    assert_eq!(g.drain_timeout, std::time::Duration::from_secs(120));
    assert_eq!(g.slo, PathBuf::from("loadtests/slo.toml"));
    assert!(g.no_verify);
    assert_eq!(g.verdict_path(), PathBuf::from("out/verdict.json"));
    // One snapshot without the other is refused by clap already.
    assert!(
        Cli::try_parse_from([
            "sluice-load",
            "gate",
            "--profile",
            "steady",
            "--summary",
            "s.json",
            "--db-before",
            "b.json",
        ])
        .is_err()
    );
    let Cli::Slo(s) = Cli::try_parse_from(["sluice-load", "slo", "k6", "--slo", "x.toml"]).unwrap()
    else {
        panic!("not slo");
    };
    let SloCommand::K6 { slo } = &s.command;
    assert_eq!(slo, &PathBuf::from("x.toml"));
    assert_eq!(
        format!("{:?}", gate::slo(s)),
        format!("{:?}", std::process::ExitCode::from(2))
    );
    let Cli::DbSnapshot(d) = Cli::try_parse_from([
        "sluice-load",
        "db-snapshot",
        "--database-url",
        "postgres://x@h/db",
        "--out",
        "before.json",
    ])
    .unwrap() else {
        panic!("not db-snapshot");
    };
    assert_eq!(d.out, PathBuf::from("before.json"));
}
