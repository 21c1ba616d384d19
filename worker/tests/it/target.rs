//! A local HTTP target for the `forward` handler's tests: it records every request (any
//! method, any path, and the client's address) and answers as the test says.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use axum::{
    Router,
    body::Bytes,
    extract::{ConnectInfo, Request, State},
    http::{HeaderMap, Method},
    response::Response,
};

/// A secret for tests that do not look at signatures.
pub const SECRET: &str = "test-forward-secret-0123456789";

/// One request as the target saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: Method,
    pub uri: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The client's address: one port per TCP connection.
    pub peer: SocketAddr,
}

impl Seen {
    pub fn update_id(&self) -> Option<i64> {
        self.headers
            .get("x-sluice-update-id")?
            .to_str()
            .ok()?
            .parse()
            .ok()
    }
}

type Answer = Arc<dyn Fn(&Seen) -> Response + Send + Sync>;

/// A local HTTP server that records every request (any method, any path) and answers with
/// `answer`.
#[derive(Clone)]
pub struct Target {
    pub seen: Arc<Mutex<Vec<Seen>>>,
    answer: Answer,
    pub base: String,
}

impl Target {
    pub async fn start(answer: impl Fn(&Seen) -> Response + Send + Sync + 'static) -> Target {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let target = Target {
            seen: Arc::default(),
            answer: Arc::new(answer),
            base: format!("http://{}", listener.local_addr().unwrap()),
        };
        let app = Router::new().fallback(record).with_state(target.clone());
        tokio::spawn(
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .into_future(),
        );
        target
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

async fn record(
    State(t): State<Target>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let seen = Seen {
        method: parts.method,
        uri: parts.uri.to_string(),
        headers: parts.headers,
        body,
        peer,
    };
    let answer = (t.answer)(&seen);
    t.seen.lock().unwrap().push(seen);
    answer
}
