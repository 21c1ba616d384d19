//! A lane mix: the percent of a backlog per lane (BENCH_LANE_MIX), split into per-lane counts.

use std::{collections::BTreeMap, str::FromStr};

use sluice_shared::lanes::Lane;

/// Percent of a backlog per lane, e.g. `high=20,normal=70,low=10`.
#[derive(Debug, Clone, PartialEq)]
pub struct LaneMix(BTreeMap<Lane, u64>);

impl FromStr for LaneMix {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let mut mix = BTreeMap::new();
        for part in s.split(',').filter(|p| !p.trim().is_empty()) {
            let (lane, pct) = part
                .split_once('=')
                .ok_or_else(|| format!("'{part}' is not lane=percent"))?;
            let lane: Lane = lane
                .trim()
                .parse()
                .map_err(|_| format!("unknown lane '{lane}'"))?;
            let pct: u64 = pct
                .trim()
                .parse()
                .map_err(|_| format!("'{pct}' is not a percent"))?;
            mix.insert(lane, pct);
        }
        Ok(LaneMix(mix))
    }
}

impl LaneMix {
    /// All of a backlog in one lane.
    pub fn only(lane: Lane) -> LaneMix {
        LaneMix(BTreeMap::from([(lane, 100)]))
    }

    /// Each lane's share of `total` (high, normal, low), rounded down; the last lane gets what is
    /// left, so the counts add up to `total`. Lanes with nothing to queue are left out.
    pub fn split(&self, total: u64) -> Vec<(Lane, u64)> {
        let mut left = total;
        let mut out = Vec::new();
        for (i, lane) in Lane::ALL.into_iter().enumerate() {
            let pct = self.0.get(&lane).copied().unwrap_or(0);
            let n = if i == Lane::ALL.len() - 1 {
                left
            } else {
                (total * pct / 100).min(left)
            };
            left -= n;
            if n > 0 {
                out.push((lane, n));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mix_splits_like_the_script_did() {
        let mix: LaneMix = "high=20,normal=70,low=10".parse().unwrap();
        let split = mix.split(5000);
        assert_eq!(
            split,
            vec![(Lane::High, 1000), (Lane::Normal, 3500), (Lane::Low, 500)]
        );
        // Rounding down; the last lane takes the remainder.
        assert_eq!(mix.split(7).iter().map(|x| x.1).sum::<u64>(), 7);
        assert_eq!(LaneMix::only(Lane::Low).split(300), vec![(Lane::Low, 300)]);
        assert!("high=x".parse::<LaneMix>().is_err());
        assert!("middle=5".parse::<LaneMix>().is_err());
    }
}
