//! What happens to an update over a limit: the three limits, the three policies, and the
//! per-lane policy table of each limit (`SLUICE_POLICY_GLOBAL|BOT|CHAT`).

use std::{fmt, str::FromStr};

use sluice_shared::lanes::Lane;

/// The buckets an update meets, in the order they are checked and named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    Global,
    Bot,
    Chat,
}

impl Limit {
    pub fn as_str(self) -> &'static str {
        match self {
            Limit::Global => "global",
            Limit::Bot => "bot",
            Limit::Chat => "chat",
        }
    }

    /// The `decision` label of `sluice_admission_total` for a rejection by this limit.
    pub fn rejected_label(self) -> &'static str {
        match self {
            Limit::Global => "rejected_global",
            Limit::Bot => "rejected_bot",
            Limit::Chat => "rejected_chat",
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The answer to an update over a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Policy {
    /// 429 + `Retry-After` (the limiter's earliest-allowed time): Telegram keeps the update and
    /// holds back only that chat's later ones.
    Reject,
    /// 200 now, the job scheduled at the earliest-allowed time (at most `SLUICE_MAX_DELAY`
    /// ahead, beyond which `Reject`).
    Delay,
    /// 200 and counted, nothing queued: the update is lost. For spam floods only.
    Drop,
}

impl Policy {
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Reject => "reject",
            Policy::Delay => "delay",
            Policy::Drop => "drop",
        }
    }
}

impl FromStr for Policy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "reject" => Ok(Policy::Reject),
            "delay" => Ok(Policy::Delay),
            "drop" => Ok(Policy::Drop),
            other => Err(format!(
                "unknown policy '{other}' (expected reject, delay or drop)"
            )),
        }
    }
}

/// One limit's policy in each lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LanePolicies {
    high: Policy,
    normal: Policy,
    low: Policy,
}

impl LanePolicies {
    pub const fn all(p: Policy) -> Self {
        LanePolicies {
            high: p,
            normal: p,
            low: p,
        }
    }

    pub fn get(&self, lane: Lane) -> Policy {
        match lane {
            Lane::High => self.high,
            Lane::Normal => self.normal,
            Lane::Low => self.low,
        }
    }
}

/// Parses `"reject"` (every lane) or `"high=delay,normal=reject,low=reject"`; a lane left out
/// is `reject`, the policy that loses nothing.
impl FromStr for LanePolicies {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if !s.contains('=') {
            return Ok(LanePolicies::all(s.parse()?));
        }
        let mut out = LanePolicies::all(Policy::Reject);
        for rule in s.split(',').map(str::trim).filter(|r| !r.is_empty()) {
            let (lane, policy) = rule
                .split_once('=')
                .ok_or_else(|| format!("rule '{rule}' is not LANE=POLICY"))?;
            let policy: Policy = policy.parse()?;
            match lane.parse::<Lane>().map_err(|e| e.to_string())? {
                Lane::High => out.high = policy,
                Lane::Normal => out.normal = policy,
                Lane::Low => out.low = policy,
            }
        }
        Ok(out)
    }
}

/// The policy of every limit in every lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policies {
    pub global: LanePolicies,
    pub bot: LanePolicies,
    pub chat: LanePolicies,
}

impl Policies {
    /// The policies of the global, bot and chat buckets for an update of `lane`.
    pub fn for_lane(&self, lane: Lane) -> [Policy; 3] {
        [
            self.global.get(lane),
            self.bot.get(lane),
            self.chat.get(lane),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_policy_or_one_per_lane() {
        let all: LanePolicies = "drop".parse().unwrap();
        assert_eq!(all, LanePolicies::all(Policy::Drop));
        let p: LanePolicies = "high=delay, low=drop".parse().unwrap();
        assert_eq!(p.get(Lane::High), Policy::Delay);
        assert_eq!(p.get(Lane::Normal), Policy::Reject);
        assert_eq!(p.get(Lane::Low), Policy::Drop);
    }

    #[test]
    fn bad_policies_say_what_is_wrong() {
        assert!(
            "maybe"
                .parse::<LanePolicies>()
                .unwrap_err()
                .contains("maybe")
        );
        assert!(
            "urgent=delay"
                .parse::<LanePolicies>()
                .unwrap_err()
                .contains("urgent")
        );
        assert!(
            "high=later"
                .parse::<LanePolicies>()
                .unwrap_err()
                .contains("later")
        );
    }
}
