//! The priority lanes: their names, the rules that put an update in one, their queue names, and
//! [`PerLane`], a value for each lane.
//!
//! Each lane is its own apalis-redis queue (apalis-redis has no priorities inside a queue), so
//! workers can serve urgent updates first whatever the backlog of bulk ones.

use std::{collections::HashMap, fmt, str::FromStr};

use serde::{Deserialize, Serialize};

mod per_lane;

pub use per_lane::PerLane;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lane {
    /// A person is waiting on the answer: callbacks, payments, bot commands.
    High,
    /// Ordinary conversation.
    Normal,
    /// Bulk traffic nobody waits on: channel posts, reactions, polls, boosts.
    Low,
}

impl Lane {
    pub const ALL: [Lane; 3] = [Lane::High, Lane::Normal, Lane::Low];

    /// This lane's position in [`Lane::ALL`]: its slot in a [`PerLane`].
    pub const fn index(self) -> usize {
        match self {
            Lane::High => 0,
            Lane::Normal => 1,
            Lane::Low => 2,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Lane::High => "high",
            Lane::Normal => "normal",
            Lane::Low => "low",
        }
    }

    /// The apalis-redis queue (namespace) of this lane under `prefix`.
    pub fn queue_name(self, prefix: &str) -> String {
        format!("{prefix}:{}", self.as_str())
    }
}

impl fmt::Display for Lane {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown lane '{0}' (expected high, normal or low)")]
pub struct UnknownLane(pub String);

impl FromStr for Lane {
    type Err = UnknownLane;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "high" => Ok(Lane::High),
            "normal" => Ok(Lane::Normal),
            "low" => Ok(Lane::Low),
            other => Err(UnknownLane(other.to_owned())),
        }
    }
}

/// Which lane each update kind goes to; overrides come from `SLUICE_LANE_RULES`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LaneRules {
    overrides: HashMap<String, Lane>,
}

impl LaneRules {
    /// The lane of an update of `kind`; `is_command` marks a message starting with a bot command.
    pub fn lane_for(&self, kind: &str, is_command: bool) -> Lane {
        if let Some(lane) = self.overrides.get(kind) {
            return *lane;
        }
        default_lane(kind, is_command)
    }
}

/// The shipped defaults: people waiting → high, conversation → normal, bulk → low.
/// Unknown kinds go to normal so a new Bot API update type is neither starved nor favoured.
///
/// Only a `message` that starts with a bot command is high: business messages are normal
/// whatever their text (issue 3 lists them with ordinary conversation), and an edited command
/// is not a new request.
fn default_lane(kind: &str, is_command: bool) -> Lane {
    match kind {
        "callback_query" | "pre_checkout_query" | "shipping_query" => Lane::High,
        "message" if is_command => Lane::High,
        "channel_post"
        | "edited_channel_post"
        | "message_reaction"
        | "message_reaction_count"
        | "poll"
        | "poll_answer"
        | "chat_member"
        | "chat_boost"
        | "removed_chat_boost"
        | "deleted_business_messages" => Lane::Low,
        _ => Lane::Normal,
    }
}

/// Parses `SLUICE_LANE_RULES` ("poll=normal,message_reaction=low").
impl FromStr for LaneRules {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut overrides = HashMap::new();
        for rule in s.split(',').map(str::trim).filter(|r| !r.is_empty()) {
            let (kind, lane) = rule
                .split_once('=')
                .ok_or_else(|| format!("rule '{rule}' is not KIND=LANE"))?;
            let lane: Lane = lane.parse().map_err(|e: UnknownLane| e.to_string())?;
            overrides.insert(kind.trim().to_owned(), lane);
        }
        Ok(LaneRules { overrides })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lanes_index_is_its_place_in_all() {
        for (i, lane) in Lane::ALL.into_iter().enumerate() {
            assert_eq!(lane.index(), i, "{lane}");
        }
    }

    #[test]
    fn defaults_follow_who_is_waiting() {
        let r = LaneRules::default();
        assert_eq!(r.lane_for("callback_query", false), Lane::High);
        assert_eq!(r.lane_for("message", true), Lane::High);
        assert_eq!(r.lane_for("message", false), Lane::Normal);
        assert_eq!(r.lane_for("edited_message", true), Lane::Normal);
        assert_eq!(r.lane_for("inline_query", false), Lane::Normal);
        assert_eq!(r.lane_for("channel_post", false), Lane::Low);
        assert_eq!(r.lane_for("poll_answer", false), Lane::Low);
        assert_eq!(r.lane_for("something_new", false), Lane::Normal);
    }

    /// The classification of issue 3, kind by kind.
    #[test]
    fn defaults_match_the_issue() {
        let r = LaneRules::default();
        let high = ["callback_query", "pre_checkout_query", "shipping_query"];
        let normal = [
            "message",
            "edited_message",
            "business_message",
            "edited_business_message",
            "inline_query",
            "chosen_inline_result",
            "my_chat_member",
            "chat_join_request",
        ];
        let low = [
            "channel_post",
            "edited_channel_post",
            "message_reaction",
            "message_reaction_count",
            "poll",
            "poll_answer",
            "chat_member",
            "chat_boost",
            "removed_chat_boost",
            "deleted_business_messages",
        ];
        for (kinds, lane) in [
            (&high[..], Lane::High),
            (&normal, Lane::Normal),
            (&low, Lane::Low),
        ] {
            for kind in kinds {
                assert_eq!(r.lane_for(kind, false), lane, "{kind}");
            }
        }
        // A bot command makes a message high, and only a message.
        assert_eq!(r.lane_for("message", true), Lane::High);
        for kind in ["business_message", "edited_message", "channel_post"] {
            assert_ne!(r.lane_for(kind, true), Lane::High, "{kind}");
        }
    }

    #[test]
    fn overrides_win() {
        let r: LaneRules = "poll=normal, message_reaction=low,callback_query=normal"
            .parse()
            .unwrap();
        assert_eq!(r.lane_for("poll", false), Lane::Normal);
        assert_eq!(r.lane_for("callback_query", false), Lane::Normal);
        assert_eq!(r.lane_for("channel_post", false), Lane::Low);
    }

    #[test]
    fn bad_rules_say_what_is_wrong() {
        assert!(
            "poll"
                .parse::<LaneRules>()
                .unwrap_err()
                .contains("KIND=LANE")
        );
        assert!(
            "poll=urgent"
                .parse::<LaneRules>()
                .unwrap_err()
                .contains("urgent")
        );
    }
}
