//! CPU time and memory from /proc: the parsers, and the measurements on real processes.

use std::time::Duration;

use sluice_loadtests::bench::procfs::{
    RssSampler, busy_ticks, finished_children_cpu_s, machine_busy_s, process_cpu_s, stat_ticks,
};

#[test]
fn process_ticks_count_from_the_last_parenthesis() {
    // A command name with a space and a ")": the fields after it are what count.
    let stat =
        "4242 (wrk) (x y) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 75 30 12 20 0 3 0 100 0 0";
    assert_eq!(stat_ticks(stat), Some((325, 42)));
    assert_eq!(stat_ticks("4242 (short) S 1 2"), None);
}

#[test]
fn busy_ticks_leave_out_idle_and_iowait() {
    let stat = "cpu  100 5 50 9000 40 3 2 1 0 0\ncpu0 50 2 25 4500 20 1 1 0 0 0\n";
    assert_eq!(busy_ticks(stat), Some(100 + 5 + 50 + 3 + 2 + 1));
    assert_eq!(busy_ticks("intr 1 2 3\n"), None);
}

#[test]
fn our_own_process_and_the_machine_have_used_cpu() {
    assert!(process_cpu_s(std::process::id()).unwrap() >= 0.0);
    assert!(machine_busy_s().unwrap() > 0.0);
}

/// wrk's CPU time is read as what this program's finished children used: a child that burns
/// CPU must show up there once it has been waited for.
#[tokio::test]
async fn a_finished_childs_cpu_time_is_counted() {
    let before = finished_children_cpu_s().unwrap();
    let status = tokio::process::Command::new("sh")
        .args(["-c", "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done"])
        .status()
        .await
        .unwrap();
    assert!(status.success());
    let after = finished_children_cpu_s().unwrap();
    assert!(after - before >= 0.05, "{before} -> {after}");
}

#[tokio::test]
async fn the_rss_sampler_keeps_the_largest_sample() {
    let dir = std::env::temp_dir().join(format!("sluice-rss-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("rss.txt");
    let sampler = RssSampler::start(std::process::id(), &file);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let max = sampler.stop().await.unwrap();
    let samples: Vec<u64> = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    assert!(samples.len() >= 2, "{samples:?}");
    assert_eq!(Some(max), samples.iter().copied().max());
    assert!(max > 1024, "{max} KiB");
    std::fs::remove_dir_all(&dir).unwrap();
}
