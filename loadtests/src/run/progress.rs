//! The run's samples and its progress: once a second from the start of the schedule.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::sample::{Sample, Sampler};

use super::state::State;

/// The samples so far, each with its second since the start.
pub(super) type Samples = Arc<Mutex<Vec<(u32, Sample)>>>;

/// Samples every second until goose stops, keeping them in the returned list; shows a progress
/// bar, or when `quiet` a line every 10 s.
pub(super) fn spawn_sampling(
    state: Arc<State>,
    mut sampler: Sampler,
    quiet: bool,
) -> (tokio::task::JoinHandle<()>, Samples) {
    let samples = Arc::new(Mutex::new(Vec::<(u32, Sample)>::new()));
    let kept = samples.clone();
    let total = state.profile.duration.as_secs();
    let task = tokio::spawn(async move {
        let bar = (!quiet).then(|| progress_bar(total));
        while state.start.get().is_none() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let start = *state.start.get().expect("set");
        let mut tick = tokio::time::interval_at(start.into(), Duration::from_secs(1));
        loop {
            tick.tick().await;
            let t = start.elapsed().as_secs() as u32;
            let s = sampler.sample().await;
            let line = progress_line(&state, &s);
            if let Some(bar) = &bar {
                bar.set_position(u64::from(t).min(total));
                bar.set_message(line);
            } else if t.is_multiple_of(10) {
                eprintln!("[{t:>4} s] {line}");
            }
            kept.lock().expect("not poisoned").push((t, s));
            if goose::is_killswitch_triggered() {
                break;
            }
        }
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
    });
    (task, samples)
}

fn progress_bar(total: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{elapsed_precise} [{bar:30}] {pos}/{len} s  {msg}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar
}

fn progress_line(state: &State, s: &Sample) -> String {
    let rec = state.rec.lock().expect("not poisoned");
    let ok = rec.requests.answered_2xx();
    let backlog: f64 = s
        .queue_depth
        .iter()
        .filter(|(k, _)| k.ends_with(":pending") || k.ends_with(":scheduled"))
        .map(|(_, v)| v)
        .sum();
    format!(
        "sent {}  2xx {}  failed {}  dropped {}  p95 {:.1} ms  queued {backlog}",
        rec.requests.total,
        ok,
        rec.failed,
        rec.dropped,
        rec.corrected.value_at_quantile(0.95) as f64 / 1000.0
    )
}
