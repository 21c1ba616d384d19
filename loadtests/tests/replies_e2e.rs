//! The replies profile, small, against the real binaries: `telegram-stand-in` with small limits
//! (2 messages/s per bot), sluice-api and a forward worker booking the same limits less
//! SLUICE_BOTAPI_MARGIN, and `sluice-load replies` driving 3 bots at 1.5x their limit. The gate
//! must PASS: every update answered, no 429, no window over a limit.

use std::time::Duration;

use sluice_loadtests::bench::ordering::stack::Stack;
use sluice_loadtests::gate::{self, GateArgs, Status, Verdict};
use sluice_loadtests::replies::{self, RepliesArgs};
use sluice_testkit::{
    TestDb, api_binary, bots::TEST_SECRETS_KEY, clear_prefix, free_port, prefix, redis_url,
    stand_in_binary, wait_until, worker_binary,
};

#[tokio::test]
async fn three_bots_replying_stay_within_the_stand_ins_limits() {
    let (api_bin, worker_bin, stand_in_bin) =
        tokio::task::spawn_blocking(|| (api_binary(), worker_binary(), stand_in_binary()))
            .await
            .unwrap();
    let port = free_port();
    let _stand_in = tokio::process::Command::new(stand_in_bin)
        .args(["--addr", &format!("127.0.0.1:{port}")])
        .args(["--bot-per-sec", "2", "--bot-burst", "2", "--slack", "100ms"])
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stand_in = format!("http://127.0.0.1:{port}");
    let limits = format!("{stand_in}/_stand-in/limits");
    let up = wait_until(Duration::from_secs(30), || async {
        reqwest::get(&limits).await.is_ok()
    })
    .await;
    assert!(up, "the stand-in listens");

    let db = TestDb::fresh().await.unwrap();
    let dir = std::env::temp_dir().join(format!("sluice-replies-e2e-{}", ulid::Ulid::generate()));
    std::fs::create_dir_all(&dir).unwrap();
    let stack = Stack {
        api_bin: api_bin.to_owned(),
        worker_bin: worker_bin.to_owned(),
        database_url: db.url.clone(),
        redis_url: redis_url(),
        prefix: prefix(),
        log_dir: dir.clone(),
    };
    let api = stack.start_api("api", &[]).await.unwrap();
    let worker_env = [
        ("SLUICE_HANDLER", "forward".to_owned()),
        ("SLUICE_FORWARD_URL", "http://127.0.0.1:9/unused".to_owned()),
        (
            "SLUICE_FORWARD_SECRET",
            "replies-e2e-forward-secret-0123456789".to_owned(),
        ),
        ("SLUICE_SECRETS_KEY", TEST_SECRETS_KEY.to_owned()),
        ("SLUICE_TELEGRAM_API_URL", stand_in.clone()),
        ("SLUICE_BOTAPI_BOT_PER_SEC", "2".to_owned()),
        ("SLUICE_BOTAPI_BOT_BURST", "2".to_owned()),
    ];
    let _worker = stack.start_worker("worker", &worker_env).await.unwrap();

    let args = RepliesArgs {
        target: api.base.clone(),
        stand_in: stand_in.clone(),
        database_url: db.url.clone(),
        secrets_key: TEST_SECRETS_KEY.to_owned(),
        api_bin: Some(api_bin.to_owned()),
        echo_addr: "127.0.0.1:0".parse().unwrap(),
        bots: 3,
        chats: 5,
        rate: 9.0,
        duration: Duration::from_secs(4),
        drain_timeout: Duration::from_secs(60),
        out: dir.clone(),
        gate: true,
        slo: format!("{}/slo.toml", env!("CARGO_MANIFEST_DIR")).into(),
    };
    let outcome = replies::run(&args).await.unwrap();
    let f = &outcome.findings;
    println!("{f:?}");
    assert_eq!(f.sent, 36, "every update answered: {f:?}");
    assert_eq!(f.refused_429, 0, "{f:?}");
    assert!(f.over_limit.is_empty(), "{f:?}");

    let mut gate_args = GateArgs::new(replies::PROFILE, &outcome.summary_path);
    gate_args.no_verify = true;
    gate_args.slo = args.slo.clone();
    let report = gate::evaluate(&gate_args).await.unwrap();
    let failed: Vec<_> = report
        .checks
        .iter()
        .filter(|c| c.status != Status::Pass)
        .collect();
    assert!(
        matches!(report.verdict, Verdict::Pass),
        "the gate failed: {failed:?}"
    );
    let measured = report
        .checks
        .iter()
        .filter(|c| c.status == Status::Pass)
        .count();
    assert_eq!(measured, 4, "every replies threshold measured");
    drop(api);
    clear_prefix(&stack.redis_url, &stack.prefix).await;
    db.drop_db().await;
}
