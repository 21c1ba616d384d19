//! The open-model schedule of a profile: when each update is due.

use super::{Arrival, Profile, Shape, Stream};

impl Profile {
    /// The open-model schedule, sorted by due time (empty for `users`, which has no schedule).
    pub fn arrivals(&self) -> Vec<Arrival> {
        let end = self.duration.as_secs_f64();
        let mut out = Vec::new();
        match &self.shape {
            Shape::Constant { rate } => even(&mut out, 0.0, end, *rate, Stream::Mixed),
            Shape::Bursts {
                base,
                burst,
                windows,
            } => {
                let mut t = 0.0;
                for &(start, len) in windows {
                    let start = start.min(end);
                    even(&mut out, t, start, *base, Stream::Mixed);
                    let stop = (start + len).min(end);
                    even(&mut out, start, stop, *burst, Stream::Mixed);
                    t = stop;
                }
                even(&mut out, t, end, *base, Stream::Mixed);
            }
            Shape::Herd { herd, rate } => {
                out.extend((0..*herd).map(|_| Arrival {
                    at: 0.0,
                    stream: Stream::Mixed,
                }));
                even(&mut out, 0.0, end, *rate, Stream::Mixed);
            }
            Shape::Flood {
                quiet_chats,
                quiet_rate,
                flood_rate,
            } => {
                let quiet_total = f64::from(*quiet_chats) * quiet_rate;
                let start = out.len();
                even(&mut out, 0.0, end, quiet_total, Stream::Mixed);
                for (i, a) in out[start..].iter_mut().enumerate() {
                    a.stream = Stream::Quiet((i as u32) % quiet_chats.max(&1));
                }
                even(&mut out, 0.0, end, *flood_rate, Stream::Flood);
            }
            Shape::Users { .. } => {}
        }
        out.sort_by(|a, b| a.at.total_cmp(&b.at));
        out
    }
}

/// Arrivals evenly spaced at `rate` per second over `[from, to)` (k6's constant-arrival-rate).
fn even(out: &mut Vec<Arrival>, from: f64, to: f64, rate: f64, stream: Stream) {
    if rate <= 0.0 || to <= from {
        return;
    }
    let n = ((to - from) * rate).round() as u64;
    out.extend((0..n).map(|i| Arrival {
        at: from + i as f64 / rate,
        stream,
    }));
}
