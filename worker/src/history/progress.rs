//! A replay's progress on stderr: a bar on a terminal, else a plain line every few seconds (a
//! log collector or `2>file` would get a bar's redraws as garbage).

use std::{
    io::IsTerminal,
    sync::Mutex,
    time::{Duration, Instant},
};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often the plain line is printed.
const EVERY: Duration = Duration::from_secs(5);

pub struct Progress {
    bar: ProgressBar,
    /// `Some(last print)` when stderr is no terminal.
    plain: Option<Mutex<Instant>>,
    started: Instant,
}

impl Progress {
    pub fn new(total: u64) -> Progress {
        let tty = std::io::stderr().is_terminal();
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
        if tty {
            bar.set_draw_target(ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template(
                "{elapsed_precise} [{bar:40}] {pos}/{len} ({per_sec}, eta {eta}) {msg}",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
        }
        Progress {
            bar,
            plain: (!tty).then(|| Mutex::new(Instant::now())),
            started: Instant::now(),
        }
    }

    /// One more update done; `failed` is the failures so far.
    pub fn inc(&self, failed: u64) {
        self.bar.inc(1);
        if failed > 0 {
            self.bar.set_message(format!("{failed} failed"));
        }
        if let Some(last) = &self.plain {
            let mut last = last.lock().unwrap_or_else(|p| p.into_inner());
            if last.elapsed() >= EVERY {
                *last = Instant::now();
                eprintln!("replay: {}", self.line(failed));
            }
        }
    }

    /// Updates done so far.
    pub fn done(&self) -> u64 {
        self.bar.position()
    }

    fn line(&self, failed: u64) -> String {
        let done = self.done();
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        format!(
            "{done}/{} updates, {failed} failed, {:.1}/s",
            self.bar.length().unwrap_or(0),
            done as f64 / secs
        )
    }

    pub fn finish(&self, failed: u64) {
        self.bar.finish_and_clear();
        eprintln!("replay: {}", self.line(failed));
    }
}
