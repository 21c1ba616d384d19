//! Shares the process-wide job capacity between the lanes by weight.
//!
//! Each lane's consumer asks for a permit before running a job. A free permit is granted at once
//! (work-conserving: an idle lane's share goes to the busy ones). When jobs of several lanes are
//! waiting, each freed permit goes to a lane by smooth weighted round-robin over the lanes that
//! have waiters, so with `high=8,normal=4,low=1` a high job never queues behind a low backlog for
//! more than a permit or two, and the low lane still gets 1 permit in 13.

use std::{
    collections::VecDeque,
    str::FromStr,
    sync::{Arc, Mutex},
};

use sluice_shared::lanes::{Lane, PerLane};
use tokio::sync::oneshot;

/// Relative shares of the lanes when all are busy (`SLUICE_LANE_WEIGHTS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LaneWeights(pub PerLane<u32>);

impl Default for LaneWeights {
    fn default() -> Self {
        LaneWeights(PerLane::from_fn(|lane| match lane {
            Lane::High => 8,
            Lane::Normal => 4,
            Lane::Low => 1,
        }))
    }
}

impl FromStr for LaneWeights {
    type Err = String;
    /// "high=8,normal=4,low=1"; an omitted lane keeps its default; every weight is ≥ 1 so no
    /// lane can be starved.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut w = LaneWeights::default().0;
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (lane, weight) = part
                .split_once('=')
                .ok_or_else(|| format!("'{part}' is not LANE=WEIGHT"))?;
            let lane: Lane = lane.parse().map_err(|e| format!("{e}"))?;
            let weight: u32 = weight
                .trim()
                .parse()
                .map_err(|_| format!("'{weight}' is not a whole number"))?;
            if !(1..=1000).contains(&weight) {
                return Err(format!(
                    "weight of {lane} must be 1..=1000 (0 would starve it)"
                ));
            }
            w[lane] = weight;
        }
        Ok(LaneWeights(w))
    }
}

struct State {
    free: usize,
    waiting: PerLane<VecDeque<oneshot::Sender<()>>>,
    /// Smooth weighted round-robin counters.
    current: PerLane<i64>,
    weights: PerLane<i64>,
}

impl State {
    /// The lane the next freed permit goes to, among lanes with waiters.
    fn pick(&mut self) -> Option<Lane> {
        let busy: Vec<Lane> = Lane::ALL
            .into_iter()
            .filter(|&l| !self.waiting[l].is_empty())
            .collect();
        if busy.is_empty() {
            return None;
        }
        let total: i64 = busy.iter().map(|&l| self.weights[l]).sum();
        for &l in &busy {
            self.current[l] += self.weights[l];
        }
        // On a tie, the more urgent lane (earlier in Lane::ALL).
        let best = *busy
            .iter()
            .max_by_key(|&&l| (self.current[l], std::cmp::Reverse(l.index())))?;
        self.current[best] -= total;
        Some(best)
    }

    /// Hands a freed permit to a waiter, skipping waiters that gave up.
    fn release_one(&mut self) {
        while let Some(lane) = self.pick() {
            if let Some(tx) = self.waiting[lane].pop_front()
                && tx.send(()).is_ok()
            {
                return;
            }
        }
        self.free += 1;
    }
}

#[derive(Clone)]
pub struct LaneScheduler {
    state: Arc<Mutex<State>>,
}

/// Capacity held by one running job; dropping it frees the capacity for the next waiter.
pub struct Permit {
    state: Arc<Mutex<State>>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        lock(&self.state).release_one();
    }
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

impl LaneScheduler {
    pub fn new(capacity: usize, weights: LaneWeights) -> Self {
        let state = State {
            free: capacity.max(1),
            waiting: Default::default(),
            current: PerLane::default(),
            weights: weights.0.map(i64::from),
        };
        LaneScheduler {
            state: Arc::new(Mutex::new(state)),
        }
    }

    /// Waits for capacity for one job of `lane`.
    pub async fn acquire(&self, lane: Lane) -> Permit {
        let rx = {
            let mut s = lock(&self.state);
            if s.free > 0 {
                s.free -= 1;
                return Permit {
                    state: self.state.clone(),
                };
            }
            let (tx, rx) = oneshot::channel();
            s.waiting[lane].push_back(tx);
            rx
        };
        // The sender is only dropped after a successful send or with the scheduler itself.
        let _ = rx.await;
        Permit {
            state: self.state.clone(),
        }
    }

    /// Jobs waiting for capacity, per lane.
    pub fn waiting(&self) -> PerLane<usize> {
        let s = lock(&self.state);
        PerLane::from_fn(|lane| s.waiting[lane].len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_parse_and_refuse_starvation() {
        assert_eq!(
            "high=8,normal=4,low=1".parse::<LaneWeights>().unwrap(),
            LaneWeights(PerLane::from([8, 4, 1]))
        );
        assert_eq!(
            "low=2".parse::<LaneWeights>().unwrap(),
            LaneWeights(PerLane::from([8, 4, 2]))
        );
        assert!("low=0".parse::<LaneWeights>().is_err());
        assert!("urgent=3".parse::<LaneWeights>().is_err());
    }

    #[tokio::test]
    async fn free_capacity_is_granted_at_once_to_any_lane() {
        let s = LaneScheduler::new(2, LaneWeights::default());
        let _a = s.acquire(Lane::Low).await;
        let _b = s.acquire(Lane::Low).await;
        assert_eq!(s.waiting(), PerLane::splat(0));
    }

    /// With every lane backlogged, freed permits follow the weights and no lane starves.
    #[tokio::test]
    async fn busy_lanes_share_by_weight() {
        let s = LaneScheduler::new(1, LaneWeights(PerLane::from([8, 4, 1])));
        let first = s.acquire(Lane::Low).await;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        for lane in [Lane::High, Lane::Normal, Lane::Low] {
            for _ in 0..26 {
                let (s, tx) = (s.clone(), tx.clone());
                tokio::spawn(async move {
                    let p = s.acquire(lane).await;
                    tx.send((lane, p)).unwrap();
                });
            }
        }
        tokio::task::yield_now().await;
        while s.waiting().values().sum::<usize>() < 78 {
            tokio::task::yield_now().await;
        }
        drop(first);
        let mut order = Vec::new();
        for _ in 0..26 {
            let (lane, permit) = rx.recv().await.unwrap();
            order.push(lane);
            drop(permit);
        }
        let count = |l| order.iter().filter(|&&x| x == l).count();
        assert_eq!(
            (count(Lane::High), count(Lane::Normal), count(Lane::Low)),
            (16, 8, 2),
            "{order:?}"
        );
    }

    #[tokio::test]
    async fn a_lone_waiting_lane_takes_everything() {
        let s = LaneScheduler::new(1, LaneWeights(PerLane::from([8, 4, 1])));
        let p = s.acquire(Lane::High).await;
        let waiter = {
            let s = s.clone();
            tokio::spawn(async move { s.acquire(Lane::Low).await })
        };
        while s.waiting()[Lane::Low] == 0 {
            tokio::task::yield_now().await;
        }
        drop(p);
        let _low = waiter.await.unwrap();
    }
}
