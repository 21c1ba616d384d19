//! The ordering bench's figures: one per drain, the ratio chat/off, and the printed lines.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::OrderingArgs;
use super::post::Plan;
use crate::bench::knobs::round_to;

/// One drain.
#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    /// SLUICE_ORDERING of the api and the worker.
    pub mode: String,
    pub round: u32,
    pub updates: u64,
    pub chats: u64,
    /// From the first row handled to the last.
    pub seconds: f64,
    pub rows_per_s: f64,
    /// From starting the worker to the last row (start-up included).
    pub wall_s: f64,
    /// Redis commands during the drain (INFO excluded), and per job.
    pub redis_commands: u64,
    pub redis_commands_per_job: f64,
    /// Updates of a chat handled before one acknowledged ahead of them (the ordering check).
    pub ordering_violations: u64,
    /// (b): the forward target's mean time per call, and 1 / that.
    pub handler_ms: Option<f64>,
    pub handler_per_s: Option<f64>,
    /// (b): rows_per_s / handler_per_s (1.0: the chat drains at the handler's own speed).
    pub of_handler_speed: Option<f64>,
    /// (b): the mean time of one call to the target by a bare client calling it one call after
    /// the other (the chat's own speed without sluice: the HTTP exchange included), and
    /// rows_per_s against 1 / that.
    pub direct_call_ms: Option<f64>,
    pub of_direct_speed: Option<f64>,
    /// (b): the handler's mean time per job as the worker timed it (the target's time plus the
    /// HTTP exchange), and rows_per_s against 1 / that: the share of the time the chat's
    /// handler was running, so 1 - it is what ordering itself adds between two jobs.
    pub handler_in_worker_ms: Option<f64>,
    pub of_handler_in_worker: Option<f64>,
    /// (b): the mean time from one job's handler to the next one's (1 / rows_per_s minus the
    /// handler's time in the worker), and of that the mean wait for `finish.lua`'s round trip
    /// (`sluice_order_script_seconds{script="finish"}`), in µs.
    pub between_jobs_us: Option<f64>,
    pub finish_trip_us: Option<f64>,
}

/// (b): how long the forward handler takes per call.
#[derive(Debug, Clone, Copy)]
pub struct HandlerTime {
    /// In the target, from the request's arrival to its answer.
    pub target: Duration,
    /// In the worker (`sluice_job_duration_seconds`), when it could be read.
    pub in_worker: Option<Duration>,
    /// The worker's mean wait for one `finish.lua` call, when it could be read.
    pub finish_trip: Option<Duration>,
    /// A bare client's mean call, calling the target one call after the other.
    pub direct: Option<Duration>,
}

impl Figure {
    pub fn new(
        (mode, round, plan): (&str, u32, Plan),
        (first, last, wall_s): (DateTime<Utc>, DateTime<Utc>, f64),
        redis_commands: u64,
        ordering_violations: u64,
        handler: Option<HandlerTime>,
    ) -> Figure {
        let updates = plan.chats * plan.per_chat;
        let seconds = (last - first).num_microseconds().unwrap_or(0) as f64 / 1e6;
        // n rows handled over the span between the first and the last: n - 1 intervals.
        let rows_per_s = if seconds > 0.0 {
            (updates.saturating_sub(1)) as f64 / seconds
        } else {
            0.0
        };
        let per_s = |d: Duration| 1.0 / d.as_secs_f64().max(1e-9);
        let handler_per_s = handler.map(|h| per_s(h.target));
        let in_worker = handler.and_then(|h| h.in_worker);
        let direct = handler.and_then(|h| h.direct);
        let us = |d: Duration| round_to(d.as_secs_f64() * 1e6, 1);
        let between_jobs_us = in_worker
            .filter(|_| rows_per_s > 0.0)
            .map(|d| round_to(1e6 / rows_per_s - d.as_secs_f64() * 1e6, 1));
        Figure {
            mode: mode.to_owned(),
            round,
            updates,
            chats: plan.chats,
            seconds: round_to(seconds, 3),
            rows_per_s: round_to(rows_per_s, 1),
            wall_s: round_to(wall_s, 2),
            redis_commands,
            redis_commands_per_job: round_to(redis_commands as f64 / updates.max(1) as f64, 2),
            ordering_violations,
            handler_ms: handler.map(|h| round_to(h.target.as_secs_f64() * 1000.0, 3)),
            handler_per_s: handler_per_s.map(|h| round_to(h, 1)),
            of_handler_speed: handler_per_s.map(|h| round_to(rows_per_s / h, 3)),
            direct_call_ms: direct.map(|d| round_to(d.as_secs_f64() * 1000.0, 3)),
            of_direct_speed: direct.map(|d| round_to(rows_per_s / per_s(d), 3)),
            handler_in_worker_ms: in_worker.map(|d| round_to(d.as_secs_f64() * 1000.0, 3)),
            of_handler_in_worker: in_worker.map(|d| round_to(rows_per_s / per_s(d), 3)),
            between_jobs_us,
            finish_trip_us: handler.and_then(|h| h.finish_trip).map(us),
        }
    }

    pub fn line(&self) -> String {
        let mut line = format!(
            "{:<5} {:>7} updates / {:>6} chats: {:>8.1} rows/s ({:.2} s; {:.2} s from worker start), \
             {:.2} Redis commands/job, {} out of order",
            self.mode,
            self.updates,
            self.chats,
            self.rows_per_s,
            self.seconds,
            self.wall_s,
            self.redis_commands_per_job,
            self.ordering_violations
        );
        if let (Some(ms), Some(per_s), Some(share)) =
            (self.handler_ms, self.handler_per_s, self.of_handler_speed)
        {
            line += &format!(
                "; handler {ms:.3} ms a call = {per_s:.1}/s, the drain at {share:.3} of it"
            );
        }
        if let (Some(ms), Some(share)) = (self.direct_call_ms, self.of_direct_speed) {
            line +=
                &format!("; {ms:.3} ms a call from a bare client, the drain at {share:.3} of that");
        }
        if let (Some(ms), Some(share)) = (self.handler_in_worker_ms, self.of_handler_in_worker) {
            line += &format!(
                "; {ms:.3} ms a call as the worker times it, the drain at {share:.3} of that"
            );
        }
        line
    }
}

/// Everything the run measured.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub updates: u64,
    pub chats: u64,
    pub hot: u64,
    /// (b)'s target times, one hot chat drained behind each.
    pub handler_times_ms: Vec<f64>,
    pub concurrency: u32,
    pub many_chats: Vec<Figure>,
    pub hot_chats: Vec<Figure>,
}

impl Summary {
    pub fn new(args: &OrderingArgs) -> Summary {
        Summary {
            updates: args.updates,
            chats: args.chats,
            hot: args.hot,
            handler_times_ms: args
                .handler_time
                .iter()
                .map(|d| d.as_secs_f64() * 1000.0)
                .collect(),
            concurrency: args.concurrency,
            many_chats: Vec::new(),
            hot_chats: Vec::new(),
        }
    }

    /// chat/off of each round, then their median.
    pub fn ratios(&self) -> (Vec<f64>, Option<f64>) {
        let rate = |mode: &str, round: u32| {
            self.many_chats
                .iter()
                .find(|f| f.mode == mode && f.round == round)
                .map(|f| f.rows_per_s)
        };
        let rounds = self
            .many_chats
            .iter()
            .map(|f| f.round)
            .max()
            .map_or(0, |r| r + 1);
        let mut ratios: Vec<f64> = (0..rounds)
            .filter_map(|r| match (rate("chat", r), rate("off", r)) {
                (Some(on), Some(off)) if off > 0.0 => Some(round_to(on / off, 3)),
                _ => None,
            })
            .collect();
        let shown = ratios.clone();
        ratios.sort_by(f64::total_cmp);
        let median = match ratios.len() {
            0 => None,
            n if n % 2 == 1 => Some(ratios[n / 2]),
            n => Some(round_to((ratios[n / 2 - 1] + ratios[n / 2]) / 2.0, 3)),
        };
        (shown, median)
    }

    pub fn lines(&self) -> Vec<String> {
        let (per_round, median) = self.ratios();
        let mut lines = vec![format!(
            "(a) {} updates over {} chats, one worker (concurrency {}): chat/off = {} \
             (rounds: {per_round:?}; target >= 0.9)",
            self.updates,
            self.chats,
            self.concurrency,
            median.map_or("n/a".into(), |m| format!("{m:.3}"))
        )];
        for (h, ms) in self.hot_chats.iter().zip(&self.handler_times_ms) {
            lines.extend(hot_chat_lines(h, *ms));
        }
        if self.hot_chats.len() > 1 {
            let gaps: Vec<String> = self
                .hot_chats
                .iter()
                .zip(&self.handler_times_ms)
                .filter_map(|(h, ms)| {
                    h.between_jobs_us
                        .map(|g| format!("{g:.0} µs behind {ms} ms"))
                })
                .collect();
            lines.push(format!(
                "(b) between two jobs of the chat, whatever the handler's time: {}",
                gaps.join(", ")
            ));
        }
        lines
    }
}

/// One hot chat's drain, behind a target taking `handler_ms` a call.
fn hot_chat_lines(h: &Figure, handler_ms: f64) -> Vec<String> {
    let figure = |v: Option<f64>| v.map_or("n/a".into(), |s| format!("{s:.3}"));
    let mut lines = vec![format!(
        "(b) one chat of {} updates, handler {handler_ms} ms: {:.1} rows/s = {} of a bare client \
         calling the target one call after the other ({} ms a call), {} of the target's own \
         time ({} ms a call), {:.2} Redis commands/job",
        h.updates,
        h.rows_per_s,
        figure(h.of_direct_speed),
        figure(h.direct_call_ms),
        figure(h.of_handler_speed),
        figure(h.handler_ms),
        h.redis_commands_per_job
    )];
    if let (Some(ms), Some(share)) = (h.handler_in_worker_ms, h.of_handler_in_worker) {
        lines.push(format!(
            "    the handler as the worker times it (the HTTP exchange included): \
             {ms:.3} ms a call; the chat's handler was running {share:.3} of the time"
        ));
    }
    if let (Some(gap), Some(trip)) = (h.between_jobs_us, h.finish_trip_us) {
        lines.push(format!(
            "    from one job's handler to the next: {gap:.0} µs, of which {trip:.0} µs \
             waiting for finish.lua (the Redis round trip that hands the key on)"
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figure(mode: &str, round: u32, seconds: i64, handler: Option<HandlerTime>) -> Figure {
        let plan = Plan {
            chats: 10,
            per_chat: 100,
            first_chat: 1,
            first_update_id: 1,
            connections: 1,
        };
        let first = DateTime::<Utc>::from_timestamp(1_000, 0).unwrap();
        let last = first + chrono::Duration::seconds(seconds);
        Figure::new((mode, round, plan), (first, last, 9.0), 4_500, 0, handler)
    }

    #[test]
    fn rates_span_the_first_to_the_last_row() {
        let handler = HandlerTime {
            target: Duration::from_millis(4),
            in_worker: Some(Duration::from_micros(1_800)),
            finish_trip: Some(Duration::from_micros(150)),
            direct: Some(Duration::from_micros(2_500)),
        };
        let f = figure("chat", 0, 2, Some(handler));
        assert_eq!((f.updates, f.rows_per_s), (1000, 499.5));
        assert_eq!(f.redis_commands_per_job, 4.5);
        assert_eq!(
            (f.handler_per_s, f.of_handler_speed),
            (Some(250.0), Some(1.998))
        );
        assert_eq!(
            (f.handler_in_worker_ms, f.of_handler_in_worker),
            (Some(1.8), Some(0.899))
        );
        // A bare client's 400 calls a second.
        assert_eq!(
            (f.direct_call_ms, f.of_direct_speed),
            (Some(2.5), Some(1.249))
        );
        assert!(
            f.line().contains("the drain at 0.899 of that"),
            "{}",
            f.line()
        );
        // 2 002 µs a row, 1 800 of them in the handler.
        assert_eq!(
            (f.between_jobs_us, f.finish_trip_us),
            (Some(202.0), Some(150.0))
        );
        let unread = figure(
            "chat",
            0,
            2,
            Some(HandlerTime {
                in_worker: None,
                ..handler
            }),
        );
        assert_eq!(unread.of_handler_in_worker, None);
    }

    #[test]
    fn each_hot_chat_has_its_lines_and_their_gaps_are_set_side_by_side() {
        let hot = |target_ms: u64, seconds: i64| {
            let handler = HandlerTime {
                target: Duration::from_millis(target_ms),
                in_worker: Some(Duration::from_millis(target_ms)),
                finish_trip: Some(Duration::from_micros(100)),
                direct: Some(Duration::from_millis(target_ms)),
            };
            figure("chat", 0, seconds, Some(handler))
        };
        let s = Summary {
            updates: 1000,
            chats: 10,
            hot: 1000,
            handler_times_ms: vec![1.0, 10.0],
            concurrency: 16,
            many_chats: Vec::new(),
            // 999 intervals in 2 s and in 11 s: 2 002 and 11 011 µs a job.
            hot_chats: vec![hot(1, 2), hot(10, 11)],
        };
        let lines = s.lines();
        let b: Vec<&String> = lines.iter().filter(|l| l.starts_with("(b)")).collect();
        assert_eq!(b.len(), 3, "{lines:#?}");
        assert!(b[0].contains("handler 1 ms") && b[0].contains("0.500 of a bare client"));
        assert!(b[1].contains("handler 10 ms") && b[1].contains("0.908 of a bare client"));
        assert!(
            b[2].ends_with("1002 µs behind 1 ms, 1011 µs behind 10 ms"),
            "{}",
            b[2]
        );
    }

    #[test]
    fn the_ratio_is_the_median_of_the_rounds() {
        let mut s = Summary {
            updates: 1000,
            chats: 10,
            hot: 0,
            handler_times_ms: vec![1.0],
            concurrency: 16,
            many_chats: Vec::new(),
            hot_chats: Vec::new(),
        };
        // Round 0: chat took 2 s, off 1 s (0.5); round 1: both 1 s (1.0); round 2: 4 s vs 2 s.
        for (round, on, off) in [(0, 2, 1), (1, 1, 1), (2, 4, 2)] {
            s.many_chats.push(figure("off", round, off, None));
            s.many_chats.push(figure("chat", round, on, None));
        }
        assert_eq!(s.ratios(), (vec![0.5, 1.0, 0.5], Some(0.5)));
        s.many_chats.retain(|f| f.round < 2);
        assert_eq!(s.ratios().1, Some(0.75));
        assert!(s.lines()[0].contains("chat/off = 0.750"), "{:?}", s.lines());
    }
}
