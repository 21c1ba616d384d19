//! The named load profiles: each is an open-model arrival schedule (or, for `users`, a
//! population of simulated users with think time) with documented rates and durations.

mod schedule;

use std::time::Duration;

/// Which stream an arrival belongs to (the `flood` profile tells its two apart).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Ordinary traffic: bot, chat and kind drawn from the population.
    Mixed,
    /// One of the flood profile's quiet chats (index).
    Quiet(u32),
    /// The flood profile's flooding chat.
    Flood,
}

/// One scheduled update: when it is due (seconds after the start) and what kind of traffic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Arrival {
    pub at: f64,
    pub stream: Stream,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// `rate` updates per second.
    Constant { rate: f64 },
    /// `base` per second, and `burst` per second during each window `(start, length)`.
    Bursts {
        base: f64,
        burst: f64,
        windows: Vec<(f64, f64)>,
    },
    /// `herd` updates all due at t = 0, then `rate` per second.
    Herd { herd: u64, rate: f64 },
    /// `quiet_chats` chats at `quiet_rate` per second each, plus one chat at `flood_rate`.
    Flood {
        quiet_chats: u32,
        quiet_rate: f64,
        flood_rate: f64,
    },
    /// `users` simulated users, each acting every `think` seconds (closed model per user).
    Users { users: usize, think: (f64, f64) },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub name: &'static str,
    pub about: &'static str,
    pub shape: Shape,
    pub duration: Duration,
    pub bots: usize,
    /// Share of updates sent a second time, `resend_delay` later at most.
    pub resend_share: f64,
    pub resend_delay: Duration,
    /// Share of the re-sends that go out at the same moment as the original.
    pub resend_concurrent: f64,
    /// Sample process RSS and Redis memory and derive drift figures.
    pub watch_memory: bool,
}

pub const NAMES: [&str; 8] = [
    "steady",
    "peak",
    "burst",
    "duplicate",
    "flood",
    "ramp",
    "users",
    "endurance",
];

impl Profile {
    pub fn named(name: &str) -> Option<Profile> {
        let base = Profile {
            name: "steady",
            about: "",
            shape: Shape::Constant { rate: 100.0 },
            duration: Duration::from_secs(60),
            bots: 50,
            resend_share: 0.0,
            resend_delay: Duration::ZERO,
            resend_concurrent: 0.0,
            watch_memory: false,
        };
        Some(match name {
            "steady" => Profile {
                about: "100 updates/s for 60 s: the everyday load",
                ..base
            },
            "peak" => Profile {
                name: "peak",
                about: "300 updates/s for 60 s: the busiest hour",
                shape: Shape::Constant { rate: 300.0 },
                ..base
            },
            "burst" => Profile {
                name: "burst",
                about: "50/s with two 10 s bursts at 400/s (from 20 s and 50 s), 80 s",
                shape: Shape::Bursts {
                    base: 50.0,
                    burst: 400.0,
                    windows: vec![(20.0, 10.0), (50.0, 10.0)],
                },
                duration: Duration::from_secs(80),
                ..base
            },
            "duplicate" => Profile {
                name: "duplicate",
                about: "100/s for 60 s; 20 % re-sent 0-5 s later (5 % of those at once)",
                resend_share: 0.2,
                resend_delay: Duration::from_secs(5),
                resend_concurrent: 0.05,
                ..base
            },
            "flood" => Profile {
                name: "flood",
                about: "one bot: 50 quiet chats at 1/s each and one chat flooding at 100/s, 30 s",
                shape: Shape::Flood {
                    quiet_chats: 50,
                    quiet_rate: 1.0,
                    flood_rate: 100.0,
                },
                duration: Duration::from_secs(30),
                bots: 1,
                ..base
            },
            "ramp" => Profile {
                name: "ramp",
                about: "1000 updates due at once (a thundering herd), then 100/s, 30 s",
                shape: Shape::Herd {
                    herd: 1000,
                    rate: 100.0,
                },
                duration: Duration::from_secs(30),
                ..base
            },
            "users" => Profile {
                name: "users",
                about: "50 bots, 100 users acting every 0.5-3 s (normal, mention, reply), 60 s",
                shape: Shape::Users {
                    users: 100,
                    think: (0.5, 3.0),
                },
                ..base
            },
            "endurance" => Profile {
                name: "endurance",
                about: "150/s for 30 min, watching api RSS and Redis memory for drift",
                shape: Shape::Constant { rate: 150.0 },
                duration: Duration::from_secs(30 * 60),
                watch_memory: true,
                ..base
            },
            _ => return None,
        })
    }

    /// The same profile over `duration`: burst windows keep their place relative to the run.
    pub fn with_duration(mut self, duration: Duration) -> Profile {
        let k = duration.as_secs_f64() / self.duration.as_secs_f64();
        if let Shape::Bursts { windows, .. } = &mut self.shape {
            for (start, len) in windows.iter_mut() {
                *start *= k;
                *len = (*len * k).max(1.0);
            }
        }
        self.duration = duration;
        self
    }

    /// Every rate multiplied by `k` (users: the number of users).
    pub fn scaled(mut self, k: f64) -> Profile {
        match &mut self.shape {
            Shape::Constant { rate } => *rate *= k,
            Shape::Bursts { base, burst, .. } => {
                *base *= k;
                *burst *= k;
            }
            Shape::Herd { herd, rate } => {
                *herd = (*herd as f64 * k).round() as u64;
                *rate *= k;
            }
            Shape::Flood {
                quiet_rate,
                flood_rate,
                ..
            } => {
                *quiet_rate *= k;
                *flood_rate *= k;
            }
            Shape::Users { users, .. } => *users = ((*users as f64 * k).round() as usize).max(1),
        }
        self
    }

    /// The highest arrival rate of the schedule (for sizing the pool of senders).
    pub fn peak_rate(&self) -> f64 {
        match &self.shape {
            Shape::Constant { rate } => *rate,
            Shape::Bursts { base, burst, .. } => base.max(*burst),
            Shape::Herd { herd, rate } => (*herd as f64).max(*rate),
            Shape::Flood {
                quiet_chats,
                quiet_rate,
                flood_rate,
            } => f64::from(*quiet_chats) * quiet_rate + flood_rate,
            Shape::Users { users, think } => *users as f64 / think.0,
        }
    }

    /// A one-line description of the shape with its actual figures.
    pub fn describe(&self) -> String {
        let secs = self.duration.as_secs_f64();
        let mut s = match &self.shape {
            Shape::Constant { rate } => format!("{rate}/s for {secs} s"),
            Shape::Bursts {
                base,
                burst,
                windows,
            } => {
                let w: Vec<String> = windows
                    .iter()
                    .map(|(s, l)| format!("{l} s from {s} s"))
                    .collect();
                format!(
                    "{base}/s for {secs} s, {burst}/s during {}",
                    w.join(" and ")
                )
            }
            Shape::Herd { herd, rate } => format!("{herd} at t=0, then {rate}/s for {secs} s"),
            Shape::Flood {
                quiet_chats,
                quiet_rate,
                flood_rate,
            } => format!(
                "{quiet_chats} quiet chats at {quiet_rate}/s each + one chat at {flood_rate}/s, {secs} s"
            ),
            Shape::Users { users, think } => format!(
                "{users} users over {} bots, acting every {}-{} s, {secs} s",
                self.bots, think.0, think.1
            ),
        };
        if self.resend_share > 0.0 {
            s.push_str(&format!(
                "; {:.0} % re-sent within {} s",
                self.resend_share * 100.0,
                self.resend_delay.as_secs_f64()
            ));
        }
        s
    }
}

#[cfg(test)]
mod tests;
