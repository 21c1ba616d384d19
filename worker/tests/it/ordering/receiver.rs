//! A stand-in for a bot's backend behind the `forward` handler: a real HTTP server that takes
//! 0–20 ms per update (more for the updates a test makes slow), answers 500 for the poison ones,
//! and records when each call started and ended.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{Router, extract::State, http::HeaderMap, http::StatusCode};

/// One call of the handler, as the receiver saw it.
#[derive(Debug, Clone, Copy)]
pub struct Call {
    pub update_id: i64,
    pub start: Instant,
    pub end: Instant,
    pub ok: bool,
}

#[derive(Default)]
struct Plan {
    poison: HashSet<i64>,
    slow: HashMap<i64, Duration>,
    begun: HashSet<i64>,
    calls: Vec<Call>,
}

#[derive(Clone)]
pub struct Receiver {
    plan: Arc<Mutex<Plan>>,
    pub url: String,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let receiver = Receiver {
            plan: Arc::default(),
            url: format!("http://{}/bot", listener.local_addr().unwrap()),
        };
        let app = Router::new().fallback(handle).with_state(receiver.clone());
        tokio::spawn(axum::serve(listener, app).into_future());
        receiver
    }

    /// `update_id` is answered 500 until [`cure`](Self::cure)d.
    pub fn poison(&self, update_id: i64) {
        self.plan.lock().unwrap().poison.insert(update_id);
    }

    pub fn cure(&self, update_id: i64) {
        self.plan.lock().unwrap().poison.remove(&update_id);
    }

    /// `update_id` takes `took` instead of 0–20 ms.
    pub fn slow(&self, update_id: i64, took: Duration) {
        self.plan.lock().unwrap().slow.insert(update_id, took);
    }

    pub fn calls(&self) -> Vec<Call> {
        self.plan.lock().unwrap().calls.clone()
    }

    /// Whether a call for `update_id` has begun.
    pub fn begun(&self, update_id: i64) -> bool {
        self.plan.lock().unwrap().begun.contains(&update_id)
    }

    /// Update ids answered 2xx at least once.
    pub fn succeeded(&self) -> HashSet<i64> {
        let plan = self.plan.lock().unwrap();
        plan.calls
            .iter()
            .filter(|c| c.ok)
            .map(|c| c.update_id)
            .collect()
    }
}

async fn handle(State(r): State<Receiver>, headers: HeaderMap) -> StatusCode {
    let start = Instant::now();
    let update_id: i64 = headers
        .get("x-sluice-update-id")
        .and_then(|v| v.to_str().ok()?.parse().ok())
        .expect("the forward handler names the update");
    let (took, poisoned) = {
        let mut plan = r.plan.lock().unwrap();
        plan.begun.insert(update_id);
        let spread = (update_id.unsigned_abs().wrapping_mul(2_654_435_761) >> 7) % 21;
        let took = plan
            .slow
            .get(&update_id)
            .copied()
            .unwrap_or(Duration::from_millis(spread));
        (took, plan.poison.contains(&update_id))
    };
    tokio::time::sleep(took).await;
    let call = Call {
        update_id,
        start,
        end: Instant::now(),
        ok: !poisoned,
    };
    r.plan.lock().unwrap().calls.push(call);
    match poisoned {
        true => StatusCode::INTERNAL_SERVER_ERROR,
        false => StatusCode::OK,
    }
}
