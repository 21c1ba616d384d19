//! A poll strategy that really ticks: an idle lane asks Redis for work every interval.
//!
//! apalis-core 1.0's `IntervalStrategy` re-arms its timer without polling it, so after the first
//! tick nothing wakes an idle worker but its heartbeat (15 s here): an update arriving at an idle
//! lane waited up to that long. This strategy registers every new timer before returning. It
//! also registers the lane's [`AtomicWaker`], so a job woken into the lane by this process (the
//! next job of an ordered key, `crate::order`) is fetched at once rather than on the next tick.

use std::{
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use apalis_core::backend::ext::poll_strategy::{PollSnapshot, PollStrategy};
use futures::task::AtomicWaker;
use tokio::time::Sleep;

use crate::order::Wakers;

pub struct Tick {
    every: Duration,
    timer: Option<Pin<Box<Sleep>>>,
    /// Woken when a job is put at the front of this lane by this process: the lane and which
    /// of its consumers this is.
    wake: Option<(Wakers, sluice_shared::lanes::Lane, usize)>,
}

impl std::fmt::Debug for Tick {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tick").field("every", &self.every).finish()
    }
}

impl Tick {
    pub fn new(every: Duration) -> Self {
        Tick {
            every,
            timer: None,
            wake: None,
        }
    }

    /// A tick that also fires when `lane` is woken in `wakers` (`consumer`: which of the lane's
    /// consumers this is).
    pub fn waking(
        every: Duration,
        wakers: Wakers,
        lane: sluice_shared::lanes::Lane,
        consumer: usize,
    ) -> Self {
        Tick {
            wake: Some((wakers, lane, consumer)),
            ..Tick::new(every)
        }
    }

    fn waker(&self) -> Option<&AtomicWaker> {
        self.wake.as_ref().map(|(w, lane, i)| w.of(*lane, *i))
    }
}

impl Clone for Tick {
    fn clone(&self) -> Self {
        Tick {
            wake: self.wake.clone(),
            ..Tick::new(self.every)
        }
    }
}

impl PollStrategy for Tick {
    fn poll_drive(&mut self, cx: &mut Context<'_>, _: &PollSnapshot) -> Poll<Option<()>> {
        if let Some(waker) = self.waker() {
            waker.register(cx.waker());
        }
        let mut fired = false;
        loop {
            let every = self.every;
            let timer = self
                .timer
                .get_or_insert_with(|| Box::pin(tokio::time::sleep(every)));
            match timer.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    // Arm the next tick and poll it at once so it holds our waker.
                    self.timer = None;
                    fired = true;
                }
                Poll::Pending if fired => return Poll::Ready(Some(())),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    };

    use futures::task::{ArcWake, waker};

    use super::*;

    struct Count(AtomicUsize);

    impl ArcWake for Count {
        fn wake_by_ref(arc: &Arc<Self>) {
            arc.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Every tick wakes the task again, not just the first one.
    #[tokio::test(start_paused = true)]
    async fn keeps_waking_an_idle_worker() {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = waker(count.clone());
        let mut cx = Context::from_waker(&waker);
        let mut tick = Tick::new(Duration::from_millis(50));
        let snapshot = PollSnapshot::default();
        assert!(tick.poll_drive(&mut cx, &snapshot).is_pending());
        for round in 1..=5 {
            tokio::time::sleep(Duration::from_millis(51)).await;
            assert_eq!(
                count.0.load(Ordering::SeqCst),
                round,
                "woken on tick {round}"
            );
            assert!(tick.poll_drive(&mut cx, &snapshot).is_ready());
        }
    }
}
