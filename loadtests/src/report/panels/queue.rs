//! The queue panels: each lane's backlog, and the depth of every state over all lanes.

use std::collections::BTreeSet;

use super::{PALETTE, Panel, series};
use crate::report::plot::Chart;
use crate::summary::Second;

const BACKLOG_STATES: [&str; 4] = ["pending", "scheduled", "inflight", ""];
const KNOWN_LANES: [&str; 3] = ["high", "normal", "low"];
const KNOWN_STATES: [&str; 4] = ["pending", "scheduled", "inflight", "dead"];

/// Splits a `queue_depth` key "lane:state"; a key without a state is a lane's depth as a whole.
fn lane_state(key: &str) -> (&str, &str) {
    key.rsplit_once(':').unwrap_or((key, ""))
}

/// Names in a known order first, then any others alphabetically.
fn ordered<'a>(names: BTreeSet<&'a str>, known: &[&'a str]) -> Vec<&'a str> {
    let mut out: Vec<&str> = known
        .iter()
        .copied()
        .filter(|k| names.contains(k))
        .collect();
    out.extend(names.into_iter().filter(|n| !known.contains(n)));
    out
}

pub(super) fn queue(ts: &[&Second]) -> Vec<Panel> {
    let keys: Vec<(&str, &str)> = ts
        .iter()
        .flat_map(|s| s.queue_depth.keys())
        .map(|k| lane_state(k))
        .collect();
    if keys.is_empty() {
        return vec![Panel::Absent(
            "Queue depth",
            "the run did not read sluice_queue_depth from the metrics endpoint.",
        )];
    }
    let lanes = ordered(keys.iter().map(|k| k.0).collect(), &KNOWN_LANES);
    let states = ordered(keys.iter().map(|k| k.1).collect(), &KNOWN_STATES);
    // Sum of the entries of one second that match, or None when that second sampled none.
    let sum = |s: &Second, keep: &dyn Fn(&str, &str) -> bool| {
        let mut hits = s.queue_depth.iter().filter(|(k, _)| {
            let (lane, state) = lane_state(k);
            keep(lane, state)
        });
        let first = hits.next()?;
        Some(first.1 + hits.map(|(_, v)| v).sum::<f64>())
    };
    let backlog = lanes
        .iter()
        .zip(PALETTE.iter().cycle())
        .map(|(lane, color)| {
            series(*lane, *color, ts, |s| {
                sum(s, &|l, st| l == *lane && BACKLOG_STATES.contains(&st))
            })
        })
        .collect();
    let by_state = states
        .iter()
        .zip(PALETTE.iter().cycle())
        .map(|(state, color)| {
            let name = if state.is_empty() {
                "(no state)"
            } else {
                state
            };
            series(name, *color, ts, |s| sum(s, &|_, st| st == *state))
        })
        .collect();
    vec![
        Panel::Chart(
            Chart {
                title: "Queue backlog per lane",
                y_desc: "jobs",
                counts: true,
                series: backlog,
            },
            "Work still to do in each lane: pending + scheduled + in flight, from \
             sluice_queue_depth on the metrics endpoint.",
        ),
        Panel::Chart(
            Chart {
                title: "Queue depth by state, all lanes",
                y_desc: "jobs",
                counts: true,
                series: by_state,
            },
            "The same samples summed over lanes, per state (dead letters included).",
        ),
    ]
}
