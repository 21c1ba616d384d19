//! The gate on fixture summaries: ours and k6's two layouts, PASS/FAIL/SKIP, and exit codes.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use sluice_loadtests::gate::{self, GateArgs, GateError, Status, Verdict, evaluate};

fn manifest(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// A fresh directory holding a copy of `fixture` as summary.json (the verdict lands beside it).
fn staged(fixture: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sluice-gate-{}", ulid::Ulid::generate()));
    std::fs::create_dir_all(&dir).unwrap();
    let summary = dir.join("summary.json");
    std::fs::copy(manifest(&format!("tests/fixtures/{fixture}")), &summary).unwrap();
    summary
}

fn args(profile: &str, summary: &Path) -> GateArgs {
    GateArgs {
        slo: manifest("slo.toml"),
        ..GateArgs::new(profile, summary)
    }
}

fn code(c: u8) -> String {
    format!("{:?}", ExitCode::from(c))
}

/// (metric threshold) -> status, for compact assertions.
fn statuses(r: &gate::Report) -> Vec<(String, Status)> {
    r.checks
        .iter()
        .map(|c| (format!("{} {}", c.metric, c.threshold), c.status))
        .collect()
}

#[tokio::test]
async fn our_summary_passes() {
    let summary = staged("ours-steady-pass.json");
    let a = args("steady", &summary);
    let r = evaluate(&a).await.unwrap();
    assert_eq!(r.summary_kind, "sluice-load");
    assert_eq!(
        statuses(&r),
        [
            ("db_deadlocks count==0".into(), Status::Skip),
            ("db_lock_waits count<=2".into(), Status::Pass),
            ("http_req_duration p(95)<300".into(), Status::Pass),
            ("http_req_failed rate<0.01".into(), Status::Pass),
            // The fixture kept no ledger: neither delivery nor ordering is verified.
            ("delivery verified".into(), Status::Skip),
            ("ordering_violations count==0".into(), Status::Skip),
        ]
    );
    assert_eq!(r.checks[2].got, Some(17.3));
    assert_eq!(r.verdict, Verdict::Pass);
    let text = gate::verdict::render(&Ok(r));
    assert!(
        text.contains("PASS http_req_duration p(95)<300 (got 17.3)\n"),
        "{text}"
    );
    assert!(
        text.contains("SKIP db_deadlocks count==0 (not measured: no --db-before/--db-after)\n"),
        "{text}"
    );
    assert!(text.ends_with("VERDICT PASS\n"), "{text}");

    assert_eq!(format!("{:?}", gate::gate(a).await), code(0));
    let verdict: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(summary.with_file_name("verdict.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(verdict["verdict"], "PASS");
    assert_eq!(verdict["exit_code"], 0);
    assert_eq!(verdict["checks"][2]["got"], 17.3);
}

#[tokio::test]
async fn our_summary_fails() {
    let summary = staged("ours-steady-fail.json");
    let a = args("steady", &summary);
    let r = evaluate(&a).await.unwrap();
    assert_eq!(
        statuses(&r)[..4],
        [
            ("db_deadlocks count==0".into(), Status::Skip),
            ("db_lock_waits count<=2".into(), Status::Fail),
            ("http_req_duration p(95)<300".into(), Status::Fail),
            ("http_req_failed rate<0.01".into(), Status::Fail),
        ]
    );
    assert_eq!(r.verdict, Verdict::Fail);
    let text = gate::verdict::render(&Ok(r));
    assert!(
        text.contains("FAIL http_req_duration p(95)<300 (got 412.7)\n"),
        "{text}"
    );
    assert!(
        text.contains("FAIL http_req_failed rate<0.01 (got 0.034)\n"),
        "{text}"
    );
    assert!(text.ends_with("VERDICT FAIL\n"), "{text}");
    let out = summary.with_file_name("elsewhere.json");
    let a = GateArgs {
        verdict: Some(out.clone()),
        ..a
    };
    assert_eq!(format!("{:?}", gate::gate(a).await), code(1));
    let verdict: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap();
    assert_eq!(verdict["verdict"], "FAIL");
    assert_eq!(verdict["exit_code"], 1);
}

#[tokio::test]
async fn k6_older_layout_values() {
    let summary = staged("k6-values-layout.json");
    let r = evaluate(&args("steady", &summary)).await.unwrap();
    assert_eq!(r.summary_kind, "k6 (metrics.X.values)");
    let s = statuses(&r);
    assert_eq!(s[2], ("http_req_duration p(95)<300".into(), Status::Pass));
    assert_eq!(s[3], ("http_req_failed rate<0.01".into(), Status::Pass));
    assert_eq!(r.checks[2].got, Some(21.44));
    assert_eq!(r.checks[3].got, Some(0.0015));
    // No database metrics in a k6 summary, and no ledger to verify.
    assert_eq!(s[0].1, Status::Skip);
    assert_eq!(s[1].1, Status::Skip);
    assert_eq!(s[4], ("delivery verified".into(), Status::Skip));
    assert_eq!(r.verdict, Verdict::Pass);
}

#[tokio::test]
async fn k6_newer_layout_flat_with_rates_as_value() {
    let summary = staged("k6-flat-layout.json");
    let r = evaluate(&args("flood", &summary)).await.unwrap();
    assert_eq!(r.summary_kind, "k6 (statistics on metrics.X)");
    assert_eq!(
        statuses(&r)[..4],
        [
            ("flood_limited rate>0.5".into(), Status::Pass),
            ("flood_quiet_ok rate>0.99".into(), Status::Pass),
            ("http_req_duration p(95)<300".into(), Status::Pass),
            ("http_req_failed rate<0.01".into(), Status::Pass),
        ]
    );
    // `value` read as `rate` for a rate metric of the legacy export.
    assert_eq!(r.checks[3].got, Some(0.006333333333333333));
    assert_eq!(r.checks[0].got, Some(0.82));
    assert_eq!(r.verdict, Verdict::Pass);
}

#[tokio::test]
async fn k6_summaries_fail_against_stricter_thresholds() {
    for fixture in ["k6-values-layout.json", "k6-flat-layout.json"] {
        let summary = staged(fixture);
        let slo = summary.with_file_name("slo.toml");
        std::fs::write(
            &slo,
            "[strict]\nhttp_req_duration = [\"p(95)<5\", \"max<1000\"]\nhttp_req_failed = [\"rate<0.001\"]\n",
        )
        .unwrap();
        let a = GateArgs {
            slo,
            ..GateArgs::new("strict", &summary)
        };
        let r = evaluate(&a).await.unwrap();
        let s = statuses(&r);
        assert_eq!(
            s[0],
            ("http_req_duration p(95)<5".into(), Status::Fail),
            "{fixture}"
        );
        assert_eq!(
            s[1],
            ("http_req_duration max<1000".into(), Status::Pass),
            "{fixture}"
        );
        assert_eq!(
            s[2],
            ("http_req_failed rate<0.001".into(), Status::Fail),
            "{fixture}"
        );
        assert_eq!(r.verdict, Verdict::Fail);
        assert_eq!(format!("{:?}", gate::gate(a).await), code(1), "{fixture}");
    }
}

#[tokio::test]
async fn missing_statistic_is_skipped_not_failed() {
    let summary = staged("ours-steady-pass.json");
    let slo = summary.with_file_name("slo.toml");
    std::fs::write(
        &slo,
        "[x]\nhttp_req_duration = [\"p(95)<300\", \"p(99.9)<500\"]\nnever_recorded = [\"count==0\"]\n",
    )
    .unwrap();
    let r = evaluate(&GateArgs {
        slo,
        ..GateArgs::new("x", &summary)
    })
    .await
    .unwrap();
    let text = gate::verdict::render(&Ok(r.clone()));
    assert!(
        text.contains(
            "SKIP http_req_duration p(99.9)<500 (not measured: no p(99.9) in http_req_duration)"
        ),
        "{text}"
    );
    assert!(
        text.contains("SKIP never_recorded count==0 (not measured: not in the summary)"),
        "{text}"
    );
    assert_eq!(r.verdict, Verdict::Pass);
}

async fn expect_unusable(a: GateArgs) -> GateError {
    let verdict = a.verdict_path();
    let e = evaluate(&a).await.unwrap_err();
    assert_eq!(format!("{:?}", gate::gate(a).await), code(2), "{e}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(verdict).unwrap()).unwrap();
    assert_eq!(v["verdict"], "ERROR");
    assert_eq!(v["exit_code"], 2);
    e
}

#[tokio::test]
async fn unusable_inputs_exit_2() {
    let good = staged("ours-steady-pass.json");

    // Unknown profile.
    let e = expect_unusable(args("nope", &good)).await;
    assert!(e.to_string().contains("no [nope] table"), "{e}");

    // Missing and malformed summaries.
    let missing = good.with_file_name("absent.json");
    let mut a = args("steady", &missing);
    a.verdict = Some(good.with_file_name("v1.json"));
    assert!(matches!(expect_unusable(a).await, GateError::Summary(_)));
    let broken = good.with_file_name("broken.json");
    std::fs::write(&broken, "{\"metrics\": ").unwrap();
    assert!(matches!(
        expect_unusable(args("steady", &broken)).await,
        GateError::Summary(_)
    ));
    let neither = good.with_file_name("neither.json");
    std::fs::write(&neither, "{\"hello\": 1}").unwrap();
    assert!(matches!(
        expect_unusable(args("steady", &neither)).await,
        GateError::Summary(_)
    ));

    // Bad threshold syntax, unreadable slo file.
    let slo = good.with_file_name("bad-slo.toml");
    std::fs::write(&slo, "[steady]\nhttp_req_duration = [\"p95<300\"]\n").unwrap();
    let e = expect_unusable(GateArgs {
        slo,
        ..args("steady", &good)
    })
    .await;
    assert!(matches!(e, GateError::Slo(_)), "{e}");
    let e = expect_unusable(GateArgs {
        slo: good.with_file_name("no-such-slo.toml"),
        ..args("steady", &good)
    })
    .await;
    assert!(matches!(e, GateError::Slo(_)), "{e}");

    // Every threshold unmeasurable: the wrong file, most likely.
    let empty = good.with_file_name("empty-k6.json");
    std::fs::write(&empty, "{\"metrics\": {\"vus\": {\"value\": 1}}}").unwrap();
    let e = expect_unusable(args("steady", &empty)).await;
    assert!(matches!(e, GateError::NothingMeasured { .. }), "{e}");

    // Only one of the two snapshots.
    let e = expect_unusable(GateArgs {
        db_before: Some(good.with_file_name("before.json")),
        ..args("steady", &good)
    })
    .await;
    assert!(matches!(e, GateError::Snapshots(_)), "{e}");
}

#[test]
fn numbers_print_compactly() {
    use gate::verdict::number;
    assert_eq!(number(0.0), "0");
    assert_eq!(number(3.0), "3");
    assert_eq!(number(17.3), "17.3");
    assert_eq!(number(0.006333333), "0.0063");
    assert_eq!(number(412.66), "412.7");
}
