//! The `healthcheck` command both binaries have: one GET against the process's own admin
//! listener, exit 0 on a 200. The image is distroless (no shell, no curl), so a container
//! health check must be a command the image already holds.
//!
//! hyper's HTTP/1 client over a tokio `TcpStream`: hyper is already linked for the servers, and
//! its client needs no pool, no TLS and no DNS for one request to a socket address.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    time::Duration,
};

use axum::body::Body;
use hyper::{Request, StatusCode, header};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::config::duration_between;

/// The answer bodies are a few lines (`redis: ok`); more than this is not one of ours.
const MAX_BODY_BYTES: usize = 4096;

/// What `healthcheck` asks and how long it waits; the address is the binary's own
/// `SLUICE_ADMIN_ADDR`, the setting its server binds.
#[derive(clap::Args, Debug, Clone)]
pub struct HealthcheckArgs {
    /// Ask /readyz (dependencies answer, the process does its work) instead of /healthz (the
    /// process is alive).
    #[arg(long)]
    pub ready: bool,

    /// How long to wait for the whole answer, connecting included.
    #[arg(long, default_value = "2s",
          value_parser = duration_between(Duration::from_millis(1), Duration::from_secs(60)))]
    pub timeout: Duration,
}

impl HealthcheckArgs {
    pub fn path(&self) -> &'static str {
        if self.ready { "/readyz" } else { "/healthz" }
    }
}

/// Why the check failed; each says which URL was asked.
#[derive(Debug, thiserror::Error)]
pub enum HealthcheckError {
    #[error("http://{addr}{path}: no answer within {within:?}")]
    Timeout {
        addr: SocketAddr,
        path: &'static str,
        within: Duration,
    },
    #[error("http://{addr}{path}: {source}")]
    Connect {
        addr: SocketAddr,
        path: &'static str,
        source: std::io::Error,
    },
    #[error("http://{addr}{path}: {source}")]
    Http {
        addr: SocketAddr,
        path: &'static str,
        source: hyper::Error,
    },
    #[error("http://{addr}{path} answered {status}: {body}")]
    Status {
        addr: SocketAddr,
        path: &'static str,
        status: StatusCode,
        body: String,
    },
}

/// GETs `/healthz` (or `/readyz`) of the admin listener bound at `admin`; the body on a 200.
/// An unspecified address (`0.0.0.0:9090`, what a container binds) is asked on loopback.
pub async fn check(admin: SocketAddr, args: &HealthcheckArgs) -> Result<String, HealthcheckError> {
    let addr = reachable(admin);
    let path = args.path();
    let within = args.timeout;
    tokio::time::timeout(within, get(addr, path))
        .await
        .unwrap_or(Err(HealthcheckError::Timeout { addr, path, within }))
}

async fn get(addr: SocketAddr, path: &'static str) -> Result<String, HealthcheckError> {
    let http = |source| HealthcheckError::Http { addr, path, source };
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|source| HealthcheckError::Connect { addr, path, source })?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(http)?;
    // The connection task ends with the answer (`Connection: close`) or with the timeout's drop.
    tokio::spawn(conn);
    let request = Request::get(path)
        .header(header::HOST, addr.to_string())
        .header(header::CONNECTION, "close")
        .body(Body::empty())
        .expect("a GET with a static path and a socket address as host is a valid request");
    let response = sender.send_request(request).await.map_err(http)?;
    let status = response.status();
    let body = axum::body::to_bytes(Body::new(response.into_body()), MAX_BODY_BYTES)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim_end().to_owned())
        .unwrap_or_else(|_| format!("(a body over {MAX_BODY_BYTES} bytes or cut short)"));
    if status == StatusCode::OK {
        Ok(body)
    } else {
        let body = body.replace('\n', "; ");
        Err(HealthcheckError::Status {
            addr,
            path,
            status,
            body,
        })
    }
}

/// The address to connect to for a listener bound at `bound`.
fn reachable(bound: SocketAddr) -> SocketAddr {
    match bound.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => (Ipv4Addr::LOCALHOST, bound.port()).into(),
        IpAddr::V6(ip) if ip.is_unspecified() => (Ipv6Addr::LOCALHOST, bound.port()).into(),
        _ => bound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unspecified_bind_address_is_asked_on_loopback() {
        let at = |s: &str| reachable(s.parse().unwrap()).to_string();
        assert_eq!(at("0.0.0.0:9090"), "127.0.0.1:9090");
        assert_eq!(at("[::]:9091"), "[::1]:9091");
        assert_eq!(at("10.1.2.3:9090"), "10.1.2.3:9090");
    }

    #[tokio::test]
    async fn a_closed_port_fails_naming_the_url() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap();
        let args = HealthcheckArgs {
            ready: true,
            timeout: Duration::from_secs(2),
        };
        let e = check(port, &args).await.unwrap_err().to_string();
        assert!(e.starts_with(&format!("http://{port}/readyz: ")), "{e}");
    }

    #[tokio::test]
    async fn a_listener_that_never_answers_fails_within_the_timeout() {
        // Accepted by the kernel's backlog, never read: the request hangs.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let args = HealthcheckArgs {
            ready: false,
            timeout: Duration::from_millis(200),
        };
        let started = std::time::Instant::now();
        let e = check(silent.local_addr().unwrap(), &args)
            .await
            .unwrap_err();
        assert!(matches!(e, HealthcheckError::Timeout { .. }), "{e}");
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}
