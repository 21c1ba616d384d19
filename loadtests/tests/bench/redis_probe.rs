//! What the benches read from Redis: INFO sections and commandstats differences.

use sluice_loadtests::bench::redis_probe::{
    CallsUsec, CmdStats, LaneCount, LaneCounts, parse_info,
};

use crate::{fixture, fixture_json};

#[test]
fn the_commandstats_difference_is_the_phase_jsons_redis_commands() {
    let before = CmdStats::parse(&fixture("ingress/cmdstats-b.before"));
    let after = CmdStats::parse(&fixture("ingress/cmdstats-b.after"));
    let phase: serde_json::Value = fixture_json("ingress/phase-b.json");
    let want: std::collections::BTreeMap<String, CallsUsec> =
        serde_json::from_value(phase["redis_commands"].clone()).unwrap();
    assert_eq!(after.since(&before), want);
    assert_eq!(want["evalsha"].calls, 1946);
}

#[test]
fn only_commands_called_in_between_count() {
    let before = CmdStats::parse(
        "# Commandstats\r\ncmdstat_get:calls=5,usec=50,usec_per_call=10.00\r\ncmdstat_set:calls=2,usec=4\r\n",
    );
    let after = CmdStats::parse(
        "cmdstat_get:calls=5,usec=50\ncmdstat_set:calls=7,usec=20\ncmdstat_script|load:calls=1,usec=9\n",
    );
    let d = after.since(&before);
    assert_eq!(d.len(), 2, "{d:?}");
    assert_eq!(d["set"], CallsUsec { calls: 5, usec: 16 });
    assert_eq!(d["script|load"], CallsUsec { calls: 1, usec: 9 });
}

#[test]
fn info_sections_become_fields() {
    let info = parse_info(
        "# CPU\r\nused_cpu_sys:1.25\r\nused_cpu_user:2.50\r\n\r\n# Server\r\nredis_version:7.0.15\r\n",
    );
    assert_eq!(info["used_cpu_sys"], "1.25");
    assert_eq!(info["redis_version"], "7.0.15");
    assert!(!info.keys().any(|k| k.starts_with('#')));
}

#[test]
fn lane_counts_keep_the_summarys_shape() {
    let phase: serde_json::Value = fixture_json("ingress/phase-d.json");
    let lanes: LaneCounts = serde_json::from_value(phase["backlog_by_lane"].clone()).unwrap();
    assert_eq!(
        lanes.normal,
        LaneCount {
            active: 0,
            scheduled: 2074
        }
    );
    assert_eq!(lanes.total(), 3000);
    assert_eq!(
        serde_json::to_value(lanes).unwrap(),
        phase["backlog_by_lane"]
    );
}
