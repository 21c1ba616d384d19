//! The admission bench's table and summary against the old script's awk.

use sluice_loadtests::bench::admission::slices::{
    MODES, Slice, header, median, mode_for, summarize,
};

use crate::fixture;

fn old_slices() -> Vec<Slice> {
    fixture("admission/slices.txt")
        .lines()
        .map(|l| Slice::parse_row(l).unwrap())
        .collect()
}

#[test]
fn rows_are_printed_as_the_old_table() {
    let text = fixture("admission/slices.txt");
    for (slice, line) in old_slices().iter().zip(text.lines()) {
        assert_eq!(slice.row(), line);
    }
    assert_eq!(
        header(),
        "mode   slice   requests/s        p50        p99  non-2xx"
    );
}

#[test]
fn the_summary_is_the_old_awks_to_the_character() {
    let summary = summarize(&old_slices(), 3);
    assert_eq!(summary.render(), fixture("admission/summary.txt"));
    assert_eq!(summary.local_over_off.target_min, 0.95);
}

#[test]
fn rounds_rotate_the_order_of_the_modes() {
    let order = |round| (0..3).map(|k| mode_for(round, k)).collect::<Vec<_>>();
    assert_eq!(order(1), ["local", "redis", "off"]);
    assert_eq!(order(2), ["redis", "off", "local"]);
    assert_eq!(order(3), MODES);
    let old: Vec<String> = old_slices().iter().map(|s| s.mode.clone()).collect();
    let ours: Vec<&str> = (1..=3).flat_map(order).collect();
    assert_eq!(old, ours);
}

#[test]
fn medians_of_odd_and_even_counts() {
    assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
    assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
    assert!(median(&[]).is_nan());
}

#[test]
fn the_json_rounds_what_the_text_rounds() {
    let s = summarize(&old_slices(), 3).rounded();
    assert_eq!(s.local_over_off.of_means, 0.929);
    assert_eq!(s.redis_over_off.median_per_round, 0.589);
    let off = &s.modes[0];
    assert_eq!((off.mode.as_str(), off.p50_ms), ("off", 20.83));
}
